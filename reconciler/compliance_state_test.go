package reconciler

import (
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
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
