package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
)

// Apply reconciles a target's objects into the cluster and prunes what left
// the render. objs must have gone through Prepare. The steps:
//
//  1. check the batch (prepared, no duplicates, valid ignore rules);
//  2. read the target's inventory: a read error stops the run, a missing
//     inventory is an empty one;
//  3. stage by stage (definitions, classes, resources): dry-run every object
//     of the stage, and only when all pass, apply the changed ones with
//     server-side apply (field manager "trueup") and, for definitions and
//     classes, wait until they are ready;
//  4. wait for every object to be healthy (opts.Wait);
//  5. prune: delete what the inventory lists and objs lack, within
//     opts.Prune's limits, only objects labelled with this target;
//  6. record the new inventory: desired objects plus anything that could not
//     be deleted.
//
// A failure in steps 1-4 returns before the inventory is written, so the
// previous inventory stays; with RecordUnhealthy a failed step 4 records the
// objects with the revision as Attempted, not as applied. A failed
// deletion is kept in the inventory, reported, and returned as an error
// after the inventory is written.
//
// The caller must call Apply only with the objects of a render that
// succeeded: an empty objs means "Git wants nothing here". A failed fetch or
// render must skip Apply, never pass an empty set; even then an empty set
// prunes nothing unless opts.Prune.AllowEmpty.
//
// The Result is returned with every error and tells what happened up to it.
func (c *Cluster) Apply(ctx context.Context, target string, objs []*unstructured.Unstructured, opts ApplyOptions) (*Result, error) {
	opts = opts.complete()
	res := &Result{Target: target, DryRun: opts.DryRun, Entries: []Entry{}}

	// 1. Check the batch.
	desired, err := checkBatch(target, objs)
	if err != nil {
		return res, err
	}
	ignore, err := ssaIgnoreRules(opts.Ignore)
	if err != nil {
		return res, targetErr(target, "apply", err)
	}
	a := &applier{
		c: c, m: c.managerFor(opts.Concurrency), target: target, opts: opts, ignore: ignore,
		batchKinds: crdScopes(objs), batchNamespaces: map[string]bool{}, namespaces: map[string]bool{},
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			a.batchNamespaces[o.GetName()] = true
		}
	}

	// 2. Read the inventory; never read a failure as empty.
	prev, err := c.ReadInventory(ctx, target, opts.InventoryNamespace)
	if err != nil {
		return res, err
	}
	a.known = countKinds(prev.Objects)

	// 3. Apply stage by stage. A dry-run goes through every stage to report
	// as much as it can.
	var stageErrs []error
	for _, st := range splitStages(objs) {
		if err := a.runStage(ctx, st, res); err != nil {
			if !opts.DryRun {
				return res, err
			}
			stageErrs = append(stageErrs, err)
		}
	}
	if err := errors.Join(stageErrs...); err != nil {
		return res, err
	}

	// 4. Wait for health.
	if opts.Wait && !opts.DryRun && len(objs) > 0 {
		opts.emit(Event{Target: target, Type: EventWaiting, Objects: len(objs)})
		if err := a.wait(ctx, objs); err != nil {
			err = targetErr(target, "health", err)
			if opts.RecordUnhealthy {
				err = errors.Join(err, a.record(ctx, unhealthyInventory(prev, desired, opts, a.namespaces), res))
			}
			return res, err
		}
	}

	// 5. Prune.
	next, pruneErr := a.prune(ctx, prev, slices.Concat(desired, a.opts.Retain), res)

	// 6. Record the new inventory.
	inv := nextInventory(prev, next, opts, a.namespaces)
	if opts.DryRun {
		res.Inventory = inv
		return res, pruneErr
	}
	return res, errors.Join(pruneErr, a.record(ctx, inv, res))
}

// checkBatch returns the refs of objs, refusing unprepared and duplicate
// objects.
func checkBatch(target string, objs []*unstructured.Unstructured) ([]drift.ObjectRef, error) {
	seen := map[objectKey]bool{}
	refs := make([]drift.ObjectRef, 0, len(objs))
	var errs []error
	for _, o := range objs {
		ref := RefOf(o)
		switch got := o.GetLabels()[LabelTarget]; {
		case o.GetName() == "" || o.GetKind() == "" || o.GetAPIVersion() == "":
			errs = append(errs, objectErr(target, ref, "apply", fmt.Errorf("%w: apiVersion, kind and metadata.name are required", ErrInvalidObject)))
		case got != target:
			errs = append(errs, objectErr(target, ref, "apply", fmt.Errorf("%w: not prepared: label %s is %q, want %q (call Prepare first)", ErrInvalidObject, LabelTarget, got, target)))
		case seen[keyOf(ref)]:
			errs = append(errs, objectErr(target, ref, "apply", fmt.Errorf("%w: duplicate object in the render", ErrInvalidObject)))
		}
		seen[keyOf(ref)] = true
		refs = append(refs, ref)
	}
	return refs, errors.Join(errs...)
}

// nextInventory is the inventory of an apply that came out healthy: it
// records opts.Revision as applied and clears a failed attempt. namespaces
// are the Namespaces this run created (true) or took over (false).
func nextInventory(prev Inventory, objects []drift.ObjectRef, opts ApplyOptions, namespaces map[string]bool) Inventory {
	objects = sortRefs(objects)
	return Inventory{
		Target:            prev.Target,
		Namespace:         prev.Namespace,
		Found:             true,
		Revision:          opts.Revision,
		Objects:           objects,
		CreatedNamespaces: createdNamespaces(objects, prev.CreatedNamespaces, namespaces),
	}
}

// unhealthyInventory is the inventory of an apply whose health wait failed:
// every object applied so far (so a later prune knows them all), the last
// healthy revision kept as applied, and opts.Revision as the attempt.
func unhealthyInventory(prev Inventory, desired []drift.ObjectRef, opts ApplyOptions, namespaces map[string]bool) Inventory {
	inv := nextInventory(prev, slices.Concat(desired, prev.Objects), opts, namespaces)
	inv.Revision, inv.Attempted = prev.Revision, opts.Revision
	return inv
}

// record writes the inventory and notes it in the result.
func (a *applier) record(ctx context.Context, inv Inventory, res *Result) error {
	if err := a.c.writeInventory(ctx, inv); err != nil {
		return err
	}
	res.Inventory, res.InventoryWritten = inv, true
	a.opts.emit(Event{Target: a.target, Type: EventInventory, Objects: len(inv.Objects)})
	return nil
}
