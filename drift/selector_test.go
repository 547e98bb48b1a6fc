package drift

import (
	"slices"
	"testing"
)

func TestSelectorMatches(t *testing.T) {
	deploy := ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	labels := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		name   string
		sel    Selector
		ref    ObjectRef
		labels map[string]string
		want   bool
	}{
		{name: "empty selector matches anything", sel: Selector{}, ref: deploy, want: true},
		{name: "kind", sel: Selector{Kind: "Deployment"}, ref: deploy, want: true},
		{name: "kind is case-sensitive", sel: Selector{Kind: "deployment"}, ref: deploy, want: false},
		{name: "other kind", sel: Selector{Kind: "StatefulSet"}, ref: deploy, want: false},
		{name: "group and kind", sel: Selector{Group: "apps", Kind: "Deployment"}, ref: deploy, want: true},
		{name: "wrong group", sel: Selector{Group: "extensions", Kind: "Deployment"}, ref: deploy, want: false},
		{name: "name and namespace exact", sel: Selector{Name: "web", Namespace: "shop"}, ref: deploy, want: true},
		{name: "name is not a prefix", sel: Selector{Name: "we"}, ref: deploy, want: false},
		{name: "other namespace", sel: Selector{Namespace: "prod"}, ref: deploy, want: false},
		{name: "cluster-scoped object and namespace selector", sel: Selector{Namespace: "shop"},
			ref: ObjectRef{Version: "v1", Kind: "Namespace", Name: "shop"}, want: false},
		{name: "labels subset", sel: Selector{Labels: map[string]string{"app": "web"}}, ref: deploy, labels: labels, want: true},
		{name: "label value differs", sel: Selector{Labels: map[string]string{"app": "api"}}, ref: deploy, labels: labels, want: false},
		{name: "label missing", sel: Selector{Labels: map[string]string{"team": "a"}}, ref: deploy, labels: labels, want: false},
		{name: "empty label value must be present", sel: Selector{Labels: map[string]string{"team": ""}}, ref: deploy, labels: labels, want: false},
		{name: "labels on an object without labels", sel: Selector{Labels: map[string]string{"app": "web"}}, ref: deploy, want: false},
		{name: "everything", sel: Selector{Group: "apps", Kind: "Deployment", Name: "web", Namespace: "shop",
			Labels: map[string]string{"tier": "front"}}, ref: deploy, labels: labels, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Matches(tt.ref, tt.labels); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIgnoredPaths(t *testing.T) {
	deploy := ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	rules := []IgnoreRule{
		{Paths: []string{"/spec/replicas"}, Selector: Selector{Kind: "Deployment"}},
		{Paths: []string{"/metadata/annotations/x", "/spec/replicas"}, Selector: Selector{Labels: map[string]string{"app": "web"}}},
		{Paths: []string{"/data/generated"}, Selector: Selector{Kind: "ConfigMap"}},
	}
	tests := []struct {
		name   string
		ref    ObjectRef
		labels map[string]string
		want   []string
	}{
		{name: "two rules, deduplicated and sorted", ref: deploy, labels: map[string]string{"app": "web"},
			want: []string{"/metadata/annotations/x", "/spec/replicas"}},
		{name: "one rule", ref: deploy, want: []string{"/spec/replicas"}},
		{name: "none", ref: ObjectRef{Version: "v1", Kind: "Service", Name: "web"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IgnoredPaths(rules, tt.ref, tt.labels)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("IgnoredPaths = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIgnoreRuleValidate(t *testing.T) {
	tests := []struct {
		name    string
		rule    IgnoreRule
		wantErr string
	}{
		{name: "good", rule: IgnoreRule{Paths: []string{"/spec/replicas", "/metadata/annotations/a~1b"}}},
		{name: "no paths", rule: IgnoreRule{}, wantErr: "paths: at least one path is required"},
		{name: "relative path", rule: IgnoreRule{Paths: []string{"/ok", "spec/replicas"}},
			wantErr: `paths[1]: json pointer "spec/replicas": must be empty or start with /`},
		{name: "whole object", rule: IgnoreRule{Paths: []string{""}},
			wantErr: "paths[0]: the empty pointer names the whole object, not a field"},
		{name: "bad escape", rule: IgnoreRule{Paths: []string{"/a~2"}},
			wantErr: `paths[0]: json pointer "/a~2": ~ must be followed by 0 or 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
