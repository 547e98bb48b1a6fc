package kube

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
)

// DefaultFieldManager is the field manager trueup applies with.
const DefaultFieldManager = "trueup"

// Detector compares desired objects with one cluster.
type Detector struct {
	client  client.Client
	manager string
}

// Option configures a Detector.
type Option func(*Detector)

// WithFieldManager sets the field manager name of the dry-run applies, which
// is also the manager whose ownership Attribute leaves out (default
// DefaultFieldManager). It must be the name the real applies use, or every
// field trueup owns reads as someone else's change.
func WithFieldManager(name string) Option {
	return func(d *Detector) { d.manager = name }
}

// New returns a Detector that reads and dry-runs through c, a client for one
// cluster built once by the caller and shared.
func New(c client.Client, opts ...Option) *Detector {
	d := &Detector{client: c, manager: DefaultFieldManager}
	for _, o := range opts {
		o(d)
	}
	return d
}

// FieldManager returns the field manager name the Detector applies with.
func (d *Detector) FieldManager() string { return d.manager }

// Compare reports how live differs from desired. desired is the object as
// the caller prepared it for apply (target label, namespace defaulted); it
// is not modified. live is the object read from the cluster or a watch
// cache, nil when it does not exist.
//
//   - live == nil: Missing, no fields.
//   - otherwise the desired object is dry-run applied; the result is
//     compared with live (see the package documentation) minus the paths of
//     the ignore rules that select the object (matched by identity and by the
//     labels of the dry-run result, that is Git's labels plus the ones others
//     added live): InSync without differences, Drifted with one
//     drift.FieldDiff per field, masked for Secrets and attributed with the
//     field manager that owns the live value.
//
// When the dry-run ran against a newer version of the object than live (a
// stale cache), Compare reads the object again and compares with that. The
// report's ResourceVersion is that of the live object compared.
//
// A failed dry-run is an error (a *DryRunError; errors.Is(err,
// ErrImmutable) for an immutable field); the report then only carries the
// object's Ref.
func (d *Detector) Compare(ctx context.Context, desired, live *unstructured.Unstructured, ignore []drift.IgnoreRule) (drift.ObjectReport, error) {
	ref := Ref(desired)
	report := drift.ObjectReport{Ref: ref}
	if live == nil {
		report.Status = drift.Missing
		return report, nil
	}

	// 1. What would the server store if trueup applied desired now,
	// compared with the same version of the object the dry-run started from?
	dryRun, live, err := d.dryRunCurrent(ctx, ref, desired, live)
	if err != nil {
		return report, err
	}
	if live == nil { // deleted since it was read
		report.Status = drift.Missing
		return report, nil
	}
	report.ResourceVersion = live.GetResourceVersion()

	// 2. Field diff of the normalised objects, minus ignored paths, masked
	// for Secrets, then attributed from the live managedFields.
	paths := drift.IgnoredPaths(ignore, ref, dryRun.GetLabels())
	report.Fields = diff(ref, normalized(live), normalized(dryRun), paths)
	drift.AttributeFields(live, report.Fields, d.manager)

	report.Status = drift.InSync
	if len(report.Fields) > 0 {
		report.Status = drift.Drifted
	}
	return report, nil
}

// diff compares two normalised objects; Secrets are always masked, even
// when the objects' kind fields were lost.
func diff(ref drift.ObjectRef, live, desired *unstructured.Unstructured, ignore []string) []drift.FieldDiff {
	if drift.IsSecret(ref) {
		return drift.MaskSecret(live.Object, desired.Object, ignore)
	}
	return drift.DiffFields(live.Object, desired.Object, ignore)
}

// dryRunApply returns what the server would store if desired were applied
// by the Detector's field manager with force.
func (d *Detector) dryRunApply(ctx context.Context, ref drift.ObjectRef, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	obj := applyPayload(desired)
	err := d.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
		client.DryRunAll, client.ForceOwnership, client.FieldOwner(d.manager))
	if err != nil {
		return nil, &DryRunError{Ref: ref, Err: err}
	}
	return obj, nil
}

// staleRetries bounds the re-reads of an object that changes while it is
// compared.
const staleRetries = 2

// dryRunCurrent dry-run applies desired and returns the result with the live
// object at the version the dry-run started from. A live object older than
// the server's (from a lagging cache) is read again, and the dry-run
// repeated if the object moved on meanwhile; an object that keeps changing
// is compared with the last version read. current is nil when the object
// is gone.
func (d *Detector) dryRunCurrent(ctx context.Context, ref drift.ObjectRef, desired, live *unstructured.Unstructured) (dryRun, current *unstructured.Unstructured, err error) {
	for attempt := 0; ; attempt++ {
		if dryRun, err = d.dryRunApply(ctx, ref, desired); err != nil {
			return nil, nil, err
		}
		rv := dryRun.GetResourceVersion()
		if rv == "" { // the apply would create it: deleted since it was read
			return dryRun, nil, nil
		}
		if rv == live.GetResourceVersion() || attempt == staleRetries {
			return dryRun, live, nil
		}
		if live, err = d.Get(ctx, desired); err != nil || live == nil {
			return nil, nil, err
		}
		if live.GetResourceVersion() == rv {
			return dryRun, live, nil
		}
	}
}
