package drift

import (
	"errors"
	"fmt"
	"slices"
)

// Selector picks objects by identity and labels. An empty field matches any
// value; every non-empty field must match. Group, Kind, Name and Namespace
// match exactly and case-sensitively, as Kubernetes compares them (the core
// group is "", so a Selector cannot single it out; pair Kind with it
// instead). Labels match when the object carries every listed label with
// the listed value.
type Selector struct {
	Group     string            `json:"group,omitempty"`
	Kind      string            `json:"kind,omitempty"`
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Matches reports whether the object with ref and labels is selected.
func (s Selector) Matches(ref ObjectRef, labels map[string]string) bool {
	if !matchField(s.Group, ref.Group) || !matchField(s.Kind, ref.Kind) ||
		!matchField(s.Name, ref.Name) || !matchField(s.Namespace, ref.Namespace) {
		return false
	}
	for k, v := range s.Labels {
		got, ok := labels[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

func matchField(want, got string) bool {
	return want == "" || want == got
}

// IgnoreRule names JSON-pointer paths that are neither drift nor reverted on
// the objects its Selector matches. A path covers the field it names and
// everything under it.
type IgnoreRule struct {
	Paths    []string `json:"paths"`
	Selector Selector `json:"selector,omitzero"`
}

// Validate checks that the rule names at least one path and that every path
// is a non-empty RFC 6901 JSON pointer. The error names the offending index
// (paths[1]: ...).
func (r IgnoreRule) Validate() error {
	if len(r.Paths) == 0 {
		return errors.New("paths: at least one path is required")
	}
	var errs []error
	for i, p := range r.Paths {
		if p == "" {
			errs = append(errs, fmt.Errorf("paths[%d]: the empty pointer names the whole object, not a field", i))
			continue
		}
		if _, err := SplitPointer(p); err != nil {
			errs = append(errs, fmt.Errorf("paths[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// IgnoredPaths returns the paths of every rule whose selector matches the
// object, sorted and without duplicates. It returns nil when no rule
// matches.
func IgnoredPaths(rules []IgnoreRule, ref ObjectRef, labels map[string]string) []string {
	var out []string
	for _, r := range rules {
		if r.Selector.Matches(ref, labels) {
			out = append(out, r.Paths...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}
