package notifications

import (
	"errors"
	"fmt"
	"path"
	"slices"
)

// Rule sends matching events to notifiers. Every non-empty criterion must
// match.
type Rule struct {
	// Kinds the rule matches; empty matches every kind.
	Kinds []Kind `json:"kinds,omitempty"`
	// MinSeverity is the lowest severity the rule matches (zero: info, all).
	MinSeverity Severity `json:"minSeverity,omitempty"`
	// Targets are path.Match globs on the target name; empty matches all.
	Targets []string `json:"targets,omitempty"`
	// Labels must all be present on the target with these exact values.
	Labels    map[string]string `json:"labels,omitempty"`
	Notifiers []string          `json:"notifiers"`
}

// Matches reports whether ev satisfies the rule.
func (r Rule) Matches(ev Event) bool {
	if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, ev.Kind) {
		return false
	}
	if ev.Severity < r.MinSeverity {
		return false
	}
	if len(r.Targets) > 0 && !slices.ContainsFunc(r.Targets, func(glob string) bool {
		ok, err := path.Match(glob, ev.Target)
		return err == nil && ok
	}) {
		return false
	}
	for k, v := range r.Labels {
		if got, ok := ev.TargetLabels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// DefaultTargetRule is what a target's own notifier list receives: every
// drift, apply, prune, source and compliance event of warning severity or
// above. apply.succeeded is info, so it goes only where a rule asks for info.
func DefaultTargetRule() Rule {
	return Rule{
		Kinds: []Kind{
			KindDriftOpened, KindDriftUpdated, KindDriftResolved,
			KindApplySucceeded, KindApplyFailed, KindPruneBlocked, KindSourceFailed,
			KindComplianceViolation, KindComplianceResolved, KindFreezeHeld,
		},
		MinSeverity: SeverityWarning,
	}
}

// Router decides which notifiers receive an event. It is a pure value: the
// config builds it once and Route reads it.
type Router struct {
	// Rules are evaluated in order; every matching rule contributes its notifiers.
	Rules []Rule `json:"rules,omitempty"`
	// TargetNotifiers maps a target name to the notifiers listed on the
	// target itself; they receive what TargetRule matches.
	TargetNotifiers map[string][]string `json:"targetNotifiers,omitempty"`
	// TargetRule filters events for TargetNotifiers; nil means DefaultTargetRule.
	// Its Targets, Labels and Notifiers are ignored.
	TargetRule *Rule `json:"targetRule,omitempty"`
	// Default receives an event that no rule and no target list routed
	// but that DefaultTargetRule matches (the log notifier when nothing
	// else is configured).
	Default []string `json:"default,omitempty"`
}

// Route returns the notifiers for ev, deduplicated, in rule order, then the
// target's own notifiers, then Default when nothing else matched.
func (r Router) Route(ev Event) []string {
	var out []string
	for _, rule := range r.Rules {
		if rule.Matches(ev) {
			out = appendNew(out, rule.Notifiers)
		}
	}
	if own := r.TargetNotifiers[ev.Target]; len(own) > 0 && r.targetRule().Matches(ev) {
		out = appendNew(out, own)
	}
	if len(out) == 0 && DefaultTargetRule().Matches(ev) {
		out = appendNew(out, r.Default)
	}
	return out
}

func (r Router) targetRule() Rule {
	rule := DefaultTargetRule()
	if r.TargetRule != nil {
		rule = Rule{Kinds: r.TargetRule.Kinds, MinSeverity: r.TargetRule.MinSeverity}
	}
	return rule
}

// Notifiers returns every notifier name the router can route to.
func (r Router) Notifiers() []string {
	var out []string
	for _, rule := range r.Rules {
		out = appendNew(out, rule.Notifiers)
	}
	for _, names := range r.TargetNotifiers {
		out = appendNew(out, names)
	}
	out = appendNew(out, r.Default)
	slices.Sort(out)
	return out
}

// appendNew appends the names that out does not hold yet, in order.
func appendNew(out, names []string) []string {
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Validate checks kinds, severities, globs and that every notifier named is
// in known. Errors name the rule by index.
func (r Router) Validate(known []string) error {
	var errs []error
	for i, rule := range r.Rules {
		if err := rule.validate(known); err != nil {
			errs = append(errs, fmt.Errorf("rules[%d]: %w", i, err))
		}
	}
	for target, names := range r.TargetNotifiers {
		for _, n := range names {
			if !slices.Contains(known, n) {
				errs = append(errs, fmt.Errorf("target %s: unknown notifier %q", target, n))
			}
		}
	}
	for _, n := range r.Default {
		if !slices.Contains(known, n) {
			errs = append(errs, fmt.Errorf("default: unknown notifier %q", n))
		}
	}
	return errors.Join(errs...)
}

func (r Rule) validate(known []string) error {
	var errs []error
	for _, k := range r.Kinds {
		if !k.Valid() {
			errs = append(errs, fmt.Errorf("kinds: unknown event kind %q", k))
		}
	}
	if r.MinSeverity < SeverityInfo || r.MinSeverity > SeverityCritical {
		errs = append(errs, fmt.Errorf("minSeverity: invalid severity %d", int(r.MinSeverity)))
	}
	for _, glob := range r.Targets {
		if _, err := path.Match(glob, ""); err != nil {
			errs = append(errs, fmt.Errorf("targets: %q: %w", glob, err))
		}
	}
	if len(r.Notifiers) == 0 {
		errs = append(errs, errors.New("notifiers: at least one notifier is required"))
	}
	for _, n := range r.Notifiers {
		if !slices.Contains(known, n) {
			errs = append(errs, fmt.Errorf("notifiers: unknown notifier %q", n))
		}
	}
	return errors.Join(errs...)
}
