package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
)

// DefaultConcurrency is how many objects CompareAll compares at once when
// the caller does not say.
const DefaultConcurrency = 8

// Get reads the live version of desired through the Detector's client: nil,
// nil when it does not exist. For callers without a watch cache. A kind the
// server does not know (a CRD not installed yet) is an error, not a missing
// object.
func (d *Detector) Get(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(desired.GroupVersionKind())
	err := d.client.Get(ctx, client.ObjectKeyFromObject(desired), live)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%s: get: %w", Ref(desired), err)
	}
	return live, nil
}

// CompareAll reads and compares every desired object, at most concurrency
// at a time (DefaultConcurrency when concurrency <= 0), and returns one
// report per object, in the order of desired.
//
// An object that cannot be read or dry-run is reported Unknown with the
// error in Error, never Drifted or Missing: a failed read says nothing about
// the cluster. The returned error joins those per-object errors (each
// starting with the object's identity; errors.Is(err, ErrImmutable) and
// errors.As work on it), including those of objects left undone because ctx
// ended; the reports are complete either way.
func (d *Detector) CompareAll(ctx context.Context, desired []*unstructured.Unstructured, ignore []drift.IgnoreRule, concurrency int) ([]drift.ObjectReport, error) {
	reports, _, err := d.CompareAllLive(ctx, desired, ignore, concurrency)
	return reports, err
}

// Live is the live object a comparison read.
type Live struct {
	// Read: the object was read; Object is nil when it does not exist.
	// False when the read failed (the report is Unknown).
	Read   bool
	Object *unstructured.Unstructured
}

// CompareAllLive is CompareAll that also returns, in the order of desired,
// the live object each comparison read, for callers that need more of it
// than the report carries (who owns it) without reading it again.
func (d *Detector) CompareAllLive(ctx context.Context, desired []*unstructured.Unstructured, ignore []drift.IgnoreRule, concurrency int) ([]drift.ObjectReport, []Live, error) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	reports := make([]drift.ObjectReport, len(desired))
	lives := make([]Live, len(desired))
	errs := make([]error, len(desired))
	listed := d.listLive(ctx, desired, concurrency)
	var g errgroup.Group
	g.SetLimit(concurrency)
	for i, obj := range desired {
		g.Go(func() error {
			if live, ok := listed[listKey(obj)]; ok {
				reports[i], lives[i], errs[i] = d.compareListed(ctx, obj, live[obj.GetName()], ignore)
				return nil
			}
			reports[i], lives[i], errs[i] = d.readAndCompare(ctx, obj, ignore)
			return nil
		})
	}
	_ = g.Wait() // the goroutines record errors per object and never fail
	return reports, lives, errors.Join(errs...)
}

// readAndCompare reads one object and compares it; a failure turns the
// report Unknown.
func (d *Detector) readAndCompare(ctx context.Context, desired *unstructured.Unstructured, ignore []drift.IgnoreRule) (drift.ObjectReport, Live, error) {
	report, live, err := d.tryReadAndCompare(ctx, desired, ignore)
	if err != nil {
		report = drift.ObjectReport{Ref: Ref(desired), Status: drift.Unknown, Error: err.Error()}
	}
	return report, live, err
}

func (d *Detector) tryReadAndCompare(ctx context.Context, desired *unstructured.Unstructured, ignore []drift.IgnoreRule) (drift.ObjectReport, Live, error) {
	if err := ctx.Err(); err != nil {
		return drift.ObjectReport{}, Live{}, fmt.Errorf("%s: %w", Ref(desired), err)
	}
	live, err := d.Get(ctx, desired)
	if err != nil {
		return drift.ObjectReport{}, Live{}, err
	}
	report, err := d.Compare(ctx, desired, live, ignore)
	return report, Live{Read: true, Object: live}, err
}

// listMin is how many objects of one kind in one namespace make a list
// cheaper than reading them one by one.
const listMin = 16

// listPage bounds the objects of one list response.
const listPage = 500

// group is a kind in a namespace.
type group struct {
	gvk       schema.GroupVersionKind
	namespace string
}

func listKey(o *unstructured.Unstructured) group {
	return group{gvk: o.GroupVersionKind(), namespace: o.GetNamespace()}
}

// listLive lists the live objects of every kind and namespace that holds at
// least listMin desired objects: one request per page instead of one per
// object. It returns them by name per group; a group whose list failed
// (forbidden, say) is left out, and its objects are read one by one.
func (d *Detector) listLive(ctx context.Context, desired []*unstructured.Unstructured, concurrency int) map[group]map[string]*unstructured.Unstructured {
	counts := map[group]int{}
	for _, o := range desired {
		counts[listKey(o)]++
	}
	out := map[group]map[string]*unstructured.Unstructured{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(concurrency)
	for k, n := range counts {
		// Cluster-scoped kinds (and objects without a namespace) are read
		// one by one: a list without a namespace would be cluster-wide.
		if n < listMin || k.namespace == "" {
			continue
		}
		g.Go(func() error {
			byName, err := d.list(ctx, k)
			if err != nil {
				return nil // read one by one
			}
			mu.Lock()
			out[k] = byName
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// list reads every object of a group, page by page.
func (d *Detector) list(ctx context.Context, k group) (map[string]*unstructured.Unstructured, error) {
	byName := map[string]*unstructured.Unstructured{}
	cont := ""
	for {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
		opts := []client.ListOption{client.InNamespace(k.namespace), client.Limit(listPage), client.Continue(cont)}
		if err := d.client.List(ctx, l, opts...); err != nil {
			return nil, err
		}
		for i := range l.Items {
			o := &l.Items[i]
			if o.GetNamespace() != k.namespace {
				continue
			}
			o.SetGroupVersionKind(k.gvk) // list items may come without their kind
			byName[o.GetName()] = o
		}
		if cont = l.GetContinue(); cont == "" {
			return byName, nil
		}
	}
}

// compareListed compares one object with its listed live version (nil: it
// was not in the list, so it does not exist).
func (d *Detector) compareListed(ctx context.Context, desired, live *unstructured.Unstructured, ignore []drift.IgnoreRule) (drift.ObjectReport, Live, error) {
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("%s: %w", Ref(desired), err)
		return drift.ObjectReport{Ref: Ref(desired), Status: drift.Unknown, Error: err.Error()}, Live{}, err
	}
	report, err := d.Compare(ctx, desired, live, ignore)
	if err != nil {
		report = drift.ObjectReport{Ref: Ref(desired), Status: drift.Unknown, Error: err.Error()}
	}
	return report, Live{Read: true, Object: live}, err
}
