package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	driftkube "github.com/trueup-dev/trueup/drift/kube"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/policy"
)

// ReconcileOptions are the per-call knobs of Reconcile.
type ReconcileOptions struct {
	// DryRun computes what the reconcile would do and changes nothing.
	DryRun bool
	// Progress receives apply progress (the CLI shows it).
	Progress func(kube.Event)
	// Actor is who asked for the reconcile (the CLI user), for the history.
	Actor string
	// Fresh reads live objects from the API server instead of the watch
	// cache and ignores cached comparisons (the periodic full resync).
	Fresh bool
	// IgnoreDependsOn applies without waiting for the target's
	// dependencies (the one-shot CLI apply, which does not know them).
	IgnoreDependsOn bool
	// pullRequests opens the drift's pull requests whatever the target's
	// drift mode, and heals nothing (RequestPullRequest).
	pullRequests bool
}

// Reconcile runs the pipeline once for a target and acts per its policy:
//
//   - a revision not yet applied and healthy (the inventory records the
//     last one, and a rollout that failed its health wait) is applied with
//     pruning when apply is auto, or reported as pending when it is manual
//     (a manual trigger applies it; an attempted one is re-checked);
//   - otherwise drifted or missing objects are re-applied (heal), or
//     reported (alert), or adopted into Git by a pull request (pull-request,
//     see pullRequests);
//   - a failure at any step changes nothing and is returned in the Outcome.
func (r *Reconciler) Reconcile(ctx context.Context, name string, trigger Trigger, opts ReconcileOptions) *Outcome {
	out := &Outcome{Target: name, Trigger: trigger, Start: r.now(), DryRun: opts.DryRun, pullRequests: opts.pullRequests}
	t, st, dest, err := r.target(name)
	if err != nil {
		out.Action, out.Err = ActionFailed, err
		return out
	}
	if !opts.DryRun && dest != nil {
		// An apply a crash interrupted is recorded before anything else.
		if err := r.resolveJournals(ctx, name, dest.Cluster); err != nil {
			out.Action, out.Err = ActionFailed, &StageError{Stage: StageCluster, Err: err}
			return r.finish(ctx, st, out, opts.Actor)
		}
	}
	if !opts.DryRun && !opts.IgnoreDependsOn {
		if out.Held = r.waitingFor(ctx, t); out.Held != "" {
			out.Action = ActionWaiting
			return r.finish(ctx, st, out, opts.Actor)
		}
	}
	po := planOptions{reuseDesired: trigger == TriggerWatch, fresh: trigger == TriggerManual || opts.Fresh}
	plan, err := r.boundedPlan(ctx, t, st, dest, po)
	if err != nil {
		out.Action, out.Err, out.Revision = ActionFailed, err, failedRevision(err)
		return r.finish(ctx, st, out, opts.Actor)
	}
	out.Revision, out.Report, out.plan = plan.Desired.Revision, plan.Report, plan
	if dest != nil {
		out.Warnings = watchWarnings(dest, plan.Report.Objects)
	}
	out.Warnings = append(out.Warnings, hookWarnings(plan.Desired)...)
	if err := r.withPolicies(ctx, t, dest, plan); err != nil {
		out.Action, out.Err = ActionFailed, err
		return r.finish(ctx, st, out, opts.Actor)
	}
	r.act(ctx, t, st, dest, plan, out, opts)
	if plan.policies != nil {
		out.Compliance = complianceFindings(plan.policies, plan.Objects, plan.live, out.Blocked, r.now())
		out.complianceChecked = true
	}
	return r.finish(ctx, st, out, opts.Actor)
}

// boundedPlan plans the target; a plan that reads every live object from
// the API server (po.fresh) waits for one of the reconciler's fullReads
// slots first.
func (r *Reconciler) boundedPlan(ctx context.Context, t *config.Target, st *targetState, dest *Destination, po planOptions) (*Plan, error) {
	if po.fresh && r.fullReads != nil {
		select {
		case r.fullReads <- struct{}{}:
			defer func() { <-r.fullReads }()
		case <-ctx.Done():
			return nil, &StageError{Stage: StageCluster, Err: fmt.Errorf("target %q: wait to read live state: %w", t.Name, ctx.Err())}
		}
	}
	return r.planTarget(ctx, t, st, dest, po)
}

// act decides and applies.
func (r *Reconciler) act(ctx context.Context, t *config.Target, st *targetState, dest *Destination, plan *Plan, out *Outcome, opts ReconcileOptions) {
	// A revision whose rollout failed is not applied: it is applied again
	// (health re-checked, then pruned) until it comes out healthy.
	commit := plan.Desired.Revision.Commit
	newRevision := !plan.Inventory.Applied(commit)
	// A manual apply also retries a prune left pending (blocked by a limit
	// raised since, say).
	retryPrune := out.Trigger == TriggerManual && plan.Report.Counts()[drift.PendingPrune] > 0
	drifted := driftedObjects(plan.Report)
	manualWait := newRevision && t.Remediation.Apply == "manual" && out.Trigger != TriggerManual && plan.Inventory.Attempted != commit
	if !opts.DryRun {
		out.accepted = st.acceptedDrift(plan.Report, r.now())
		drifted = slices.DeleteFunc(drifted, func(o drift.ObjectReport) bool { return out.accepted[o.Ref] })
	}
	var frozen, noHeal bool
	if !manualWait && !opts.DryRun {
		frozen, noHeal = r.freezeGate(ctx, t, st, commit, newRevision || retryPrune, len(drifted) > 0, out)
	}
	switch {
	case manualWait:
		out.Action = ActionPending
	case frozen:
		out.Action = ActionFrozen
	case newRevision || retryPrune:
		r.apply(ctx, t, st, dest, plan.Objects, plan, out, opts, true)
		out.Action = ActionApplied
	case len(drifted) == 0 && plan.Report.Counts()[drift.Unknown] > 0:
		out.Action = ActionUnknown
	case len(drifted) == 0:
		out.Action = ActionInSync
	case (t.Remediation.Drift == "heal" || out.Trigger == TriggerManual) && !noHeal && !opts.pullRequests:
		r.apply(ctx, t, st, dest, subset(plan.Objects, drifted), plan, out, opts, false)
		out.Action = ActionHealed
	default: // alert; pull-request: the pull requests follow the episodes (finish)
		out.Action = ActionDetected
	}
	if out.Err != nil {
		out.attempted, out.Action = out.Action, ActionFailed
	}
}

// apply runs the cluster apply. withPrune applies the whole render and
// prunes within the target's limits; without it only objs are applied and
// the inventory keeps everything.
func (r *Reconciler) apply(ctx context.Context, t *config.Target, st *targetState, dest *Destination, objs []*unstructured.Unstructured, plan *Plan, out *Outcome, opts ReconcileOptions, withPrune bool) {
	var (
		res    *kube.Result
		err    error
		retain []drift.ObjectRef
	)
	if plan.policies != nil {
		var keep []*unstructured.Unstructured
		keep, out.Blocked = guard(plan.policies, objs, plan.live, r.now())
		if len(out.Blocked) > 0 && t.Policies.OnViolation == "block-target" {
			out.Err = &StageError{Stage: StagePolicy, Err: blockedError(out.Blocked)}
			return
		}
		for _, f := range out.Blocked {
			retain = append(retain, f.Object)
		}
		objs = keep
	}
	if t.Account == "" {
		// Nothing is taken over without permission, checked before
		// anything is applied.
		if out.Err = r.adoptionGuard(ctx, t, dest, objs, plan); out.Err != nil {
			return
		}
	}
	if t.Account != "" {
		res, err = r.applyAccount(ctx, t, r.accounts[t.Account], objs, retain, plan, opts, withPrune)
	} else {
		var j kube.Journal
		if !opts.DryRun && r.rec.history != nil {
			action := ActionHealed
			if withPrune {
				action = ActionApplied
			}
			if out.journal, err = r.startJournal(out, action, opts.Actor); err != nil {
				out.Err = &StageError{Stage: StageApply, Err: err}
				return
			}
			j = out.journal
		}
		res, err = r.applyCluster(ctx, t, dest, objs, retain, plan, opts, withPrune, j)
	}
	if res != nil {
		for _, f := range out.Blocked {
			res.Entries = append(res.Entries, kube.Entry{Ref: f.Object, Action: kube.ActionSkipped, Message: "blocked by policy " + f.Policy + ": " + f.Message})
		}
	}
	if res != nil && !withPrune {
		res.Entries = onlyApplied(res.Entries, objs, out.Blocked) // a heal does not prune
	}
	out.Apply = res
	if res != nil {
		out.PruneBlocked = res.PruneBlocked
	}
	if err != nil {
		out.Err = &StageError{Stage: StageApply, Err: withChanged(err, res, opts.DryRun)}
	}
	// The cached comparisons stay: an applied object's resourceVersion moved,
	// so its next comparison misses the cache (its watch event asks for
	// it), while the untouched objects' comparisons still hold. Forgetting
	// them all made one healed edit cost a dry-run of every object.
}

// applyCluster server-side applies objs to the cluster, with pruning
// within the target's limits when withPrune.
func (r *Reconciler) applyCluster(ctx context.Context, t *config.Target, dest *Destination, objs []*unstructured.Unstructured, retain []drift.ObjectRef, plan *Plan, opts ReconcileOptions, withPrune bool, j kube.Journal) (*kube.Result, error) {
	ao := kube.DefaultApplyOptions()
	ao.Retain = retain
	ao.InventoryNamespace = dest.InventoryNamespace
	ao.Timeout = t.Timeout.Duration
	ao.Wait = t.Wait == nil || *t.Wait
	// An unhealthy apply still records what it applied, so a later prune
	// knows every object, but as an attempt, not as the applied revision:
	// the next reconcile applies it again and re-checks its health.
	ao.RecordUnhealthy = true
	ao.Concurrency = t.Concurrency
	ao.Force = t.Force
	ao.AdoptAnnotatedOnly = !adoptAllowed(r.cfg, t)
	ao.Ignore = r.ignoreRules(t)
	ao.DryRun = opts.DryRun
	ao.Progress = opts.Progress
	ao.Journal = j
	ao.Revision = plan.Desired.Revision.Commit
	if withPrune {
		ao.Prune = prunePolicy(t)
	} else {
		ao.Revision = plan.Inventory.Revision
		ao.Retain = append(ao.Retain, untouched(plan, objs)...)
	}
	return dest.Cluster.Apply(ctx, t.Name, objs, ao)
}

// untouched lists the objects of the render that the inventory holds and a
// heal of objs leaves alone: retained as they are, so the heal neither
// reads nor prunes them (reading every one made a heal of one object cost a
// request per object of the target).
func untouched(plan *Plan, objs []*unstructured.Unstructured) []drift.ObjectRef {
	inInventory := map[drift.ObjectRef]bool{}
	for _, ref := range plan.Inventory.Objects {
		inInventory[unversioned(ref)] = true
	}
	healed := map[drift.ObjectRef]bool{}
	for _, o := range objs {
		healed[unversioned(driftkube.Ref(o))] = true
	}
	var out []drift.ObjectRef
	for _, o := range plan.Objects {
		ref := driftkube.Ref(o)
		if key := unversioned(ref); inInventory[key] && !healed[key] {
			out = append(out, ref)
		}
	}
	return out
}

// prunePolicy is the target's prune configuration as apply options.
func prunePolicy(t *config.Target) kube.PruneOptions {
	p := kube.PruneOptions{Enabled: t.Prune.Enabled, AllowEmpty: t.Prune.AllowEmpty}
	if t.Prune.Max.Percent {
		p.MaxPercent = t.Prune.Max.Value
	} else {
		p.Max = t.Prune.Max.Value
	}
	return p
}

// onlyApplied keeps the entries of the applied objects, dropping the
// "not pruned" notes a partial apply produces for the rest of the inventory.
func onlyApplied(entries []kube.Entry, objs []*unstructured.Unstructured, blocked []policy.Finding) []kube.Entry {
	applied := map[drift.ObjectRef]bool{}
	for _, o := range objs {
		applied[driftkube.Ref(o)] = true
	}
	for _, f := range blocked {
		applied[f.Object] = true
	}
	var out []kube.Entry
	for _, e := range entries {
		if applied[e.Ref] {
			out = append(out, e)
		}
	}
	return out
}

// subset returns the prepared objects named by the reports.
func subset(objs []*unstructured.Unstructured, reports []drift.ObjectReport) []*unstructured.Unstructured {
	want := map[drift.ObjectRef]bool{}
	for _, r := range reports {
		want[r.Ref] = true
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if want[driftkube.Ref(o)] {
			out = append(out, o)
		}
	}
	return out
}

// finish records the outcome, logs it and updates metrics. No-op
// reconciles log at debug level only.
func (r *Reconciler) finish(ctx context.Context, st *targetState, out *Outcome, actor string) *Outcome {
	out.Duration = r.now().Sub(out.Start)
	if st != nil && out.complianceChecked && !out.DryRun {
		r.restoreCompliance(ctx, out.Target, st)
		out.complianceChanges = st.complianceChanges(out.Compliance, r.now())
	}
	changes, err := r.rec.record(ctx, out, actor, r.now(), r.pullRequests)
	if err != nil {
		r.log.Error("history not recorded yet", "target", out.Target, "error", err.Error())
	}
	var prev *Outcome
	if st != nil {
		prev = st.lastOutcome()
		st.record(out)
		r.wakeDependents(out)
	}
	r.publish(out, prev, changes)
	r.metrics.observe(out)
	for _, f := range r.observers {
		f(out)
	}
	// The target keeps its last outcome; the plan's prepared objects (a
	// copy of the whole render) are not needed past this point.
	out.plan = nil
	log := r.log.With("target", out.Target, "trigger", string(out.Trigger))
	if out.Revision.Commit != "" { // unknown when the fetch failed: omitted, never ""
		log = log.With("revision", out.Revision.Short())
	}
	log = log.With("duration", out.Duration.Round(1e6).String())
	switch {
	case out.Err != nil:
		log.Error("reconcile failed", "stage", string(out.FailedStage()), "retryable", IsRetryable(out.Err), "error", out.Err.Error())
	case out.Action == ActionInSync:
		log.Debug("reconcile in sync", "objects", len(out.Report.Objects))
	default:
		log.Info("reconcile "+string(out.Action), "summary", out.summary(), driftAttrs(out.Report))
	}
	if out.PruneBlocked != "" {
		log.Warn("prune blocked", "reason", out.PruneBlocked)
	}
	return out
}

// driftAttrs lists drifted paths and who changed them (values stay out of
// logs: they may be large, and Secret values are masked anyway).
func driftAttrs(rep drift.Report) slog.Attr {
	var items []string
	for _, o := range rep.Objects {
		for _, f := range o.Fields {
			by := ""
			if f.Actor != nil {
				by = " by " + f.Actor.Name()
			}
			items = append(items, fmt.Sprintf("%s%s%s", o.Ref, f.Path, by))
		}
		if o.Status == drift.Missing {
			items = append(items, o.Ref.String()+" missing")
		}
	}
	return slog.Any("drift", items)
}
