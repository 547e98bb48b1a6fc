package reconciler

import (
	"encoding/json"
	"time"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// The platform figures (lead time, provisioning, drift episodes, change
// failures, toil, deliveries, errors) are computed from history records,
// one at a time, by a tally: the daemon feeds it every record it appends
// (live metrics), a restarted daemon feeds it the records of a window
// (restored metrics), and `trueup report` feeds it the records of a period.
// One code path, so the three agree.

// factKind names one figure a record contributes to.
type factKind int

const (
	factLeadTime       factKind = iota + 1 // Value: seconds from commit to applied
	factProvisioned                        // Value: seconds from first record to first healthy apply
	factApplyAttempt                       // a new revision's first apply attempt
	factApplyFailed                        // that revision's first failed attempt
	factHeal                               // a reconcile that healed drift
	factManualApply                        // a manual reconcile that applied or healed
	factReconcileError                     // Label: the stage
	factSuccess                            // a reconcile without error (Time)
	factDriftOpened                        // Episode
	factDriftResolved                      // Episode, Label: how; Value: seconds open
	factDelivery                           // Label: sink, Status
	factQueueDrop                          // Label: sink, Status: reason; Value: events dropped
)

// fact is one contribution of a record to the figures.
type fact struct {
	Kind   factKind
	Target string
	Time   time.Time
	Label  string
	Status string
	Value  float64
	// Episode is the drift episode of the drift facts.
	Episode state.Episode
}

// targetTally is what the tally remembers of one target between records.
type targetTally struct {
	// appeared is the time of the target's first record; provisioned: a
	// healthy apply followed it (or it predates what the tally saw).
	appeared    time.Time
	provisioned bool
	// lastApplied is the last revision applied and healthy; attempt the
	// revision whose apply was last tried, and attemptFailed whether one
	// of its tries failed.
	lastApplied   string
	attempt       string
	attemptFailed bool
}

// tally turns records into facts. It is not safe for concurrent use.
type tally struct {
	targets map[string]*targetTally
}

func newTally() *tally { return &tally{targets: map[string]*targetTally{}} }

func (t *tally) target(name string) *targetTally {
	tt := t.targets[name]
	if tt == nil {
		tt = &targetTally{}
		t.targets[name] = tt
	}
	return tt
}

// existed marks a target that has records before the tally's first one:
// it is not new, so it is taken as provisioned.
func (t *tally) existed(name string, first time.Time) {
	tt := t.target(name)
	tt.appeared, tt.provisioned = first, true
}

// add returns the facts of one record.
func (t *tally) add(r history.Record) []fact {
	switch r.Type {
	case history.TypeReconcile, history.TypeManual:
		return t.reconcile(r)
	case history.TypeDriftOpened, history.TypeDriftResolved, history.TypeDriftAccepted:
		return driftFacts(r)
	case history.TypeNotification:
		return deliveryFacts(r)
	}
	return nil
}

// reconcile is the facts of a reconcile (or manual reconcile) record.
func (t *tally) reconcile(r history.Record) []fact {
	var d reconcileData
	if r.Target == "" || json.Unmarshal(r.Data, &d) != nil || d.DryRun {
		return nil
	}
	tt := t.target(r.Target)
	if tt.appeared.IsZero() {
		tt.appeared = r.Time
	}
	base := fact{Target: r.Target, Time: r.Time}
	var out []fact
	add := func(k factKind, label string, v float64) {
		f := base
		f.Kind, f.Label, f.Value = k, label, v
		out = append(out, f)
	}
	failed := r.Outcome == string(ActionFailed)
	if failed {
		add(factReconcileError, string(d.Stage), 0)
	} else if r.Outcome != string(ActionUnknown) {
		add(factSuccess, "", 0)
	}
	// A new revision's apply: tried (applied, or failed while applying).
	if r.Outcome == string(ActionApplied) || failed && t.triedApply(tt, r.Revision, d) {
		if r.Revision != tt.attempt {
			tt.attempt, tt.attemptFailed = r.Revision, false
			add(factApplyAttempt, "", 0)
		}
		if failed && !tt.attemptFailed {
			tt.attemptFailed = true
			add(factApplyFailed, "", 0)
		}
	}
	if r.Outcome == string(ActionApplied) && r.Revision != tt.lastApplied {
		tt.lastApplied = r.Revision
		if at := commitTime(d); !at.IsZero() {
			add(factLeadTime, "", r.Time.Sub(at).Seconds())
		}
	}
	if r.Outcome == string(ActionApplied) && !tt.provisioned {
		tt.provisioned = true
		add(factProvisioned, "", r.Time.Sub(tt.appeared).Seconds())
	}
	if r.Outcome == string(ActionHealed) {
		add(factHeal, "", 0)
	}
	if r.Type == history.TypeManual && (r.Outcome == string(ActionApplied) || r.Outcome == string(ActionHealed)) {
		add(factManualApply, "", 0)
	}
	return out
}

// triedApply reports whether a failed reconcile was trying to apply a new
// revision: as its record says, or, for records older than that field,
// when it failed applying a revision other than the last applied one.
func (t *tally) triedApply(tt *targetTally, revision string, d reconcileData) bool {
	if d.Attempted != "" {
		return d.Attempted == ActionApplied
	}
	return d.Stage == StageApply && revision != "" && revision != tt.lastApplied
}

// commitTime is when the applied commit was committed (merged), else
// authored.
func commitTime(d reconcileData) time.Time {
	if d.Commit == nil {
		return time.Time{}
	}
	if !d.Commit.Committer.When.IsZero() {
		return d.Commit.Committer.When
	}
	return d.Commit.Author.When
}

// driftFacts is the fact of a drift-opened or drift-resolved record.
func driftFacts(r history.Record) []fact {
	var e state.Episode
	if json.Unmarshal(r.Data, &e) != nil || e.ID == "" {
		return nil
	}
	f := fact{Kind: factDriftOpened, Target: r.Target, Time: r.Time, Episode: e}
	if r.Type == history.TypeDriftResolved || r.Type == history.TypeDriftAccepted { // an operator's accept closes the episode
		closed := e.Closed
		if closed.IsZero() {
			closed = r.Time
		}
		f.Kind, f.Label, f.Value = factDriftResolved, string(e.Status), closed.Sub(e.Opened).Seconds()
	}
	return []fact{f}
}

// deliveryFacts are the facts of a notification record: the delivery, and
// the events its queue dropped.
func deliveryFacts(r history.Record) []fact {
	var d deliveryData
	if json.Unmarshal(r.Data, &d) != nil || d.Delivery.Notifier == "" {
		return nil
	}
	dv := d.Delivery
	out := []fact{{Kind: factDelivery, Target: r.Target, Time: r.Time, Label: dv.Notifier, Status: string(dv.Status)}}
	if dv.Status == notifications.StatusDropped {
		out = append(out, fact{Kind: factQueueDrop, Target: r.Target, Time: r.Time, Label: dv.Notifier, Status: dv.Reason, Value: float64(max(1, dv.Missed))})
	}
	return out
}
