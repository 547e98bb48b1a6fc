package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"github.com/trueup-dev/trueup/drift"
)

func TestSSAIgnoreRules(t *testing.T) {
	obj := func(apiVersion, kind, ns, name string, labels map[string]string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion(apiVersion)
		o.SetKind(kind)
		o.SetNamespace(ns)
		o.SetName(name)
		o.SetLabels(labels)
		return o
	}
	web := obj("apps/v1", "Deployment", "prod", "web", map[string]string{"tier": "front"})
	tests := []struct {
		name    string
		sel     drift.Selector
		obj     *unstructured.Unstructured
		want    bool
		wantErr bool
	}{
		{name: "empty selector matches all", obj: web, want: true},
		{name: "kind matches", sel: drift.Selector{Kind: "Deployment"}, obj: web, want: true},
		{name: "kind is exact, not a prefix", sel: drift.Selector{Kind: "Deploy"}, obj: web, want: false},
		{name: "name with regexp characters is literal", sel: drift.Selector{Name: "w.b"}, obj: web, want: false},
		{name: "group and namespace", sel: drift.Selector{Group: "apps", Namespace: "prod"}, obj: web, want: true},
		{name: "labels", sel: drift.Selector{Labels: map[string]string{"tier": "front"}}, obj: web, want: true},
		{name: "labels differ", sel: drift.Selector{Labels: map[string]string{"tier": "back"}}, obj: web, want: false},
		{name: "invalid label", sel: drift.Selector{Labels: map[string]string{"bad key!": "x"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := ssaIgnoreRules([]drift.IgnoreRule{{Paths: []string{"/spec/replicas"}, Selector: tt.sel}})
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sr, err := jsondiff.NewSelectorRegex(rules[0].Selector)
			if err != nil {
				t.Fatal(err)
			}
			if got := sr.MatchUnstructured(tt.obj); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := ssaIgnoreRules([]drift.IgnoreRule{{}}); err == nil {
		t.Error("a rule without paths was accepted")
	}
}
