package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	"github.com/fluxcd/pkg/ssa/normalize"
	"github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
	driftkube "github.com/trueup-dev/trueup/drift/kube"
)

// Stage names, in apply order.
const (
	StageDefinitions = "definitions" // CRDs, Namespaces, ClusterRoles
	StageClasses     = "classes"     // kinds named *Class (StorageClass, IngressClass, ...)
	StageResources   = "resources"   // everything else
)

// stage is a set of objects applied together after the previous stage.
type stage struct {
	name string
	objs []*unstructured.Unstructured
	// wait: the next stage needs these objects ready (established CRDs,
	// active namespaces).
	wait bool
}

// splitStages groups objects the way ssa.ApplyAllStaged does (same
// predicates), each stage sorted in ssa's kind order.
func splitStages(objs []*unstructured.Unstructured) []stage {
	defs := stage{name: StageDefinitions, wait: true}
	classes := stage{name: StageClasses, wait: true}
	rest := stage{name: StageResources}
	for _, o := range objs {
		switch {
		case utils.IsClusterDefinition(o):
			defs.objs = append(defs.objs, o)
		case utils.IsClassDefinition(o):
			classes.objs = append(classes.objs, o)
		default:
			rest.objs = append(rest.objs, o)
		}
	}
	var out []stage
	for _, s := range []stage{defs, classes, rest} {
		if len(s.objs) > 0 {
			sort.Sort(ssa.SortableUnstructureds(s.objs))
			out = append(out, s)
		}
	}
	return out
}

// applier runs one Apply of one target.
type applier struct {
	c      *Cluster
	m      *ssa.ResourceManager
	target string
	opts   ApplyOptions
	ignore []jsondiff.IgnoreRule
	// batchKinds (kind -> namespaced) and batchNamespaces are defined by
	// CRDs and Namespaces in the batch: in a dry-run, objects depending on
	// them cannot be validated before they exist.
	batchKinds      map[schema.GroupKind]bool
	batchNamespaces map[string]bool
	// namespaces this run created (true) or took over (false).
	namespaces map[string]bool
	// known counts the objects of the target's inventory by kind and
	// namespace.
	known map[kindIn]int
}

// kindIn is a kind (any version) in a namespace.
type kindIn struct{ group, kind, namespace string }

// countKinds counts refs by kind and namespace.
func countKinds(refs []drift.ObjectRef) map[kindIn]int {
	out := map[kindIn]int{}
	for _, r := range refs {
		out[kindIn{r.Group, r.Kind, r.Namespace}]++
	}
	return out
}

// worthListing returns the objects whose kind and namespace are worth
// listing rather than reading one by one: the stage holds at least half of
// what the target's inventory has there. A heal of a few objects of a large
// target reads them one by one instead of listing the whole namespace.
func (a *applier) worthListing(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	refs := make([]drift.ObjectRef, len(objs))
	for i, o := range objs {
		refs[i] = RefOf(o)
	}
	batch := countKinds(refs)
	var out []*unstructured.Unstructured
	for i, o := range objs {
		k := kindIn{refs[i].Group, refs[i].Kind, refs[i].Namespace}
		if 2*batch[k] >= a.known[k] {
			out = append(out, o)
		}
	}
	return out
}

// planned is the dry-run verdict on one object.
type planned struct {
	obj    *unstructured.Unstructured
	ref    drift.ObjectRef
	action Action
	note   string
	// recreate is the live object to delete first (immutable change, force).
	recreate *unstructured.Unstructured
	// live is the live object's version the dry-run compared with.
	liveVersion, liveUID string
	// adopted: the live object had no trueup label and is taken over.
	adopted bool
	err     error
}

// runStage dry-runs every object of the stage and, unless anything failed or
// this is a dry-run, applies the changed ones and waits for the stage when
// it must. A stage whose dry-run fails applies nothing.
func (a *applier) runStage(ctx context.Context, st stage, res *Result) error {
	a.opts.emit(Event{Target: a.target, Type: EventStageStarted, Stage: st.name, Objects: len(st.objs)})
	plans := a.dryRunStage(ctx, st.objs)
	var errs []error
	for _, p := range plans {
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	if a.opts.DryRun || len(errs) > 0 {
		for _, p := range plans {
			switch {
			case p.err != nil:
				res.add(p.ref, ActionFailed, p.err.Error())
			case a.opts.DryRun:
				res.add(p.ref, p.action, p.note)
			default:
				res.add(p.ref, ActionSkipped, fmt.Sprintf("not applied: the %s stage failed its dry-run", st.name))
			}
		}
		return errors.Join(errs...)
	}

	if err := a.applyStage(ctx, plans, res); err != nil {
		return err
	}
	if st.wait {
		if err := a.wait(ctx, st.objs); err != nil {
			return targetErr(a.target, fmt.Sprintf("%s stage", st.name), err)
		}
	}
	a.opts.emit(Event{Target: a.target, Type: EventStageApplied, Stage: st.name, Objects: len(st.objs)})
	return nil
}

// dryRunStage plans every object concurrently; it never stops at the first
// failure, so the result names every object that fails.
//
// The live objects of a kind and namespace with many objects in the stage
// (at least 16, and half of what the inventory has there) are listed first
// (one request per 500 objects, see driftkube.ListLive), so such an object
// costs its dry-run only, not a read and a dry-run.
func (a *applier) dryRunStage(ctx context.Context, objs []*unstructured.Unstructured) []planned {
	plans := make([]planned, len(objs))
	listed := driftkube.ListLive(ctx, a.c.client, a.worthListing(objs), a.opts.Concurrency)
	var g errgroup.Group
	g.SetLimit(a.opts.Concurrency)
	for i, obj := range objs {
		g.Go(func() error {
			if live, ok := listed.Lookup(obj); ok {
				plans[i] = a.planListed(ctx, obj, live)
				return nil
			}
			plans[i] = a.plan(ctx, obj)
			return nil
		})
	}
	_ = g.Wait() // plan reports failures in planned.err
	return plans
}

// plan dry-runs one object (ssa's Diff: a read of the live object and a
// server-side dry-run apply compared with it, ignore rules applied) and
// checks ownership.
func (a *applier) plan(ctx context.Context, obj *unstructured.Unstructured) planned {
	p := planned{obj: obj, ref: RefOf(obj)}
	entry, live, _, err := a.m.Diff(ctx, obj, ssa.DiffOptions{DriftIgnoreRules: a.ignore})
	if err != nil {
		return a.planFailure(ctx, p, cause(err))
	}
	if entry.Action == ssa.ConfiguredAction {
		return a.planConfigured(p, live)
	}
	if entry.Action == ssa.CreatedAction {
		p.action = ActionCreated
		return p
	}
	p.action = ActionUnchanged
	return p
}

// planListed is plan for an object whose live version (nil: absent) was
// just listed: one dry-run request, compared with the listed version. When
// the dry-run ran on another version than the one listed (the object
// changed, appeared or went since), or ignore rules must strip fields from
// both sides (ssa's Diff does that), it falls back to plan, which reads
// the object again.
func (a *applier) planListed(ctx context.Context, obj, live *unstructured.Unstructured) planned {
	if live != nil && len(a.ignore) > 0 {
		return a.plan(ctx, obj)
	}
	p := planned{obj: obj, ref: RefOf(obj)}
	utils.RemoveCABundleFromCRD(obj) // as ssa's Diff does
	dryRun := obj.DeepCopy()
	err := a.c.client.Patch(ctx, dryRun, client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner(FieldManager))
	if err != nil {
		return a.planFailure(ctx, p, cause(err))
	}
	switch rv := dryRun.GetResourceVersion(); {
	case live == nil && rv == "":
		p.action = ActionCreated
		return p
	case live == nil || rv != live.GetResourceVersion():
		return a.plan(ctx, obj)
	case drifted(live, dryRun):
		return a.planConfigured(p, live)
	}
	p.action = ActionUnchanged
	return p
}

// planConfigured is the verdict on an object the apply changes: refused
// when the live object is not this target's to take, adopted when it had
// no trueup label.
func (a *applier) planConfigured(p planned, live *unstructured.Unstructured) planned {
	p.action = ActionConfigured
	if live != nil {
		p.liveVersion, p.liveUID = live.GetResourceVersion(), string(live.GetUID())
	}
	if err := a.checkOwner(p.ref, live); err != nil {
		p.err = err
	} else if Adopt(a.target, OwnerOf(live), true) == AdoptionAllowed {
		p.note, p.adopted = AdoptedNote, true
	}
	return p
}

// drifted is ssa's verdict (ResourceManager.Diff without ignore rules) on
// whether applying would change live into dryRun: labels, annotations, or
// anything outside metadata and status, after ssa's normalisation.
func drifted(live, dryRun *unstructured.Unstructured) bool {
	if !apiequality.Semantic.DeepEqual(live.GetLabels(), dryRun.GetLabels()) ||
		!apiequality.Semantic.DeepEqual(live.GetAnnotations(), dryRun.GetAnnotations()) {
		return true
	}
	return !apiequality.Semantic.DeepEqual(forDiff(live).Object, forDiff(dryRun).Object)
}

// forDiff is ssa's view of an object for drift: without metadata and
// status, normalised as a dry-run result.
func forDiff(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := obj.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "metadata")
	unstructured.RemoveNestedField(out.Object, "status")
	if err := normalize.DryRunUnstructured(out); err != nil {
		return obj
	}
	return out
}

// planFailure turns a failed dry-run into a verdict: a recreate (immutable
// change with force), a deferred validation (dry-run of an object whose CRD or
// namespace this batch creates), or an error.
func (a *applier) planFailure(ctx context.Context, p planned, err error) planned {
	if isImmutable(err) {
		live, getErr := a.get(ctx, p.obj)
		switch {
		case getErr != nil:
			p.err = objectErr(a.target, p.ref, "read", getErr)
		case a.checkOwner(p.ref, live) != nil:
			p.err = a.checkOwner(p.ref, live)
		case a.forced(p.obj, live):
			p.action, p.recreate = ActionConfigured, live
			p.liveVersion, p.liveUID = live.GetResourceVersion(), string(live.GetUID())
			p.note = "recreate: immutable field changed (force)"
		default:
			p.err = objectErr(a.target, p.ref, "apply", fmt.Errorf("%w: %w; %s", ErrImmutable, err, forceHint))
		}
		return p
	}
	if a.opts.DryRun {
		if note := a.deferred(p.obj, err); note != "" {
			p.action, p.note = ActionCreated, note
			return p
		}
	}
	p.err = objectErr(a.target, p.ref, "dry-run", err)
	return p
}

// deferred explains why a dry-run failure is expected in a dry-run: the
// object's kind or namespace is created by an earlier stage of this batch.
func (a *applier) deferred(obj *unstructured.Unstructured, err error) string {
	_, kindInBatch := a.batchKinds[obj.GroupVersionKind().GroupKind()]
	switch {
	case meta.IsNoMatchError(err) && kindInBatch:
		return "not validated: its CustomResourceDefinition is created by this apply"
	case apierrors.IsNotFound(err) && a.batchNamespaces[obj.GetNamespace()]:
		return "not validated: its namespace is created by this apply"
	}
	return ""
}

// checkOwner refuses a live object that carries another target's label,
// or has none and the target may not adopt it (CheckAdoption). The
// reconciler checks the same before it applies anything; this catches an
// object that appeared since.
func (a *applier) checkOwner(ref drift.ObjectRef, live *unstructured.Unstructured) error {
	if live == nil {
		return nil
	}
	return CheckAdoption(a.target, ref, OwnerOf(live), !a.opts.AdoptAnnotatedOnly)
}

// forced reports whether an immutable change may recreate the object.
func (a *applier) forced(desired, live *unstructured.Unstructured) bool {
	sel := map[string]string{AnnotationForce: ForceEnabled}
	return a.opts.Force || utils.AnyInMetadata(desired, sel) || (live != nil && utils.AnyInMetadata(live, sel))
}

// applyStage applies the planned changes concurrently and records every
// outcome; objects that failed are reported and joined into the error.
func (a *applier) applyStage(ctx context.Context, plans []planned, res *Result) error {
	type outcome struct {
		action Action
		msg    string
		err    error
	}
	outcomes := make([]outcome, len(plans))
	journaled, err := a.journalStage(plans)
	var g errgroup.Group
	g.SetLimit(a.opts.Concurrency)
	for i, p := range plans {
		switch {
		case p.action == ActionUnchanged:
			outcomes[i] = outcome{action: ActionUnchanged}
			continue
		case err != nil:
			outcomes[i] = outcome{err: objectErr(a.target, p.ref, "journal", err)}
			continue
		}
		g.Go(func() error {
			action, msg, err := a.applyOne(ctx, p, journaled)
			outcomes[i] = outcome{action, msg, err}
			return nil
		})
	}
	_ = g.Wait() // failures are in outcomes
	var errs []error
	for i, o := range outcomes {
		if o.err != nil {
			errs = append(errs, o.err)
			res.add(plans[i].ref, ActionFailed, o.err.Error())
			continue
		}
		res.add(plans[i].ref, o.action, o.msg)
		a.noteNamespace(plans[i], o.action)
	}
	return errors.Join(errs...)
}

// noteNamespace records whether trueup created or took over a Namespace it
// applied, for the inventory's created mark (see Inventory.CreatedNamespaces).
func (a *applier) noteNamespace(p planned, action Action) {
	if !isNamespace(p.ref) {
		return
	}
	switch {
	case action == ActionCreated:
		a.namespaces[p.ref.Name] = true
	case p.adopted:
		a.namespaces[p.ref.Name] = false
	}
}

// journalStage tells a BatchJournal the intents of every change of the
// stage at once; journaled is true when it did (applyOne then tells it
// none).
func (a *applier) journalStage(plans []planned) (journaled bool, err error) {
	j, ok := a.opts.Journal.(BatchJournal)
	if !ok {
		return false, nil
	}
	var intents []Intent
	for _, p := range plans {
		if p.action != ActionUnchanged {
			intents = append(intents, p.intent())
		}
	}
	if len(intents) == 0 {
		return true, nil
	}
	return true, j.ApplyingAll(intents)
}

// intent is the journal's intent for a planned change.
func (p planned) intent() Intent {
	return Intent{Ref: p.ref, Action: p.action, ResourceVersion: p.liveVersion, UID: p.liveUID}
}

// applyOne applies one object, deleting it first for a forced recreate, and
// tells the journal before (unless journaled: told for the whole stage)
// and after.
func (a *applier) applyOne(ctx context.Context, p planned, journaled bool) (Action, string, error) {
	j := a.opts.Journal
	if j != nil && !journaled {
		if err := j.Applying(p.intent()); err != nil {
			return "", "", objectErr(a.target, p.ref, "journal", err)
		}
	}
	action, msg, err := a.sendOne(ctx, p)
	if err == nil && j != nil {
		j.Applied(Entry{Ref: p.ref, Action: action, Message: msg})
	}
	return action, msg, err
}

// sendOne applies one object, deleting it first for a forced recreate.
func (a *applier) sendOne(ctx context.Context, p planned) (Action, string, error) {
	if p.recreate != nil {
		if err := a.deleteForRecreate(ctx, p.recreate); err != nil {
			return "", "", objectErr(a.target, p.ref, "recreate", err)
		}
	}
	if p.recreate == nil && len(a.ignore) == 0 {
		return a.applyPlanned(ctx, p)
	}
	entry, err := a.m.Apply(ctx, p.obj, ssa.ApplyOptions{
		DriftIgnoreRules: a.ignore,
		WaitInterval:     a.opts.WaitInterval,
		WaitTimeout:      a.opts.Timeout,
	})
	if err != nil {
		err = cause(err)
		if isImmutable(err) {
			err = fmt.Errorf("%w: %w; %s", ErrImmutable, err, forceHint)
		}
		return "", "", objectErr(a.target, p.ref, "apply", err)
	}
	if p.recreate != nil {
		return ActionConfigured, "recreated: immutable field changed (force)", nil
	}
	return Action(entry.Action), p.note, nil
}

// applyPlanned applies an object whose dry-run (plan) just found it
// created or changed: one server-side apply request. ssa's Apply would read
// the object and dry-run it again first (three requests per object); with
// ignore rules it must (it strips the ignored fields that drifted), so
// sendOne keeps it then.
func (a *applier) applyPlanned(ctx context.Context, p planned) (Action, string, error) {
	obj := p.obj.DeepCopy()
	if err := a.c.client.Patch(ctx, obj, client.Apply, client.ForceOwnership, client.FieldOwner(FieldManager)); err != nil {
		err = cause(err)
		if isImmutable(err) {
			err = fmt.Errorf("%w: %w; %s", ErrImmutable, err, forceHint)
		}
		return "", "", objectErr(a.target, p.ref, "apply", err)
	}
	return p.action, p.note, nil
}

// deleteForRecreate deletes the live object (only that incarnation: UID
// precondition) and waits until it is gone.
func (a *applier) deleteForRecreate(ctx context.Context, live *unstructured.Unstructured) error {
	uid := live.GetUID()
	err := a.c.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &uid})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	err = wait.PollUntilContextCancel(ctx, a.opts.WaitInterval/4, true, func(ctx context.Context) (bool, error) {
		cur, err := a.get(ctx, live)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && cur.GetUID() != uid, err
	})
	if err != nil {
		return fmt.Errorf("wait for deletion: %w", err)
	}
	return nil
}

// wait waits until every object is ready (kstatus Current).
func (a *applier) wait(ctx context.Context, objs []*unstructured.Unstructured) error {
	set := object.UnstructuredSetToObjMetadataSet(objs)
	err := a.m.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: a.opts.WaitInterval, Timeout: a.opts.Timeout})
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("wait: %w", err)
	}
	return fmt.Errorf("%w: %w", ErrUnhealthy, err)
}

// get reads the live object with obj's kind, namespace and name.
func (a *applier) get(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	err := a.c.client.Get(ctx, client.ObjectKeyFromObject(obj), live)
	return live, err
}

// cause strips ssa's wrapping (which repeats the object's identity) down to
// the API server's answer, when there is one.
func cause(err error) error {
	var forbidden *ForbiddenError // keeps the ServiceAccount and the fix
	if errors.As(err, &forbidden) {
		return forbidden
	}
	var dryRun *ssaerrors.DryRunErr
	if errors.As(err, &dryRun) {
		err = dryRun.Unwrap()
	}
	var status *apierrors.StatusError
	if errors.As(err, &status) {
		return status
	}
	return err
}
