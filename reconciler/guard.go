package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/sources"
)

// Guardrail outcomes and triggers.
const (
	// ActionFrozen: a new revision waits for a freeze window to end.
	ActionFrozen Action = "frozen"
	// ActionWaiting: the target waits for its dependencies (dependsOn)
	// to apply their revision, healthy; nothing was compared or applied.
	ActionWaiting Action = "waiting"

	// TriggerDependency: a dependency became ready.
	TriggerDependency Trigger = "dependency"
	// TriggerFreezeEnd: a freeze window that held a revision ended, or an
	// operator let the revision through.
	TriggerFreezeEnd Trigger = "freeze-end"
)

// ErrNotHeld: OverrideFreeze found no revision held by a freeze window.
var ErrNotHeld = errors.New("no revision is held by a freeze window")

// guardState is the reconciler's memory of freeze overrides and of the
// timers that wake a frozen target when its window ends.
type guardState struct {
	mu sync.Mutex
	// overrides: target -> the held commit an operator let through.
	overrides map[string]string
	timers    map[string]*time.Timer
	// told: target -> the held commit whose freeze-held record is written.
	told map[string]string
	// looked: target -> the held commit whose override was looked up in
	// the history (after a restart).
	looked map[string]string
}

// openFreeze is what the freeze windows open at now say about t: open
// when one is; the window that closes last; heal allowed when every open
// window allows it.
type openFreeze struct {
	open      bool
	name      string
	end       time.Time
	allowHeal bool
}

func (r *Reconciler) freezeAt(t *config.Target, now time.Time) openFreeze {
	f := openFreeze{allowHeal: true}
	for i := range r.cfg.Freeze {
		w := &r.cfg.Freeze[i]
		if !w.Selects(t) {
			continue
		}
		end, open, err := w.OpenAt(now)
		if err != nil {
			// Validate refuses such a window; fail closed all the same.
			end, open = now.Add(time.Hour), true
		}
		if !open {
			continue
		}
		if !f.open || end.After(f.end) {
			f.name, f.end = w.Name, end
		}
		f.open = true
		f.allowHeal = f.allowHeal && w.AllowsHeal()
	}
	return f
}

// freezeGate decides whether a freeze window holds the reconcile's new
// revision (change: a new revision or a prune retry), and whether it
// blocks a heal (of drifted objects). An override for this commit lets
// it through once.
func (r *Reconciler) freezeGate(ctx context.Context, t *config.Target, st *targetState, commit string, change, drifted bool, out *Outcome) (hold, blockHeal bool) {
	f := r.freezeAt(t, r.now())
	if !f.open {
		return false, false
	}
	if change {
		if by, ok := r.overridden(ctx, t.Name, commit); ok {
			out.Warnings = append(out.Warnings, fmt.Sprintf("freeze window %q: revision %s let through by %s", f.name, short(commit), by))
			return false, false
		}
		out.Held = fmt.Sprintf("freeze window %q holds revision %s until %s", f.name, short(commit), f.end.UTC().Format(time.RFC3339))
		out.heldFirst = r.firstHeld(ctx, t.Name, commit)
		r.guard.wakeAt(t.Name, f.end.Sub(r.now()), st)
		return true, false
	}
	if heals := t.Remediation.Drift == "heal" || out.Trigger == TriggerManual; !f.allowHeal && drifted && heals {
		out.Warnings = append(out.Warnings, fmt.Sprintf("freeze window %q: drift is reported, not healed, until %s (allow: [heal] heals it)", f.name, f.end.UTC().Format(time.RFC3339)))
	}
	return false, !f.allowHeal
}

// overridden reports whether an operator let commit of target through:
// an override of this process not used yet or, the first time the process
// holds the commit, a freeze-override record of it in the history (an
// override given before a restart, whose revision was not applied since).
func (r *Reconciler) overridden(ctx context.Context, target, commit string) (actor string, ok bool) {
	if actor, ok := r.guard.takeOverride(target, commit); ok {
		return actor, true
	}
	g := &r.guard
	g.mu.Lock()
	looked := g.looked[target] == commit
	if g.looked == nil {
		g.looked = map[string]string{}
	}
	g.looked[target] = commit
	g.mu.Unlock()
	if looked || r.rec.history == nil {
		return "", false
	}
	recs, err := r.rec.history.Query(ctx, history.Filter{Target: target, Revision: commit, Types: []string{history.TypeFreezeOverride}, Desc: true, Limit: 1})
	if err != nil || len(recs) == 0 {
		return "", false
	}
	return recs[0].Actor, true
}

// firstHeld reports whether commit of target is held for the first time:
// no freeze-held record of it was written by this process or, after a
// restart, is in the history.
func (r *Reconciler) firstHeld(ctx context.Context, target, commit string) bool {
	g := &r.guard
	g.mu.Lock()
	told, known := g.told[target]
	if g.told == nil {
		g.told = map[string]string{}
	}
	g.told[target] = commit
	g.mu.Unlock()
	if known || r.rec.history == nil {
		return told != commit
	}
	recs, err := r.rec.history.Query(ctx, history.Filter{Target: target, Revision: commit, Types: []string{history.TypeFreezeHeld}, Limit: 1})
	return err != nil || len(recs) == 0 // unknown: told again rather than never
}

// OverrideFreeze lets the revision a freeze window holds for target
// through once, and records who did it and why. The target's loop is woken
// to apply it.
func (r *Reconciler) OverrideFreeze(ctx context.Context, target, actor, reason string) error {
	_, st, _, err := r.target(target)
	if err != nil {
		return err
	}
	if strings.TrimSpace(actor) == "" {
		return fmt.Errorf("target %q: override freeze: the actor is required: it goes into the history", target)
	}
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("target %q: override freeze: a reason is required: it goes into the history", target)
	}
	last := st.lastOutcome()
	if last == nil || last.Action != ActionFrozen {
		state := "not reconciled yet"
		if last != nil {
			state = string(last.Action)
		}
		return fmt.Errorf("target %q: %w (last reconcile: %s): nothing to override", target, ErrNotHeld, state)
	}
	commit := last.Revision.Commit
	rec := history.Record{Type: history.TypeFreezeOverride, Target: target, Revision: commit, Actor: actor, Outcome: "overridden",
		Message: last.Held + "; let through: " + reason, Time: r.now()}
	if err := r.rec.append(ctx, []history.Record{rec}); err != nil {
		return fmt.Errorf("target %q: override freeze: record it in the history: %w", target, err)
	}
	r.guard.setOverride(target, commit, actor)
	st.trigger(TriggerFreezeEnd)
	return nil
}

func (g *guardState) setOverride(target, commit, actor string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.overrides == nil {
		g.overrides = map[string]string{}
	}
	g.overrides[target] = commit + "\x00" + actor
}

// takeOverride consumes the override of target when it is for commit.
func (g *guardState) takeOverride(target, commit string) (actor string, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, a, _ := strings.Cut(g.overrides[target], "\x00")
	if c == "" || c != commit {
		return "", false
	}
	delete(g.overrides, target)
	return a, true
}

// wakeAt triggers the target's loop after d (when its window ends), so
// the held revision applies then rather than at the next interval.
func (g *guardState) wakeAt(target string, d time.Duration, st *targetState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timers == nil {
		g.timers = map[string]*time.Timer{}
	}
	if t := g.timers[target]; t != nil {
		t.Stop()
	}
	g.timers[target] = time.AfterFunc(max(d, 0)+time.Second, func() { st.trigger(TriggerFreezeEnd) })
}

// guardRecords is the freeze-held record of a revision a window holds for
// the first time.
func guardRecords(out *Outcome) []history.Record {
	if !out.heldFirst || out.DryRun {
		return nil
	}
	return []history.Record{{Type: history.TypeFreezeHeld, Target: out.Target, Revision: out.Revision.Commit,
		Actor: "trueup", Outcome: string(ActionFrozen), Message: out.Held}}
}

// guardEvents tells once that a freeze window holds a revision.
func guardEvents(ec eventContext, out *Outcome) []notifications.Event {
	if !out.heldFirst {
		return nil
	}
	ev := ec.event(out)
	ev.Kind, ev.Severity, ev.Message = notifications.KindFreezeHeld, notifications.SeverityWarning, out.Held
	return []notifications.Event{ev}
}

// waitingFor says which dependencies of t are not ready, or "".
func (r *Reconciler) waitingFor(ctx context.Context, t *config.Target) string {
	var why []string
	for _, d := range t.DependsOn {
		if msg := r.notReady(ctx, d); msg != "" {
			why = append(why, msg)
		}
	}
	if len(why) == 0 {
		return ""
	}
	return "waiting for " + strings.Join(why, "; ")
}

// notReady says why dependency name is not ready, or "": ready means its
// last reconcile ran on its current revision, applied (healthy, when the
// target waits for health) and without error. A dependency this process
// has not reconciled (another replica runs it, or the process just
// started) is judged by its last reconcile in the history.
func (r *Reconciler) notReady(ctx context.Context, name string) string {
	dt, ok := r.cfg.Target(name)
	if !ok {
		return fmt.Sprintf("target %q (not in the config)", name)
	}
	if dt.Suspend {
		return fmt.Sprintf("target %q (suspended)", name)
	}
	var last *Outcome
	if st := r.targetState(name); st != nil {
		last = st.lastOutcome()
	}
	if last == nil || last.DryRun {
		last = r.lastRecorded(ctx, name)
	}
	switch {
	case last == nil:
		return fmt.Sprintf("target %q (not reconciled yet)", name)
	case last.Err != nil:
		return fmt.Sprintf("target %q (its last reconcile failed at stage %s)", name, last.FailedStage())
	case !readyAction(last.Action):
		return fmt.Sprintf("target %q (revision %s is %s)", name, last.Revision.Short(), last.Action)
	}
	return ""
}

// lastRecorded is target's last reconcile that was not a dry run, as the
// history has it, or nil.
func (r *Reconciler) lastRecorded(ctx context.Context, target string) *Outcome {
	if r.rec.history == nil {
		return nil
	}
	recs, err := r.rec.history.Query(ctx, history.Filter{Target: target, Types: []string{history.TypeReconcile, history.TypeManual}, Desc: true, Limit: 20})
	if err != nil {
		return nil
	}
	for _, rec := range recs {
		var d reconcileData
		if json.Unmarshal(rec.Data, &d) != nil || d.DryRun {
			continue
		}
		o := &Outcome{Target: target, Action: Action(rec.Outcome), Revision: sources.Revision{Commit: rec.Revision}}
		if d.Error != "" {
			o.Err = &StageError{Stage: d.Stage, Err: errors.New(d.Error)}
		}
		return o
	}
	return nil
}

// readyAction: the reconcile left its revision applied.
func readyAction(a Action) bool {
	switch a {
	case ActionApplied, ActionHealed, ActionInSync, ActionDetected:
		return true
	}
	return false
}

// wakeDependents wakes the targets waiting for out's target once it is
// ready, instead of at their next interval.
func (r *Reconciler) wakeDependents(out *Outcome) {
	if out.DryRun || out.Err != nil || !readyAction(out.Action) {
		return
	}
	for i := range r.cfg.Targets {
		t := &r.cfg.Targets[i]
		for _, d := range t.DependsOn {
			if d != out.Target {
				continue
			}
			if st := r.targetState(t.Name); st != nil {
				if last := st.lastOutcome(); last != nil && last.Action == ActionWaiting {
					st.trigger(TriggerDependency)
				}
			}
		}
	}
}

// short is the first 12 characters of a commit.
func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
