package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	driftkube "github.com/trueup-dev/trueup/drift/kube"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/policy"
)

// Plan is a target's desired state prepared for its cluster, compared with
// live state.
type Plan struct {
	Target  string
	Desired *Desired
	// Objects are the prepared desired objects (target label, namespace).
	Objects   []*unstructured.Unstructured
	Report    drift.Report
	Inventory kube.Inventory

	// policies are the policies as seen from the destination and live the
	// live copies of Objects, when policies are configured.
	policies *policy.Set
	live     map[drift.ObjectRef]*unstructured.Unstructured
	// owners are what the comparison read of who owns each desired
	// object live (kube.OwnerOf), for the adoption guard. An object is
	// absent when the comparison did not read it from the API server and
	// the watch cache does not hold it (the cache holds only labelled
	// objects, so it cannot tell "missing" from "exists unlabelled").
	owners map[drift.ObjectRef]kube.LiveOwner
}

// planOptions say where live state comes from.
type planOptions struct {
	// reuseDesired skips the Git fetch and uses the last loaded desired state.
	reuseDesired bool
	// fresh reads every live object from the API server, ignoring the
	// watch cache and the comparison cache (the periodic full resync).
	fresh bool
	// desired replaces the target's own desired state (a pull request's
	// head, for a preview).
	desired *Desired
	// scoped compares only the objects the target manages (previewScope).
	scoped bool
}

// Plan loads, prepares and compares a target without changing anything.
func (r *Reconciler) Plan(ctx context.Context, name string) (*Plan, error) {
	t, st, dest, err := r.target(name)
	if err != nil {
		return nil, err
	}
	return r.planTarget(ctx, t, st, dest, planOptions{fresh: true})
}

// planTarget plans a cluster or an account target.
func (r *Reconciler) planTarget(ctx context.Context, t *config.Target, st *targetState, dest *Destination, po planOptions) (*Plan, error) {
	if t.Account != "" {
		return r.planAccount(ctx, t, st, r.accounts[t.Account], po)
	}
	return r.plan(ctx, t, st, dest, po)
}

func (r *Reconciler) plan(ctx context.Context, t *config.Target, st *targetState, dest *Destination, po planOptions) (*Plan, error) {
	// 1. Desired state: fetch and render, or the last render for a watch event.
	d, objs, err := r.desired(ctx, t, st, po)
	if err != nil {
		return nil, err
	}
	// 2. Prepare the copies for the cluster.
	if err := dest.Cluster.Prepare(objs, t.Name, t.Namespace); err != nil {
		return nil, &StageError{Stage: StagePrepare, Revision: d.Revision, Err: err} // err names the target
	}
	origins := make([]string, len(d.Objects))
	for i, o := range d.Objects {
		origins[i] = o.Origin.File
	}
	// 2b. A tenant's target: every object within the tenant's boundaries,
	// before any request about them reaches the cluster.
	if err := r.guardTenant(t, objs, origins); err != nil {
		return nil, &StageError{Stage: StageTenant, Revision: d.Revision, Err: err}
	}
	// 3. The inventory: what this target applied before.
	inv, err := dest.Cluster.ReadInventory(ctx, t.Name, dest.InventoryNamespace)
	if err != nil {
		return nil, &StageError{Stage: StageCluster, Revision: d.Revision, Err: err}
	}
	// 3b. A preview reads only what the target manages.
	var refused []drift.ObjectReport
	if po.scoped {
		objs, origins, refused = previewScope(t, inv, objs, origins)
	}
	// 4. Compare every object with live state.
	reports, owners := r.compare(ctx, t, st, dest, objs, po)
	for i := range reports { // reports[i] is the comparison of objs[i], from origins[i]
		reports[i].Origin = origins[i]
	}
	reports = append(reports, refused...)
	reports = append(reports, pendingPrune(inv, objs)...)
	return &Plan{
		Target:    t.Name,
		Desired:   d,
		Objects:   objs,
		Inventory: inv,
		Report:    drift.Report{Target: t.Name, Revision: d.Revision.Commit, Time: r.now(), Objects: reports},
		owners:    owners,
	}, nil
}

// desired returns the target's desired state (fetched and rendered, or the
// last render when po.reuseDesired) and a copy of its objects to prepare.
func (r *Reconciler) desired(ctx context.Context, t *config.Target, st *targetState, po planOptions) (*Desired, []*unstructured.Unstructured, error) {
	d, err := r.desiredState(ctx, t, st, po)
	if err != nil {
		return nil, nil, err
	}
	objs := make([]*unstructured.Unstructured, len(d.Objects))
	for i, o := range d.Objects {
		objs[i] = o.Object.DeepCopy()
	}
	return d, objs, nil
}

// desiredState is po.desired, or the target's last render decoded again
// when po.reuseDesired, or else a new load (kept packed as the last render).
func (r *Reconciler) desiredState(ctx context.Context, t *config.Target, st *targetState, po planOptions) (*Desired, error) {
	last := st.lastDesired()
	switch {
	case po.desired != nil:
		return po.desired, nil
	case po.reuseDesired && last != nil:
		d, err := last.unpack()
		if err != nil {
			return nil, &StageError{Stage: StageRender, Revision: last.revision(), Err: fmt.Errorf("target %q: %w", t.Name, err)}
		}
		return d, nil
	}
	d, p, err := r.loader.loadPacked(ctx, t)
	if err != nil {
		var se *StageError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, &StageError{Stage: StageSource, Err: err}
	}
	st.setDesired(p)
	return d, nil
}

// compare returns one report per prepared object, using the comparison
// cache: an object whose desired content and live resourceVersion are both
// unchanged since its last comparison is not dry-run again. It also
// returns the owners of the live objects it read (see Plan.owners).
func (r *Reconciler) compare(ctx context.Context, t *config.Target, st *targetState, dest *Destination, objs []*unstructured.Unstructured, po planOptions) ([]drift.ObjectReport, map[drift.ObjectRef]kube.LiveOwner) {
	ignore := r.ignoreRules(t)
	w := dest.liveWatcher()
	reports := make([]drift.ObjectReport, len(objs))
	owners := map[drift.ObjectRef]kube.LiveOwner{}
	hashes := make([]string, len(objs))
	var todo []int
	for i, obj := range objs {
		ref := driftkube.Ref(obj)
		hash := contentHash(obj)
		hashes[i] = hash
		if w != nil && !po.fresh && w.Watching(ref.GroupVersionKind()) {
			// The cache's resourceVersion says whether the last comparison
			// holds; the object is decoded only when it does not.
			rv, owner, exists := w.Version(ref)
			if exists {
				owners[ref] = owner
			}
			if rep, ok := st.cachedReport(ref, hash, rv); ok {
				reports[i] = rep
				continue
			}
			live, _ := w.Live(ref)
			rep, err := dest.Detector.Compare(ctx, obj, live, ignore)
			reports[i] = r.storeReport(st, ref, hash, rep, err)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return reports, owners
	}
	batch := make([]*unstructured.Unstructured, len(todo))
	for j, i := range todo {
		batch[j] = objs[i]
	}
	got, lives, _ := dest.Detector.CompareAllLive(ctx, batch, ignore, t.Concurrency) // errors are in the Unknown reports
	for j, i := range todo {
		if lives[j].Read {
			owners[driftkube.Ref(objs[i])] = kube.OwnerOf(lives[j].Object)
		}
		rep := got[j]
		if rep.Status != drift.Unknown {
			st.storeReport(rep.Ref, hashes[i], rep)
		}
		reports[i] = rep
	}
	return reports, owners
}

// cachedLive returns the live object from the watch cache when the kind is
// watched; cached false means the caller must read it from the API server.
func (r *Reconciler) cachedLive(w *kube.Watcher, ref drift.ObjectRef, po planOptions) (*unstructured.Unstructured, bool) {
	if w == nil || po.fresh || !w.Watching(ref.GroupVersionKind()) {
		return nil, false
	}
	live, _ := w.Live(ref)
	return live, true
}

func (r *Reconciler) storeReport(st *targetState, ref drift.ObjectRef, hash string, rep drift.ObjectReport, err error) drift.ObjectReport {
	if err != nil {
		return drift.ObjectReport{Ref: ref, Status: drift.Unknown, Error: err.Error()}
	}
	st.storeReport(ref, hash, rep)
	return rep
}

// contentHash identifies the desired content of a prepared object.
func contentHash(o *unstructured.Unstructured) string {
	b, _ := json.Marshal(o.Object)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum[:12])
}

// pendingPrune reports inventory objects that left the render.
func pendingPrune(inv kube.Inventory, objs []*unstructured.Unstructured) []drift.ObjectReport {
	desired := map[drift.ObjectRef]bool{}
	for _, o := range objs {
		desired[unversioned(driftkube.Ref(o))] = true
	}
	var out []drift.ObjectReport
	for _, ref := range inv.Objects {
		if !desired[unversioned(ref)] {
			out = append(out, drift.ObjectReport{Ref: ref, Status: drift.PendingPrune})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out
}

func unversioned(r drift.ObjectRef) drift.ObjectRef {
	r.Version = ""
	return r
}
