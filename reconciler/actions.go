package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// Operator actions (the daemon's API and console call them):
//
//   - RequestReconcile: reconcile a target now, per its policy, with the
//     user as the reconcile's actor; optionally wait for the outcome.
//   - Suspend / Resume: stop and restart a target's reconciles at run time.
//     Recorded in the history and read back on start (and by the replica
//     that takes the target over), so a restart keeps it. The config's
//     suspend: true stays as it is and wins: such a target never runs.
//   - AcceptEpisode: close a drift episode as accepted for a while; until
//     then the object's drift (the same fields) is neither healed nor
//     alerted on. When the time ends, or the drift changes, a new episode
//     opens and the target's policy applies again. A new revision applies
//     Git as usual.
//   - RequestPullRequest: reconcile now and open the pull request that
//     writes the drifted values back into Git, whatever the target's drift
//     mode (the source must have a Git host).
//
// With shared targets (ha), only the replica owning a target acts on it:
// every other answers a NotOwnerError naming the owner. Suspensions and
// acceptances live in the shared history, so a replica taking a target
// over keeps them.

// Errors of the actions; the API maps them to status codes.
var (
	// ErrUnknown: no such target or episode.
	ErrUnknown = errors.New("not found")
	// ErrConflict: the action does not fit the target's or episode's state
	// (suspended, closed, ...).
	ErrConflict = errors.New("conflict")
)

// NotOwnerError says that another replica reconciles the target.
type NotOwnerError struct {
	Target string
	// Owner is the replica owning the target, "" while none does.
	Owner string
}

func (e *NotOwnerError) Error() string {
	if e.Owner == "" {
		return fmt.Sprintf("target %s: no replica owns it yet (ha): retry in a few seconds", e.Target)
	}
	return fmt.Sprintf("target %s: reconciled by replica %s, not this one (ha): send the request to %s", e.Target, e.Owner, e.Owner)
}

// ActionBy is who asks for an action, and why.
type ActionBy struct {
	Actor  string
	Reason string
}

// Suspension is a target's run-time suspension.
type Suspension struct {
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// acceptData is the Data of a drift-accepted record: the episode as it
// closed, and until when its drift is accepted.
type acceptData struct {
	state.Episode
	Until  time.Time `json:"until"`
	Reason string    `json:"reason,omitempty"`
}

// acceptance is an accepted drift of one object.
type acceptance struct {
	episode state.Episode
	until   time.Time
	timer   *time.Timer
}

// request is an operator's reconcile waiting for the target's loop.
type request struct {
	actor       string
	pullRequest bool
	done        chan *Outcome
}

// actionTarget checks that target exists and that this replica may act on
// it, and returns its state.
func (r *Reconciler) actionTarget(target string) (*targetState, error) {
	t, ok := r.cfg.Target(target)
	if !ok {
		return nil, fmt.Errorf("target %s: %w: the config has no such target", target, ErrUnknown)
	}
	if t.Suspend {
		return nil, fmt.Errorf("target %s: %w: suspended in the config (suspend: true); change the config to run it", target, ErrConflict)
	}
	st := r.targetState(target)
	if st == nil {
		return nil, fmt.Errorf("target %s: %w", target, ErrUnknown)
	}
	if r.own != nil && !st.isOwned() {
		return nil, &NotOwnerError{Target: target, Owner: r.own.Owner(target)}
	}
	return st, nil
}

// Suspended returns a target's run-time suspension, nil when it runs.
func (r *Reconciler) Suspended(target string) *Suspension {
	if st := r.targetState(target); st != nil {
		return st.suspension()
	}
	return nil
}

// Suspend stops a target's reconciles until Resume. A reconcile in flight
// finishes. Suspending a suspended target changes nothing.
func (r *Reconciler) Suspend(ctx context.Context, target string, by ActionBy) (*Suspension, error) {
	st, err := r.actionTarget(target)
	if err != nil {
		return nil, err
	}
	if s := st.suspension(); s != nil {
		return s, nil
	}
	s := &Suspension{By: by.Actor, Reason: by.Reason, Since: r.now()}
	rec := history.Record{Type: history.TypeSuspend, Target: target, Actor: by.Actor, Outcome: "suspended",
		Message: withReason("reconciles suspended", by.Reason), Data: mustJSON(s)}
	r.appendAction(ctx, rec)
	st.setSuspension(s)
	r.setTargetStatus(target, state.TargetSuspended)
	r.log.Info("target suspended", "target", target, "actor", by.Actor)
	return s, nil
}

// Resume restarts a suspended target's reconciles, with one now.
func (r *Reconciler) Resume(ctx context.Context, target string, by ActionBy) error {
	st, err := r.actionTarget(target)
	if err != nil {
		return err
	}
	if st.suspension() == nil {
		return nil
	}
	rec := history.Record{Type: history.TypeResume, Target: target, Actor: by.Actor, Outcome: "resumed",
		Message: withReason("reconciles resumed", by.Reason)}
	r.appendAction(ctx, rec)
	st.setSuspension(nil)
	r.setTargetStatus(target, state.TargetPending)
	st.trigger(TriggerOperator)
	r.log.Info("target resumed", "target", target, "actor", by.Actor)
	return nil
}

// RequestReconcile asks the target's loop to reconcile now, with actor as
// the reconcile's actor. With wait it returns the outcome (or ctx's end);
// without, nil once the request is queued.
func (r *Reconciler) RequestReconcile(ctx context.Context, target, actor string, wait bool) (*Outcome, error) {
	return r.request(ctx, target, &request{actor: actor}, wait)
}

// RequestPullRequest reconciles the target now and opens (or updates) the
// pull request of every drifted object's episode, and returns the outcome.
func (r *Reconciler) RequestPullRequest(ctx context.Context, target, actor string) (*Outcome, error) {
	t, ok := r.cfg.Target(target)
	if !ok {
		return nil, fmt.Errorf("target %s: %w: the config has no such target", target, ErrUnknown)
	}
	if _, ok := r.hosts[t.Source]; !ok || r.git == nil {
		return nil, fmt.Errorf("target %s: %w: source %s has no Git host to open pull requests on (set sources[].host)", target, ErrConflict, t.Source)
	}
	if cs, ok := r.cfg.Source(t.Source); ok && sourceBranch(cs) == "" {
		return nil, fmt.Errorf("target %s: %w: source %s follows a tag or commit, not a branch a pull request can go into", target, ErrConflict, t.Source)
	}
	return r.request(ctx, target, &request{actor: actor, pullRequest: true}, true)
}

func (r *Reconciler) request(ctx context.Context, target string, q *request, wait bool) (*Outcome, error) {
	st, err := r.actionTarget(target)
	if err != nil {
		return nil, err
	}
	if s := st.suspension(); s != nil {
		return nil, fmt.Errorf("target %s: %w: suspended by %s since %s; resume it first", target, ErrConflict, s.By, s.Since.UTC().Format(time.RFC3339))
	}
	q.done = make(chan *Outcome, 1)
	st.addRequest(q)
	st.trigger(TriggerOperator)
	if !wait {
		return nil, nil
	}
	select {
	case out := <-q.done:
		if out == nil {
			return nil, fmt.Errorf("target %s: %w: suspended before the reconcile ran", target, ErrConflict)
		}
		return out, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("target %s: wait for the reconcile: %w (it still runs; see trueup history --target %s)", target, ctx.Err(), target)
	}
}

// AcceptEpisode accepts an open drift episode for d: the episode closes
// as accepted, and the object's drift is left alone until then.
func (r *Reconciler) AcceptEpisode(ctx context.Context, id string, d time.Duration, by ActionBy) (*state.Episode, time.Time, error) {
	if r.rec.state == nil {
		return nil, time.Time{}, fmt.Errorf("episode %s: %w: no live state", id, ErrUnknown)
	}
	ep, err := r.rec.state.Episode(nil, id)
	if err != nil {
		return nil, time.Time{}, err
	}
	if ep == nil {
		return nil, time.Time{}, fmt.Errorf("episode %s: %w", id, ErrUnknown)
	}
	if d <= 0 {
		return nil, time.Time{}, fmt.Errorf("episode %s: accept for %s: give a positive duration such as 4h", id, d)
	}
	if !ep.Status.IsOpen() {
		return nil, time.Time{}, fmt.Errorf("episode %s: %w: it is %s, not open", id, ErrConflict, ep.Status)
	}
	st, err := r.actionTarget(ep.Target)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := r.now()
	until := now.Add(d)
	closed := *ep
	closed.Status, closed.Closed = state.EpisodeAccepted, now
	rec := history.Record{Type: history.TypeDriftAccepted, Target: ep.Target, Object: ep.Object, Actor: by.Actor, Outcome: string(state.EpisodeAccepted),
		Message: withReason(fmt.Sprintf("drift accepted until %s", until.UTC().Format(time.RFC3339)), by.Reason),
		Data:    mustJSON(acceptData{Episode: closed, Until: until, Reason: by.Reason})}
	r.appendAction(ctx, rec)
	if err := r.rec.state.UpsertEpisode(closed); err != nil {
		return nil, time.Time{}, fmt.Errorf("episode %s: accept: state: %w", id, err)
	}
	st.accept(closed, until, now)
	r.log.Info("drift accepted", "target", ep.Target, "object", ep.Object, "episode", id, "until", until, "actor", by.Actor)
	return &closed, until, nil
}

// Acceptances lists the accepted drifts of a target: object and until.
func (r *Reconciler) Acceptances(target string) map[string]time.Time {
	st := r.targetState(target)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]time.Time{}
	for obj, a := range st.accepted {
		out[obj] = a.until
	}
	return out
}

// restoreActions reads the suspensions and acceptances of target (all
// targets when "") back from the history.
func (r *Reconciler) restoreActions(ctx context.Context, target string) error {
	h := r.rec.history
	if h == nil {
		return nil
	}
	f := history.Filter{Target: target, Types: []string{history.TypeSuspend, history.TypeResume, history.TypeDriftAccepted}, Limit: 1000}
	suspended := map[string]*Suspension{}
	accepted := map[string]map[string]acceptData{}
	err := pages(ctx, h, f, func(rec history.Record) error {
		switch rec.Type {
		case history.TypeSuspend:
			var s Suspension
			if err := json.Unmarshal(rec.Data, &s); err != nil {
				return fmt.Errorf("record %d: not a suspension: %w", rec.Seq, err)
			}
			suspended[rec.Target] = &s
		case history.TypeResume:
			suspended[rec.Target] = nil
		case history.TypeDriftAccepted:
			var a acceptData
			if err := json.Unmarshal(rec.Data, &a); err != nil {
				return fmt.Errorf("record %d: not an acceptance: %w", rec.Seq, err)
			}
			if accepted[rec.Target] == nil {
				accepted[rec.Target] = map[string]acceptData{}
			}
			accepted[rec.Target][a.Object] = a
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore suspensions and accepted drift: %w", err)
	}
	now := r.now()
	for name, s := range suspended {
		if st := r.targetState(name); st != nil && s != nil {
			st.setSuspension(s)
			r.setTargetStatus(name, state.TargetSuspended)
		}
	}
	for name, objs := range accepted {
		st := r.targetState(name)
		if st == nil {
			continue
		}
		for _, a := range objs {
			if a.Until.After(now) && !r.reopened(name, a) {
				st.accept(a.Episode, a.Until, now)
			}
		}
	}
	return nil
}

// reopened says whether the object drifted again in a new episode after a
// was accepted (its acceptance then ended).
func (r *Reconciler) reopened(target string, a acceptData) bool {
	if r.rec.state == nil {
		return false
	}
	eps, err := r.rec.state.Episodes(nil, state.EpisodeFilter{Target: target, Object: a.Object, Open: true})
	return err == nil && len(eps) > 0 && eps[0].Opened.After(a.Closed)
}

// setTargetStatus sets a target's status in live state, keeping the rest.
func (r *Reconciler) setTargetStatus(target string, s state.TargetStatus) {
	if r.rec.state == nil {
		return
	}
	t := state.Target{Name: target}
	if prev, err := r.rec.state.Target(nil, target); err == nil && prev != nil {
		t = *prev
	}
	t.Status = s
	if err := r.rec.state.UpsertTarget(t); err != nil {
		r.log.Warn("state: target status not kept", "target", target, "error", err.Error())
	}
}

// loopReconcile is one reconcile of the target's loop: nil while the
// target is suspended; the operator's requests waiting are served by it.
func (r *Reconciler) loopReconcile(ctx context.Context, name string, st *targetState, trigger Trigger, fresh bool) *Outcome {
	reqs := st.takeRequests()
	if st.suspension() != nil {
		for _, q := range reqs {
			q.done <- nil
		}
		return nil
	}
	opts := ReconcileOptions{Fresh: fresh}
	if len(reqs) > 0 {
		trigger, opts.Fresh = TriggerOperator, true
		var actors []string
		for _, q := range reqs {
			opts.pullRequests = opts.pullRequests || q.pullRequest
			if q.actor != "" && !strings.Contains(strings.Join(actors, "\x00"), q.actor) {
				actors = append(actors, q.actor)
			}
		}
		opts.Actor = strings.Join(actors, ", ")
	}
	out := r.Reconcile(ctx, name, trigger, opts)
	for _, q := range reqs {
		q.done <- out
	}
	return out
}

// acceptedDrift returns the drifted objects of the report whose drift is
// accepted now, and ends the acceptances that no longer hold: expired,
// back in sync (or gone), or drifted in other fields.
func (s *targetState) acceptedDrift(rep drift.Report, now time.Time) map[drift.ObjectRef]bool {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.accepted) == 0 {
		return nil
	}
	reports := map[string]drift.ObjectReport{}
	for _, o := range rep.Objects {
		reports[o.Ref.String()] = o
	}
	out := map[drift.ObjectRef]bool{}
	for obj, a := range s.accepted {
		o, ok := reports[obj]
		if ok && o.Status == drift.Unknown {
			out[o.Ref] = true // nothing can be told: it stays accepted
			continue
		}
		if !now.Before(a.until) || !ok || !sameDrift(a.episode, o, now) {
			a.timer.Stop()
			delete(s.accepted, obj)
			continue
		}
		out[o.Ref] = true
	}
	return out
}

// sameDrift says whether o is still the drift of the accepted episode.
func sameDrift(ep state.Episode, o drift.ObjectReport, now time.Time) bool {
	if o.Status != drift.Drifted && o.Status != drift.Missing {
		return false
	}
	ep.Status = state.EpisodeOpen
	_, tr := state.NextEpisode(&ep, ep.Target, o, "", now)
	return tr.Kind == state.TransitionNone
}

// accept keeps ep's drift accepted until, and wakes the target then.
func (s *targetState) accept(ep state.Episode, until, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accepted == nil {
		s.accepted = map[string]*acceptance{}
	}
	if old := s.accepted[ep.Object]; old != nil {
		old.timer.Stop()
	}
	s.accepted[ep.Object] = &acceptance{episode: ep, until: until,
		timer: time.AfterFunc(until.Sub(now), func() { s.trigger(TriggerInterval) })}
}

func (s *targetState) suspension() *Suspension {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.suspended
}

func (s *targetState) setSuspension(sp *Suspension) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.suspended = sp
}

func (s *targetState) addRequest(q *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, q)
}

func (s *targetState) takeRequests() []*request {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.requests
	s.requests = nil
	return q
}

// appendAction appends an operator's action record, waiting a while for
// the database. A record the database did not take in time is kept in the
// spool and appended in order later: the action stands, and is logged.
func (r *Reconciler) appendAction(ctx context.Context, rec history.Record) {
	if rec.Time.IsZero() {
		rec.Time = r.now()
	}
	if err := r.rec.append(ctx, []history.Record{rec}); err != nil {
		r.log.Warn("action not in the history yet", "target", rec.Target, "type", rec.Type, "actor", rec.Actor, "error", err.Error())
	}
}

func withReason(msg, reason string) string {
	if reason == "" {
		return msg
	}
	return msg + ": " + reason
}
