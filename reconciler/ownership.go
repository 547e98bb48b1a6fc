package reconciler

import (
	"context"
	"strings"
	"time"
)

// Ownership shares the targets between replicas (reconciler/lease keeps it
// with Kubernetes Leases): with it, Run starts a target's loop only while
// this replica owns the target, and stops it when it no longer does.
type Ownership interface {
	// Run calls own when this replica becomes a target's owner, and the
	// function own returned when it stops being (lost: its claim could
	// not be renewed), until ctx ends; then it releases every target.
	Run(ctx context.Context, targets []string, own func(target string) (release func(lost bool))) error
	// Owner is the replica that owns target, "" when none is known.
	Owner(target string) string
	// Identity is this replica's name.
	Identity() string
	// Grace is how long a reconcile in flight may go on after its target
	// was lost (another replica may start it after that).
	Grace() time.Duration
	// Settled says whether Run has decided, at least once, which targets
	// this replica owns; until then none is owned and every one waits.
	Settled() bool
}

// previewShard is the name under which a source's pull request previews
// are shared between replicas, next to the targets: one replica polls
// them, so each preview is commented once.
const previewShard = "preview:"

// ShareTargets makes Run reconcile only the targets o gives this replica.
// Call it before Run.
func (r *Reconciler) ShareTargets(o Ownership) { r.own = o }

// Owners maps every target that is not suspended to the replica owning it
// ("" while none does); nil when the targets are not shared.
func (r *Reconciler) Owners() map[string]string {
	if r.own == nil {
		return nil
	}
	out := map[string]string{}
	for _, t := range r.cfg.Targets {
		if !t.Suspend {
			out[t.Name] = r.own.Owner(t.Name)
		}
	}
	return out
}

// Replica is this replica's name when the targets are shared, else "".
func (r *Reconciler) Replica() string {
	if r.own == nil {
		return ""
	}
	return r.own.Identity()
}

// ownsHere says whether this process reconciles target: always, unless
// the targets are shared and another replica owns it.
func (r *Reconciler) ownsHere(target string) bool {
	if r.own == nil {
		return true
	}
	st := r.targetState(target)
	return st != nil && st.isOwned()
}

// runShared hands the targets (and the sources' previews) to the
// ownership and runs the loops of those this replica owns.
func (r *Reconciler) runShared(ctx context.Context, opts RunOptions) {
	var shards []string
	for _, t := range r.cfg.Targets {
		if !t.Suspend {
			shards = append(shards, t.Name)
		}
	}
	for _, s := range r.cfg.Sources {
		if gh, ok := r.hosts[s.Name]; ok && gh.Preview {
			shards = append(shards, previewShard+s.Name)
		}
	}
	err := r.own.Run(ctx, shards, func(shard string) func(bool) {
		if source, ok := strings.CutPrefix(shard, previewShard); ok {
			return r.ownPreviews(ctx, source)
		}
		return r.ownTarget(ctx, shard, opts)
	})
	if err != nil && ctx.Err() == nil {
		r.log.Error("target sharing stopped; this replica reconciles nothing", "error", err.Error())
	}
}

// ownTarget starts a target's loop on this replica, after rebuilding its
// episodes and threads from the shared history (the previous owner moved
// them on). The function returned stops the loop and returns once the
// reconcile in flight has ended: within the run's shutdown grace when the
// target is handed over, within the ownership's grace when it was lost.
func (r *Reconciler) ownTarget(ctx context.Context, name string, opts RunOptions) func(lost bool) {
	st := r.targetState(name)
	loop, stop := context.WithCancel(ctx)
	hard, kill := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	r.log.Info("target owned by this replica", "target", name, "replica", r.own.Identity())
	st.takeOver()
	go func() {
		defer close(done)
		r.rebuildTarget(loop, name)
		r.runTargetUntil(loop, hard, name, opts)
	}()
	return func(lost bool) {
		stop()
		if lost {
			t := time.AfterFunc(r.own.Grace(), kill)
			defer t.Stop()
		}
		<-done
		kill()
		st.setOwned(false)
		r.log.Info("target no longer owned by this replica", "target", name, "replica", r.own.Identity(), "lost", lost)
	}
}

// rebuildTarget reads the target's episodes and threads back from the
// history. When it cannot, the target still runs: an episode may then be
// opened again, which is recorded, rather than drift left unwatched.
func (r *Reconciler) rebuildTarget(ctx context.Context, name string) {
	if r.rec.history == nil || r.rec.state == nil {
		return
	}
	n, err := RebuildTarget(ctx, r.rec.history, r.rec.state, name)
	if err != nil {
		r.log.Warn("target state not rebuilt from the history; an open episode may be announced again", "target", name, "error", err.Error())
		return
	}
	r.log.Debug("target state rebuilt from the history", "target", name, "openEpisodes", n)
	if err := r.restoreActions(ctx, name); err != nil {
		r.log.Warn("suspension and accepted drift not read back from the history; the target runs", "target", name, "error", err.Error())
	}
	r.applied.forget(name)
}

// ownPreviews polls a source's pull requests while this replica owns
// them.
func (r *Reconciler) ownPreviews(ctx context.Context, source string) func(bool) {
	loop, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	interval := time.Minute
	if s, ok := r.cfg.Source(source); ok && s.Interval.Duration > 0 {
		interval = s.Interval.Duration
	}
	go func() {
		defer close(done)
		r.pollPreviews(loop, source, interval)
	}()
	return func(bool) { stop(); <-done }
}
