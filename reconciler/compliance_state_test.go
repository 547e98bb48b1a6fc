package reconciler

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/policy"
)

func TestComplianceChanges(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	web := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	violation := policy.Finding{Policy: "require-resource-limits", Object: web, Message: "no limits", Severity: policy.SeverityWarning, Action: policy.ActionWarn}
	exc := &policy.Exception{Name: "web-limits", Policy: "require-resource-limits", Approver: "alice@example.com", Expires: t0.Add(time.Hour)}
	exempt := violation
	exempt.Excepted, exempt.Note = exc, "exempt by web-limits until 04:00, approved by alice@example.com"
	expired := violation
	expired.ExpiredException, expired.Note = exc, "exception web-limits, approved by alice@example.com, expired"

	st := newTargetState()
	steps := []struct {
		name     string
		findings []policy.Finding
		want     []complianceKind
		types    []string
	}{
		{"a violation opens", []policy.Finding{violation}, []complianceKind{complianceOpened}, []string{history.TypeComplianceViolation}},
		{"unchanged says nothing", []policy.Finding{violation}, nil, nil},
		{"an exception resolves it and is recorded", []policy.Finding{exempt}, []complianceKind{complianceResolved, complianceExempt},
			[]string{history.TypeComplianceResolved, history.TypeComplianceExempt}},
		{"still exempt says nothing", []policy.Finding{exempt}, nil, nil},
		{"the exception expires: a violation again", []policy.Finding{expired}, []complianceKind{complianceOpened}, []string{history.TypeComplianceViolation}},
		{"fixed in Git: resolved", nil, []complianceKind{complianceResolved}, []string{history.TypeComplianceResolved}},
		{"nothing left says nothing", nil, nil, nil},
	}
	for i, step := range steps {
		changes := st.complianceChanges(step.findings, t0.Add(time.Duration(i)*time.Minute))
		var kinds []complianceKind
		var types []string
		for _, c := range changes {
			kinds = append(kinds, c.Kind)
			types = append(types, complianceRecord("shop", "abc", c).Type)
		}
		if len(kinds) != len(step.want) {
			t.Fatalf("%s: changes %v, want %v", step.name, kinds, step.want)
		}
		for j := range kinds {
			if kinds[j] != step.want[j] || types[j] != step.types[j] {
				t.Fatalf("%s: changes %v %v, want %v %v", step.name, kinds, types, step.want, step.types)
			}
		}
	}
	rec := complianceRecord("shop", "abc", complianceChange{Kind: complianceExempt, Finding: exempt})
	if rec.Actor != "alice@example.com" || rec.Object != web.String() {
		t.Errorf("exempt record = %+v, want the approver as actor", rec)
	}
}

// TestComplianceRestoredAfterRestart: the open findings come back from the
// history, so the same violation is not recorded or announced again.
func TestComplianceRestoredAfterRestart(t *testing.T) {
	ctx := context.Background()
	h, err := history.OpenSQLite(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	web := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	open := policy.Finding{Policy: "no-privileged-containers", Object: web, Message: "privileged", Severity: policy.SeverityCritical, Action: policy.ActionEnforce}
	gone := open
	gone.Policy = "require-resource-limits"
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	var recs []history.Record
	for _, c := range []complianceChange{{Kind: complianceOpened, Finding: open}, {Kind: complianceOpened, Finding: gone}, {Kind: complianceResolved, Finding: gone, How: "fixed"}} {
		rec := complianceRecord("shop", "abc", c)
		rec.Time = now
		recs = append(recs, rec)
	}
	if _, err := h.Append(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	r, err := New(&config.Config{}, nil, nil, WithHistory(h))
	if err != nil {
		t.Fatal(err)
	}
	st := newTargetState()
	r.restoreCompliance(ctx, "shop", st)
	if changes := st.complianceChanges([]policy.Finding{open}, now.Add(time.Hour)); len(changes) != 0 {
		t.Fatalf("after a restart the open violation changed again: %+v", changes)
	}
	if changes := st.complianceChanges(nil, now.Add(2*time.Hour)); len(changes) != 1 || changes[0].Kind != complianceResolved || !changes[0].Since.Equal(now) {
		t.Fatalf("resolving after a restart = %+v, want one resolution since %s", changes, now)
	}
}
