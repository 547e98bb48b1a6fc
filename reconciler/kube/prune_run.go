package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
)

// deleteOptions is the only way this package builds ssa.DeleteOptions: ssa
// deletes every object it is given when Inclusions is empty, so the target's
// label is always the inclusion selector, and protected objects are always
// excluded.
func deleteOptions(target string) ssa.DeleteOptions {
	return ssa.DeleteOptions{
		PropagationPolicy: metav1.DeletePropagationBackground,
		Inclusions:        map[string]string{LabelTarget: target},
		Exclusions:        map[string]string{AnnotationPrune: PruneDisabled},
	}
}

// liveState is what the cluster says about a prune candidate.
type liveState int

const (
	livePresent   liveState = iota
	liveGone                // not found, or its kind is no longer served
	liveForeign             // labelled for another target, or not labelled
	liveProtected           // annotated trueup.dev/prune: disabled
)

// prune deletes what the inventory lists and desired lacks, within the
// limits, and returns the next inventory: desired, plus everything that was
// not deleted but is still ours (blocked, kept, failed, unreadable).
func (a *applier) prune(ctx context.Context, prev Inventory, desired []drift.ObjectRef, res *Result) ([]drift.ObjectRef, error) {
	inDesired := keySet(desired)
	var planInv, protected, keep []drift.ObjectRef
	var errs []error
	for _, ref := range prev.Objects {
		if inDesired[keyOf(ref)] {
			planInv = append(planInv, ref)
			continue
		}
		// Read the candidate's live state: only live facts decide what
		// leaves the inventory without a deletion.
		state, stub, msg, err := a.readCandidate(ctx, ref)
		switch {
		case err != nil:
			errs = append(errs, err)
			keep = append(keep, ref)
			res.add(ref, ActionFailed, err.Error())
		case state == liveGone || state == liveForeign:
			res.add(ref, ActionSkipped, msg)
		case state == liveProtected:
			protected = append(protected, ref)
			planInv = append(planInv, ref)
		default:
			planInv = append(planInv, RefOf(stub))
		}
	}

	plan := PlanPrune(planInv, desired, PruneOptions{
		Enabled: a.opts.Prune.Enabled, AllowEmpty: a.opts.Prune.AllowEmpty,
		Max: a.opts.Prune.Max, MaxPercent: a.opts.Prune.MaxPercent, Protected: protected,
	})
	res.PruneBlocked = plan.BlockedReason
	for _, ref := range plan.Released {
		res.add(ref, ActionSkipped, fmt.Sprintf("not deleted: annotated %s: %s; dropped from the inventory", AnnotationPrune, PruneDisabled))
	}
	for _, ref := range plan.Kept {
		res.add(ref, ActionSkipped, "not deleted: pruning is off for this target; kept in the inventory")
	}
	for _, ref := range plan.Blocked {
		res.add(ref, ActionSkipped, BlockedNote)
	}

	del, kept, err := a.releaseNotCreated(ctx, prev, plan.Delete, res)
	if err != nil {
		errs = append(errs, err)
	}
	failed, err := a.deleteAll(ctx, del, res)
	if err != nil {
		errs = append(errs, err)
	}
	return slices.Concat(plan.Inventory, keep, kept, failed), errors.Join(errs...)
}

// NotCreatedNote is the result message of a Namespace that left the render
// but that trueup did not create: it is never deleted (that would delete
// everything in it, which may not be trueup's).
const NotCreatedNote = "not deleted: trueup did not create this namespace (it existed and was adopted, or was recorded before trueup marked the namespaces it creates); dropped from the inventory and its " + LabelTarget + " label removed; delete it by hand if it is no longer needed"

// releaseNotCreated takes out of refs the Namespaces trueup did not create
// (prev.CreatedNamespaces): instead of deleting them it removes the
// target's label and drops them from the inventory, so neither this target
// nor a later run ever deletes them. It returns the refs still to delete,
// and the namespaces whose release failed (kept in the inventory, retried
// next time; they are never deleted either).
func (a *applier) releaseNotCreated(ctx context.Context, prev Inventory, refs []drift.ObjectRef, res *Result) (del, kept []drift.ObjectRef, _ error) {
	var errs []error
	for _, ref := range refs {
		if !isNamespace(ref) || prev.Created(ref.Name) {
			del = append(del, ref)
			continue
		}
		if err := a.unlabel(ctx, ref); err != nil {
			errs = append(errs, err)
			kept = append(kept, ref)
			res.add(ref, ActionFailed, err.Error())
			continue
		}
		res.add(ref, ActionSkipped, NotCreatedNote)
	}
	return del, kept, errors.Join(errs...)
}

// unlabel removes the target's label from a live object (a JSON merge
// patch of that one label), so no target claims it any more. Nothing in a
// dry-run.
func (a *applier) unlabel(ctx context.Context, ref drift.ObjectRef) error {
	if a.opts.DryRun {
		return nil
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(GVK(ref))
	obj.SetNamespace(ref.Namespace)
	obj.SetName(ref.Name)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"`+LabelTarget+`":null}}}`))
	if err := a.c.client.Patch(ctx, obj, patch, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsNotFound(err) {
		return objectErr(a.target, ref, "release", fmt.Errorf("remove label %s: %w", LabelTarget, cause(err)))
	}
	return nil
}

// readCandidate reads a prune candidate's metadata. It returns a stub to
// delete (in a served version of the kind), or why the candidate leaves the
// inventory without a deletion.
func (a *applier) readCandidate(ctx context.Context, ref drift.ObjectRef) (liveState, *unstructured.Unstructured, string, error) {
	gvk := GVK(ref)
	if _, err := a.c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); meta.IsNoMatchError(err) {
		// The recorded version is no longer served: use the kind's preferred one.
		mapping, err := a.c.mapper.RESTMapping(gvk.GroupKind())
		if meta.IsNoMatchError(err) {
			return liveGone, nil, "kind is no longer served by the cluster; dropped from the inventory", nil
		}
		if err != nil {
			return 0, nil, "", objectErr(a.target, ref, "read", err)
		}
		gvk = mapping.GroupVersionKind
	}
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(gvk)
	err := a.c.client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, live)
	switch {
	case apierrors.IsNotFound(err):
		return liveGone, nil, "already gone; dropped from the inventory", nil
	case err != nil:
		return 0, nil, "", objectErr(a.target, ref, "read", err)
	}
	if owner := live.Labels[LabelTarget]; owner != a.target {
		return liveForeign, nil, fmt.Sprintf("not deleted: the live object is labelled %s=%q, not this target; dropped from the inventory", LabelTarget, owner), nil
	}
	if live.Annotations[AnnotationPrune] == PruneDisabled {
		return liveProtected, nil, "", nil
	}
	stub := &unstructured.Unstructured{}
	stub.SetGroupVersionKind(gvk)
	stub.SetNamespace(ref.Namespace)
	stub.SetName(ref.Name)
	return livePresent, stub, "", nil
}

// deleteAll deletes refs in reverse apply order (webhooks first, CRDs and
// namespaces last) through ssa with the target's inclusion label. It returns
// the refs that must stay in the inventory: failed deletions and namespaces
// still in use.
func (a *applier) deleteAll(ctx context.Context, refs []drift.ObjectRef, res *Result) ([]drift.ObjectRef, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	if a.opts.DryRun {
		for _, ref := range refs {
			res.add(ref, ActionDeleted, "would be deleted: no longer in the render")
		}
		return nil, nil
	}
	a.opts.emit(Event{Target: a.target, Type: EventDeleting, Objects: len(refs)})
	stubs := make([]*unstructured.Unstructured, len(refs))
	for i, ref := range refs {
		stubs[i] = &unstructured.Unstructured{}
		stubs[i].SetGroupVersionKind(GVK(ref))
		stubs[i].SetNamespace(ref.Namespace)
		stubs[i].SetName(ref.Name)
	}
	sort.Sort(sort.Reverse(ssa.SortableUnstructureds(stubs)))

	var keep []drift.ObjectRef
	var errs []error
	for _, stub := range stubs {
		ref := RefOf(stub)
		if reason, err := a.namespaceInUse(ctx, stub); err != nil || reason != "" {
			if err != nil {
				errs = append(errs, err)
				res.add(ref, ActionFailed, err.Error())
			} else {
				res.add(ref, ActionSkipped, "not deleted: "+reason+"; kept in the inventory")
			}
			keep = append(keep, ref)
			continue
		}
		entry, err := a.deleteOne(ctx, stub, ref)
		switch {
		case err != nil:
			err = objectErr(a.target, ref, "delete", cause(err))
			errs = append(errs, err)
			res.add(ref, ActionFailed, err.Error())
			keep = append(keep, ref)
		case entry.Action == ssa.SkippedAction:
			res.add(ref, ActionSkipped, "not deleted: the live object is no longer labelled for this target or is protected; dropped from the inventory")
		default:
			res.add(ref, ActionDeleted, "")
		}
	}
	return keep, errors.Join(errs...)
}

// deleteOne deletes one object through ssa, telling the journal before and
// after.
func (a *applier) deleteOne(ctx context.Context, stub *unstructured.Unstructured, ref drift.ObjectRef) (*ssa.ChangeSetEntry, error) {
	j := a.opts.Journal
	if j != nil {
		if err := j.Applying(Intent{Ref: ref, Action: ActionDeleted}); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	entry, err := a.m.Delete(ctx, stub, deleteOptions(a.target))
	if err == nil && j != nil && entry.Action != ssa.SkippedAction {
		j.Applied(Entry{Ref: ref, Action: ActionDeleted})
	}
	return entry, err
}

// namespaceInUse guards a Namespace deletion, which deletes everything in
// it: it refuses the inventory namespace and a namespace where another
// target's inventory lists objects.
func (a *applier) namespaceInUse(ctx context.Context, stub *unstructured.Unstructured) (string, error) {
	if stub.GetKind() != "Namespace" || stub.GroupVersionKind().Group != "" {
		return "", nil
	}
	ns := stub.GetName()
	if ns == a.opts.InventoryNamespace {
		return "namespace " + ns + " holds the inventories", nil
	}
	var list corev1.ConfigMapList
	err := a.c.ownClient.List(ctx, &list, client.InNamespace(a.opts.InventoryNamespace), client.MatchingLabels{LabelInventory: "true"})
	if err != nil {
		return "", objectErr(a.target, RefOf(stub), "delete", fmt.Errorf("list other targets' inventories: %w", err))
	}
	for _, cm := range list.Items {
		other := cm.Labels[LabelTarget]
		if other == a.target {
			continue
		}
		refs, _, err := decodeInventory(cm.Data)
		if err != nil {
			return fmt.Sprintf("the inventory of target %q cannot be read", other), nil
		}
		for _, r := range refs {
			if r.Namespace == ns {
				return fmt.Sprintf("target %q has objects in namespace %s", other, ns), nil
			}
		}
	}
	return "", nil
}
