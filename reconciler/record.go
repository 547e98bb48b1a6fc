package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources"
)

// recorder turns reconcile outcomes into history records and live state.
// The records of one reconcile are appended in one transaction, through a
// queue (spool.go) that keeps them in order and on disk while the database
// is down, so the chain keeps every record in order and no reconcile waits
// on the database for long.
type recorder struct {
	history history.Store
	state   *state.Store
	// observe gets every batch the history stored, as stored (the
	// platform metrics).
	observe func([]history.Record)

	// mu guards q; it is never held while the database is called.
	mu sync.Mutex
	q  queue
}

// WithHistory records every reconcile in the audit history.
func WithHistory(h history.Store) Option { return func(r *Reconciler) { r.rec.history = h } }

// WithState keeps targets, managed objects and drift episodes in s.
func WithState(s *state.Store) Option { return func(r *Reconciler) { r.rec.state = s } }

// reconcileData is the Data of a reconcile record.
type reconcileData struct {
	Trigger    Trigger              `json:"trigger"`
	DurationMS int64                `json:"durationMs"`
	Commit     *commitData          `json:"commit,omitempty"`
	Counts     map[drift.Status]int `json:"counts,omitempty"`
	Applied    map[kube.Action]int  `json:"applied,omitempty"`
	DryRun     bool                 `json:"dryRun,omitempty"`
	Stage      Stage                `json:"stage,omitempty"`
	Error      string               `json:"error,omitempty"`
	// Attempt names the apply journal of the reconcile (see journal.go):
	// records an interrupted apply left are recorded with the same one.
	Attempt string `json:"attempt,omitempty"`
	// Attempted is what a failed reconcile was doing: applied (a new
	// revision) or healed (the platform metrics tell change failures by it).
	Attempted Action `json:"attempted,omitempty"`
}

type commitData struct {
	Source      string            `json:"source"`
	Ref         string            `json:"ref"`
	Author      sources.Person    `json:"author"`
	Committer   sources.Person    `json:"committer"`
	Message     string            `json:"message"`
	Signature   sources.Signature `json:"signature"`
	ForcePushed bool              `json:"forcePushed,omitempty"`
	Previous    string            `json:"previous,omitempty"`
}

// objectData is the Data of an apply, heal or prune record: the masked
// field diff that was reverted or applied.
type objectData struct {
	Action  kube.Action       `json:"action"`
	Message string            `json:"message,omitempty"`
	Origin  string            `json:"origin,omitempty"`
	Fields  []drift.FieldDiff `json:"fields,omitempty"`
}

// record builds the outcome's records, updates live state and appends the
// batch, and returns the drift episode transitions it recorded. Dry-runs
// leave no trace but their reconcile record.
//
// adopt, when not nil, runs after the episodes moved (see
// Reconciler.pullRequests): its records join the batch, and its extra
// changes are returned for the notifications without records of their own.
func (rc *recorder) record(ctx context.Context, out *Outcome, actor string, now time.Time,
	adopt func(context.Context, *Outcome, []episodeChange) ([]history.Record, []episodeChange)) ([]episodeChange, error) {
	if rc.history == nil && rc.state == nil {
		return nil, nil
	}
	actor = recordActor(out, actor)
	recs := []history.Record{reconcileRecord(out, actor)}
	var changes []episodeChange
	if !out.DryRun { // a reconcile that failed half-way records what it changed
		recs = append(recs, objectRecords(out, actor)...)
	}
	if out.Err == nil && !out.DryRun {
		episodes, ch, err := rc.episodes(out, now)
		if err != nil {
			out.journal.close()
			return nil, err
		}
		recs, changes = append(recs, episodes...), ch
		if adopt != nil {
			prs, extra := adopt(ctx, out, changes)
			recs, changes = append(recs, prs...), append(changes, extra...)
		}
	}
	for _, c := range out.complianceChanges {
		recs = append(recs, complianceRecord(out.Target, out.Revision.Commit, c))
	}
	recs = append(recs, guardRecords(out)...)
	if out.PruneBlocked != "" && !out.DryRun {
		recs = append(recs, history.Record{Type: history.TypePruneBlocked, Target: out.Target, Revision: out.Revision.Commit,
			Outcome: "blocked", Message: out.PruneBlocked})
	}
	for i := range recs {
		recs[i].Time = now
	}
	if err := rc.updateTarget(out, now); err != nil {
		out.journal.close()
		return changes, err
	}
	return changes, rc.appendBatch(ctx, recs, out.journal.remove)
}

// append queues a batch for the history (see appendBatch).
func (rc *recorder) append(ctx context.Context, recs []history.Record) error {
	return rc.appendBatch(ctx, recs, nil)
}

func reconcileRecord(out *Outcome, actor string) history.Record {
	d := reconcileData{Trigger: out.Trigger, DurationMS: out.Duration.Milliseconds(), DryRun: out.DryRun, Error: out.Error(), Stage: out.FailedStage(), Attempt: out.attempt, Attempted: out.attempted}
	if out.Revision.Commit != "" {
		rev := out.Revision
		d.Commit = &commitData{Source: rev.Source, Ref: rev.Ref, Author: rev.Author, Committer: rev.Committer,
			Message: rev.Message, Signature: rev.Signature, ForcePushed: rev.ForcePushed, Previous: rev.Previous}
	}
	if out.Err == nil {
		d.Counts = out.Report.Counts()
	}
	if out.Apply != nil {
		d.Applied = out.Apply.Counts()
	}
	typ := history.TypeReconcile
	if out.Trigger == TriggerManual {
		typ = history.TypeManual
	}
	return history.Record{Type: typ, Target: out.Target, Revision: out.Revision.Commit, Actor: actor,
		Outcome: string(out.Action), Message: out.summary(), Data: mustJSON(d)}
}

// recordActor is who a reconcile acted for: the CLI user of a manual run,
// the commit's author when a new revision was applied, else trueup itself
// (a heal, a drift check).
func recordActor(out *Outcome, cliActor string) string {
	switch {
	case cliActor != "":
		return cliActor
	case out.Action == ActionApplied && out.Revision.Author.Name != "":
		return out.Revision.Author.Name + " <" + out.Revision.Author.Email + ">"
	}
	return "trueup"
}

// objectRecords lists every object the reconcile changed, with its diff.
// A failed reconcile lists what it changed, not what failed (its reconcile
// record has the error).
func objectRecords(out *Outcome, actor string) []history.Record {
	if out.Apply == nil {
		return nil
	}
	reports := reportsByRef(out.Report)
	var recs []history.Record
	for _, e := range out.Apply.Entries {
		if entryType(out.Action, e.Action) == "" || out.Err != nil && e.Action == kube.ActionFailed {
			continue
		}
		recs = append(recs, objectRecord(out, actor, reports, e))
	}
	return recs
}

// objectRecord is the record of one changed object (entryType not "").
func objectRecord(out *Outcome, actor string, reports map[drift.ObjectRef]drift.ObjectReport, e kube.Entry) history.Record {
	rep := reports[e.Ref]
	return history.Record{Type: entryType(out.Action, e.Action), Target: out.Target, Object: e.Ref.String(), Revision: out.Revision.Commit,
		Actor: actor, Outcome: string(e.Action), Message: e.Message,
		Data: mustJSON(objectData{Action: e.Action, Message: e.Message, Origin: rep.Origin, Fields: rep.Fields})}
}

func reportsByRef(r drift.Report) map[drift.ObjectRef]drift.ObjectReport {
	reports := map[drift.ObjectRef]drift.ObjectReport{}
	for _, o := range r.Objects {
		reports[o.Ref] = o
	}
	return reports
}

func entryType(action Action, a kube.Action) string {
	switch {
	case a == kube.ActionDeleted:
		return history.TypePrune
	case a != kube.ActionCreated && a != kube.ActionConfigured && a != kube.ActionFailed:
		return ""
	case action == ActionHealed:
		return history.TypeHeal
	}
	return history.TypeApply
}

// episodes advances the drift episode of every compared object and returns
// the transitions as records and as changes.
func (rc *recorder) episodes(out *Outcome, now time.Time) ([]history.Record, []episodeChange, error) {
	if rc.state == nil {
		return nil, nil, nil
	}
	fixed := map[drift.ObjectRef]state.EpisodeStatus{}
	if out.Apply != nil {
		for _, e := range out.Apply.Entries {
			switch e.Action {
			case kube.ActionCreated, kube.ActionConfigured:
				fixed[e.Ref] = state.EpisodeHealed
			case kube.ActionDeleted:
				fixed[e.Ref] = state.EpisodeGone
			}
		}
	}
	var (
		recs    []history.Record
		changes []episodeChange
		objs    []state.Object
	)
	for _, rep := range out.Report.Objects {
		objs = append(objs, state.Object{Target: out.Target, Ref: rep.Ref, Status: rep.Status, ResourceVersion: rep.ResourceVersion, Updated: now})
		if out.accepted[rep.Ref] {
			continue // accepted drift: no episode until the acceptance ends
		}
		if _, ok := fixed[rep.Ref]; !ok && out.Action == ActionApplied && rep.Status == drift.InSync {
			// A new revision that equals the live object: Git took the
			// live value (a pull request merged), so drift ends adopted.
			fixed[rep.Ref] = state.EpisodeAdopted
		}
		steps := []drift.ObjectReport{rep}
		if how, ok := fixed[rep.Ref]; ok && how != state.EpisodeAdopted && (rep.Status == drift.Drifted || rep.Status == drift.Missing || rep.Status == drift.PendingPrune) {
			// trueup fixed it in this reconcile: the episode opens and closes.
			steps = append(steps, drift.ObjectReport{Ref: rep.Ref, Status: drift.InSync})
			objs[len(objs)-1].Status = drift.InSync
		}
		for _, step := range steps {
			r, ch, err := rc.step(out, step, fixed[rep.Ref], now)
			if err != nil {
				return nil, nil, err
			}
			if r != nil {
				recs, changes = append(recs, *r), append(changes, *ch)
			}
		}
	}
	if err := rc.state.UpsertObjects(out.Target, objs); err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	return recs, changes, nil
}

// step applies one report to the object's open episode. A reconcile of a
// new revision opens no episode: an object that differs because Git
// changed is a change, not drift.
func (rc *recorder) step(out *Outcome, rep drift.ObjectReport, how state.EpisodeStatus, now time.Time) (*history.Record, *episodeChange, error) {
	open, err := rc.state.OpenEpisode(nil, out.Target, rep.Ref)
	if err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	if open == nil && (out.Action == ActionApplied || out.Action == ActionPending || out.Action == ActionFrozen) {
		return nil, nil, nil
	}
	next, tr := state.NextEpisode(open, out.Target, rep, how, now)
	if next == nil {
		return nil, nil, nil
	}
	if err := rc.state.UpsertEpisode(*next); err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	typ := map[state.TransitionKind]string{state.TransitionOpened: history.TypeDriftOpened,
		state.TransitionUpdated: history.TypeDriftUpdated, state.TransitionResolved: history.TypeDriftResolved}[tr.Kind]
	if typ == "" {
		return nil, nil, nil
	}
	actor := ""
	if next.Actor != nil {
		actor = next.Actor.Name()
	}
	return &history.Record{Type: typ, Target: out.Target, Object: next.Object, Revision: out.Revision.Commit, Actor: actor,
			Outcome: string(next.Status), Message: fmt.Sprintf("drift %s: %d fields", tr, len(next.Fields)), Data: mustJSON(next)},
		&episodeChange{Episode: *next, Transition: tr}, nil
}

func (rc *recorder) updateTarget(out *Outcome, now time.Time) error {
	if rc.state == nil {
		return nil
	}
	t := state.Target{Name: out.Target, Status: state.TargetReady, Revision: out.Revision.Commit, LastReconcile: now, LastAction: string(out.Action)}
	if prev, err := rc.state.Target(nil, out.Target); err == nil && prev != nil {
		t.Destination = prev.Destination
		if out.Revision.Commit == "" {
			t.Revision = prev.Revision
		}
	}
	switch {
	case out.Err != nil:
		t.Status, t.LastError = state.TargetFailed, out.Error()
	case out.Action == ActionPending:
		t.Status = state.TargetPending
	case out.Action == ActionFrozen:
		t.Status, t.Held = state.TargetFrozen, out.Held
	case out.Action == ActionWaiting:
		t.Status, t.Held = state.TargetWaiting, out.Held
	}
	if err := rc.state.UpsertTarget(t); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(fmt.Sprintf("{%q:%q}", "encodeError", err.Error()))
	}
	return b
}
