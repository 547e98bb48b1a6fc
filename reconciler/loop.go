package reconciler

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// RunOptions are the knobs of the daemon loop.
type RunOptions struct {
	// Watch enables event-driven drift detection through watches.
	Watch bool
	// ResyncPeriod forces a full comparison against the API server (not the
	// watch cache) at least this often, guarding against missed events.
	ResyncPeriod time.Duration
	// ShutdownGrace lets an in-flight reconcile finish after ctx ends, so an
	// apply is not cut between its stages.
	ShutdownGrace time.Duration
}

// DefaultRunOptions watches, resyncs every 30 minutes and gives in-flight
// reconciles 30 seconds on shutdown.
func DefaultRunOptions() RunOptions {
	return RunOptions{Watch: true, ResyncPeriod: 30 * time.Minute, ShutdownGrace: 30 * time.Second}
}

// Run reconciles every target at its interval (with jitter, backing off on
// errors) and, with watches, whenever a managed object changes, until ctx
// ends. One target's failure never stops another.
func (r *Reconciler) Run(ctx context.Context, opts RunOptions) error {
	r.prev.setBase(ctx)
	if r.own == nil {
		if err := r.restoreActions(ctx, ""); err != nil {
			r.log.Warn("suspensions and accepted drift not read back from the history; targets run", "error", err.Error())
		}
	}
	var wg sync.WaitGroup
	if opts.Watch {
		for name, d := range r.destinations {
			if d.Cluster.ActingAs() != "" {
				continue // one watch per cluster, shared by its ServiceAccounts' destinations
			}
			if err := r.startWatch(ctx, name, d); err != nil {
				r.log.Warn("watch not started; drift is found at the next interval", "cluster", name, "error", err.Error())
			}
		}
	}
	if r.own != nil {
		r.runShared(ctx, opts)
		wg.Wait()
		return nil
	}
	for _, t := range r.cfg.Targets {
		if t.Suspend {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runTarget(ctx, t.Name, opts)
		}()
	}
	for _, s := range r.cfg.Sources {
		if gh, ok := r.hosts[s.Name]; !ok || !gh.Preview {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pollPreviews(ctx, s.Name, s.Interval.Duration)
		}()
	}
	wg.Wait()
	return nil
}

// pollPreviews previews a source's open pull requests at its interval
// (webhooks make it sooner), so a host without webhooks still gets them.
func (r *Reconciler) pollPreviews(ctx context.Context, source string, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	for {
		if _, err := r.PollPullRequests(ctx, source); err != nil && ctx.Err() == nil {
			r.log.Warn("pull request previews failed; retried at the next interval", "source", source, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// runTarget is one target's loop.
func (r *Reconciler) runTarget(ctx context.Context, name string, opts RunOptions) {
	r.runTargetUntil(ctx, context.Background(), name, opts)
}

// runTargetUntil is one target's loop until ctx ends; a reconcile in
// flight then has opts.ShutdownGrace to finish, and is cut when hard ends.
func (r *Reconciler) runTargetUntil(ctx, hard context.Context, name string, opts RunOptions) {
	t, st, dest, err := r.target(name)
	if err != nil {
		return
	}
	timer := time.NewTimer(time.Duration(rand.Float64() * float64(time.Second)))
	defer timer.Stop()
	lastFresh := time.Time{}
	for {
		trigger := TriggerInterval
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			if lastFresh.IsZero() {
				trigger = TriggerStartup
			}
		case trigger = <-st.kick:
		}
		work, cancel := graceContext(ctx, opts.ShutdownGrace)
		cut := context.AfterFunc(hard, cancel)
		fresh := trigger != TriggerWatch && r.now().Sub(lastFresh) > opts.ResyncPeriod
		if fresh {
			st.forget()
			lastFresh = r.now()
		}
		out := r.loopReconcile(work, name, st, trigger, fresh) // nil while suspended
		cut()
		cancel()
		if out != nil && opts.Watch && out.Err == nil && dest != nil {
			if r.watchKinds(ctx, dest, out, t.Timeout.Duration, fresh) && out.Apply != nil && !out.Apply.DryRun {
				// What this reconcile applied changed before its kinds
				// were watched: compare it once now, from the new cache,
				// rather than all of it at the next live edit.
				st.trigger(TriggerWatch)
			}
		}
		if trigger != TriggerWatch {
			timer.Reset(nextDelay(t.Interval.Duration, st.failuresCount(), rand.Float64()))
		}
	}
}

// graceContext is a context that ends ShutdownGrace after parent ends.
func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	work, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(work, func() { t.Stop() })
	})
	return work, func() { stop(); cancel() }
}

// startWatch starts the cluster's watcher with no kinds; kinds are added as
// targets render.
func (r *Reconciler) startWatch(ctx context.Context, name string, d *Destination) error {
	w, err := d.Cluster.Watch(ctx, nil, func(ev kube.WatchEvent) {
		if ev.Type == kube.WatchError {
			r.watchFailed(d, ev)
			return
		}
		r.onWatchEvent(ev)
	})
	if err != nil {
		return err
	}
	d.watch.mu.Lock()
	d.watch.watcher = w
	d.watch.mu.Unlock()
	return nil
}

// watchKinds makes sure the kinds of a target's objects are watched,
// waiting for their caches at most the target's timeout. A kind whose cache
// does not fill in time (its cluster-wide list is forbidden, or the API
// server does not answer) is not watched: the target reads it from the API
// server, the outcome says so, and it is tried again at the next full
// resync (retry). It reports whether a kind began to be watched.
func (r *Reconciler) watchKinds(ctx context.Context, d *Destination, out *Outcome, timeout time.Duration, retry bool) bool {
	w := d.liveWatcher()
	if w == nil {
		return false
	}
	seen := map[schema.GroupVersionKind]bool{}
	var add []schema.GroupVersionKind
	for _, o := range out.Report.Objects {
		gvk := o.Ref.GroupVersionKind()
		if seen[gvk] || w.Watching(gvk) || (!retry && w.SyncError(gvk) != nil) {
			continue
		}
		seen[gvk] = true
		add = append(add, gvk)
	}
	if len(add) == 0 {
		return false
	}
	if timeout <= 0 {
		timeout = config.DefaultTargetTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, err := range joined(w.Add(actx, add...)) {
		var se *kube.SyncError
		if errors.As(err, &se) {
			r.log.Warn("kind not watched; reading it from the API server", "target", out.Target, "cluster", d.Cluster.Name(),
				"kind", se.GVK.String(), "resource", se.Resource.GroupResource().String(), "forbidden", se.Forbidden(), "error", err.Error())
			continue
		}
		r.log.Warn("watch kinds", "target", out.Target, "error", err.Error())
	}
	return slices.ContainsFunc(add, w.Watching)
}

// watchWarnings say which kinds of the plan's objects are read from the API
// server because their watch could not start, and why.
func watchWarnings(d *Destination, objs []drift.ObjectReport) []string {
	w := d.liveWatcher()
	if w == nil {
		return nil
	}
	seen := map[schema.GroupVersionKind]bool{}
	var out []string
	for _, o := range objs {
		gvk := o.Ref.GroupVersionKind()
		if seen[gvk] {
			continue
		}
		seen[gvk] = true
		if se := w.SyncError(gvk); se != nil {
			out = append(out, se.Error())
		}
	}
	return out
}

// joined splits an errors.Join into its errors.
func joined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// onWatchEvent wakes the target that owns a changed object, unless the
// change is one the target already compared.
func (r *Reconciler) onWatchEvent(ev kube.WatchEvent) {
	if ev.Initial || ev.Type == kube.WatchError || ev.Target == "" {
		return
	}
	r.mu.Lock()
	st := r.targets[ev.Target]
	r.mu.Unlock()
	if st == nil {
		return
	}
	if ev.Type != kube.WatchDeleted && st.knows(ev.Ref, ev.ResourceVersion) {
		return
	}
	st.trigger(TriggerWatch)
}

// Status returns the last outcome of every target (that this replica
// owns, when the targets are shared).
func (r *Reconciler) Status() []*Outcome {
	var out []*Outcome
	for _, t := range r.cfg.Targets {
		r.mu.Lock()
		st := r.targets[t.Name]
		r.mu.Unlock()
		if st == nil || !r.ownsHere(t.Name) {
			continue
		}
		if o := st.lastOutcome(); o != nil {
			out = append(out, o)
		}
	}
	return out
}

// Pending lists the targets (suspended ones, and those another replica
// owns, aside) that have not finished a first reconcile: until each has
// applied, found its state or reported why it could not, the daemon is not
// ready. With shared targets, every one is pending until the ownership has
// settled which are this replica's (its first look at the Leases).
func (r *Reconciler) Pending() []string {
	var out []string
	unsettled := r.own != nil && !r.own.Settled()
	for _, t := range r.cfg.Targets {
		if !t.Suspend && unsettled {
			out = append(out, t.Name) // which are this replica's is not known yet
			continue
		}
		if t.Suspend || !r.ownsHere(t.Name) || r.Suspended(t.Name) != nil {
			continue
		}
		if st := r.targetState(t.Name); st != nil && st.lastOutcome() == nil {
			out = append(out, t.Name)
		}
	}
	return out
}

// HasTarget reports whether the config has a target of that name.
func (r *Reconciler) HasTarget(name string) bool {
	_, ok := r.cfg.Target(name)
	return ok
}
