package notifications

import (
	"slices"
	"strings"
	"testing"
)

func TestRoute(t *testing.T) {
	router := Router{
		Rules: []Rule{
			{Kinds: []Kind{KindDriftOpened, KindDriftResolved}, MinSeverity: SeverityCritical, Notifiers: []string{"pager"}},
			{Targets: []string{"*-prod"}, MinSeverity: SeverityWarning, Notifiers: []string{"oncall", "audit"}},
			{Labels: map[string]string{"team": "payments"}, Notifiers: []string{"payments", "oncall"}},
			{Kinds: []Kind{KindApplySucceeded}, Targets: []string{"web-*"}, Notifiers: []string{"deploys"}},
		},
		TargetNotifiers: map[string][]string{"db-staging": {"db-team"}, "web-prod": {"web-team", "oncall"}},
		Default:         []string{"log"},
	}
	ev := func(kind Kind, sev Severity, target string, labels map[string]string) Event {
		return Event{Kind: kind, Severity: sev, Target: target, TargetLabels: labels}
	}
	tests := []struct {
		name string
		ev   Event
		want []string
	}{
		{"critical drift in prod: rules in order, then the target's own, deduplicated",
			ev(KindDriftOpened, SeverityCritical, "web-prod", nil), []string{"pager", "oncall", "audit", "web-team"}},
		{"warning drift in prod skips the critical-only rule",
			ev(KindDriftOpened, SeverityWarning, "web-prod", nil), []string{"oncall", "audit", "web-team"}},
		{"labels must all match",
			ev(KindSourceFailed, SeverityInfo, "pay-staging", map[string]string{"team": "payments", "tier": "1"}), []string{"payments", "oncall"}},
		{"a wrong label value does not match",
			ev(KindSourceFailed, SeverityWarning, "pay-staging", map[string]string{"team": "web"}), []string{"log"}},
		{"apply.succeeded is info: only where a rule asks for it",
			ev(KindApplySucceeded, SeverityInfo, "web-prod", nil), []string{"deploys"}},
		{"info apply elsewhere goes nowhere (quiet by default)",
			ev(KindApplySucceeded, SeverityInfo, "db-staging", nil), nil},
		{"target's own notifiers get warning and above",
			ev(KindPruneBlocked, SeverityWarning, "db-staging", nil), []string{"db-team"}},
		{"target's own notifiers do not get info",
			ev(KindDriftResolved, SeverityInfo, "db-staging", nil), nil},
		{"default catches warning+ that nothing else routed",
			ev(KindComplianceViolation, SeverityWarning, "lab", nil), []string{"log"}},
		{"the test kind is not routed by the defaults",
			ev(KindTest, SeverityWarning, "lab", nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := router.Route(tt.ev); !slices.Equal(got, tt.want) {
				t.Errorf("Route = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRouteTargetRuleOverride(t *testing.T) {
	r := Router{
		TargetNotifiers: map[string][]string{"web": {"team"}},
		TargetRule:      &Rule{Kinds: []Kind{KindApplySucceeded}, Notifiers: []string{"ignored"}},
	}
	if got := r.Route(Event{Kind: KindApplySucceeded, Target: "web"}); !slices.Equal(got, []string{"team"}) {
		t.Errorf("Route = %q", got)
	}
	if got := r.Route(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "web"}); got != nil {
		t.Errorf("Route = %q, want nothing", got)
	}
}

func TestRouterValidate(t *testing.T) {
	known := []string{"oncall", "log"}
	tests := []struct {
		name   string
		router Router
		want   []string
	}{
		{"valid", Router{Rules: []Rule{{Kinds: []Kind{KindDriftOpened}, Targets: []string{"web-*"}, Notifiers: []string{"oncall"}}}, Default: []string{"log"}}, nil},
		{"bad kind", Router{Rules: []Rule{{Kinds: []Kind{"drift.exploded"}, Notifiers: []string{"oncall"}}}}, []string{`rules[0]: kinds: unknown event kind "drift.exploded"`}},
		{"bad glob", Router{Rules: []Rule{{Targets: []string{"web-["}, Notifiers: []string{"oncall"}}}}, []string{`rules[0]: targets: "web-["`}},
		{"no notifiers", Router{Rules: []Rule{{}}}, []string{"rules[0]: notifiers: at least one"}},
		{"unknown notifiers", Router{
			Rules:           []Rule{{Notifiers: []string{"oncall"}}, {Notifiers: []string{"pager"}}},
			TargetNotifiers: map[string][]string{"web": {"team"}},
			Default:         []string{"stdout"},
		}, []string{`rules[1]: notifiers: unknown notifier "pager"`, `target web: unknown notifier "team"`, `default: unknown notifier "stdout"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.router.Validate(known)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
