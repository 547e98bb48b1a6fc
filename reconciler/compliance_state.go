package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/policy"
)

// complianceKind says how a finding changed between two reconciles.
type complianceKind int

const (
	complianceOpened   complianceKind = iota + 1 // a violation appeared (or its exception expired)
	complianceResolved                           // a violation went away, or an exception now covers it
	complianceExempt                             // a finding appeared that an exception covers
)

// complianceChange is one finding's change; Since is when its violation
// opened.
type complianceChange struct {
	Kind    complianceKind
	Finding policy.Finding
	Since   time.Time
	// How says why a violation resolved: "fixed" or "exempt".
	How string
}

// openFinding is a finding a target had at its last reconcile.
type openFinding struct {
	finding policy.Finding
	since   time.Time
}

// complianceChanges compares the findings of a reconcile with the previous
// ones and remembers the new set. It is pure apart from that memory.
func (s *targetState) complianceChanges(findings []policy.Finding, now time.Time) []complianceChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.compliance
	next := make(map[string]openFinding, len(findings))
	var out []complianceChange
	for _, f := range findings {
		id := f.ID()
		old, had := prev[id]
		since := now
		if had {
			since = old.since
		}
		switch {
		case f.Exempt() && (!had || !old.finding.Exempt()):
			if had {
				out = append(out, complianceChange{Kind: complianceResolved, Finding: old.finding, Since: old.since, How: "exempt"})
			}
			out = append(out, complianceChange{Kind: complianceExempt, Finding: f, Since: now})
			since = now
		case !f.Exempt() && (!had || old.finding.Exempt()):
			out = append(out, complianceChange{Kind: complianceOpened, Finding: f, Since: now})
			since = now
		}
		next[id] = openFinding{finding: f, since: since}
	}
	for id, old := range prev {
		if _, still := next[id]; !still && !old.finding.Exempt() {
			out = append(out, complianceChange{Kind: complianceResolved, Finding: old.finding, Since: old.since, How: "fixed"})
		}
	}
	s.compliance = next
	return out
}

// complianceRecord is the history record of a change.
func complianceRecord(target, revision string, c complianceChange) history.Record {
	f := c.Finding
	rec := history.Record{Target: target, Object: f.Object.String(), Revision: revision, Actor: "trueup", Data: mustJSON(f)}
	switch c.Kind {
	case complianceOpened:
		rec.Type, rec.Outcome = history.TypeComplianceViolation, string(f.Action)
		rec.Message = fmt.Sprintf("policy %s: %s", f.Policy, FindingText(f))
	case complianceResolved:
		rec.Type, rec.Outcome = history.TypeComplianceResolved, c.How
		rec.Message = fmt.Sprintf("policy %s no longer violated (%s)", f.Policy, c.How)
	default:
		rec.Type, rec.Outcome = history.TypeComplianceExempt, "exempt"
		rec.Message = fmt.Sprintf("policy %s: exempt: %s", f.Policy, f.Note)
		if f.Excepted != nil {
			rec.Actor = f.Excepted.Approver
		}
	}
	return rec
}

// FindingText is a finding in a sentence: its message (or evaluation
// error) and the note about its exception.
func FindingText(f policy.Finding) string {
	text := f.Message
	if f.Err != "" {
		text = "evaluation error: " + f.Err
	}
	if f.Note != "" {
		text += " (" + f.Note + ")"
	}
	return text
}

// complianceEvent is the notification of an opened or resolved violation;
// exemptions are recorded, not announced.
func complianceEvent(ec eventContext, out *Outcome, c complianceChange) (notifications.Event, bool) {
	if c.Kind == complianceExempt {
		return notifications.Event{}, false
	}
	f := c.Finding
	ev := ec.event(out)
	ev.Kind, ev.Object, ev.Policy, ev.Since = notifications.KindComplianceViolation, f.Object.String(), f.Policy, c.Since
	ev.Episode = "compliance/" + out.Target + "/" + f.ID()
	ev.Message = FindingText(f)
	ev.Mode = string(f.Action)
	ev.Severity, _ = notifications.ParseSeverity(string(f.Severity))
	if c.Kind == complianceResolved {
		ev.Kind, ev.Resolution = notifications.KindComplianceResolved, c.How
	}
	return ev, true
}

// restoreCompliance reads a target's open compliance findings back from the
// history once, so a restarted daemon continues its episodes instead of
// recording and announcing them again. A history it cannot read leaves the
// memory empty: the findings are then recorded again, never lost.
func (r *Reconciler) restoreCompliance(ctx context.Context, target string, st *targetState) {
	st.mu.Lock()
	loaded := st.complianceLoaded
	st.complianceLoaded = true
	st.mu.Unlock()
	if loaded || r.rec.history == nil {
		return
	}
	open := map[string]openFinding{}
	f := history.Filter{Target: target, Limit: 1000,
		Types: []string{history.TypeComplianceViolation, history.TypeComplianceResolved, history.TypeComplianceExempt}}
	err := pages(ctx, r.rec.history, f, func(rec history.Record) error {
		var fd policy.Finding
		if err := json.Unmarshal(rec.Data, &fd); err != nil {
			return fmt.Errorf("record %d: not a finding: %w", rec.Seq, err)
		}
		if rec.Type == history.TypeComplianceResolved {
			delete(open, fd.ID())
			return nil
		}
		open[fd.ID()] = openFinding{finding: fd, since: rec.Time}
		return nil
	})
	if err != nil {
		r.log.Warn("compliance findings not restored", "target", target, "error", err.Error())
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.compliance == nil {
		st.compliance = open
	}
}
