package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	driftkube "github.com/trueup-dev/trueup/drift/kube"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// StageAdopt: the target declares live objects it may not take over
// (unlabelled without permission to adopt, or another target's); nothing
// of the target is applied.
const StageAdopt Stage = "adopt"

// adoptAllowed says whether target t may take over live objects that carry
// no trueup label: its adopt setting, by default true only for a target
// outside any tenant while tenancy is not enforced (the behaviour before
// tenants). An object annotated trueup.dev/adopt: <target> is adoptable
// either way; another target's object never is.
func adoptAllowed(cfg *config.Config, t *config.Target) bool {
	if t.Adopt != nil {
		return *t.Adopt
	}
	return cfg.TenantOf(t.Name) == nil && cfg.Tenancy.Mode != config.TenancyEnforce
}

// adoptionGuard checks, before anything is applied, that every object of
// objs is absent live, already the target's, or adoptable (see
// kube.CheckAdoption). It reuses the owners the comparison read; an object
// the comparison did not read from the API server (the watch cache holds
// only labelled objects, so "missing" there may be an unlabelled object) is
// read once here. The error names every refused object, who has it and the
// fix.
func (r *Reconciler) adoptionGuard(ctx context.Context, t *config.Target, dest *Destination, objs []*unstructured.Unstructured, plan *Plan) error {
	allow := adoptAllowed(r.cfg, t)
	var refused []error
	for _, o := range objs {
		ref := driftkube.Ref(o)
		owner, ok := plan.owners[ref]
		if !ok {
			live, err := dest.Detector.Get(ctx, o)
			if err != nil && !meta.IsNoMatchError(err) { // a kind this apply defines has no objects yet
				return &StageError{Stage: StageCluster, Revision: plan.Desired.Revision, Err: fmt.Errorf("target %q: %w; nothing is applied until trueup can tell who owns it", t.Name, err)}
			}
			owner = kube.OwnerOf(live)
		}
		if err := kube.CheckAdoption(t.Name, ref, owner, allow); err != nil {
			refused = append(refused, err)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return &StageError{Stage: StageAdopt, Revision: plan.Desired.Revision, Err: adoptionError(r.cfg, t, refused)}
}

// adoptionError is the target-level refusal: how many objects, the config
// setting that would allow unlabelled ones, then one line per object (its
// identity, who has it, the fix). It names the target once.
func adoptionError(cfg *config.Config, t *config.Target, refused []error) error {
	setting := "adopt"
	for i := range cfg.Targets {
		if cfg.Targets[i].Name == t.Name {
			setting = fmt.Sprintf("targets[%d].adopt", i)
		}
	}
	return &refusedAdoption{target: t.Name, setting: setting, errs: refused}
}

// refusedAdoption lists the objects a target may not take over; errors.Is
// finds kube.ErrNotAdopted and kube.ErrOwnedByOtherTarget in it.
type refusedAdoption struct {
	target, setting string
	errs            []error
}

func (e *refusedAdoption) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "target %q: nothing applied: %d live object(s) exist and are not this target's; annotate each one as shown, or set %s: true to take over objects without a trueup label (another target's objects are never taken over):", e.target, len(e.errs), e.setting)
	for _, err := range e.errs {
		b.WriteString("\n  ")
		var oe *kube.ObjectError
		if errors.As(err, &oe) {
			fmt.Fprintf(&b, "%s: %v", oe.Ref, oe.Err)
		} else {
			b.WriteString(err.Error())
		}
	}
	return b.String()
}

func (e *refusedAdoption) Unwrap() []error { return e.errs }
