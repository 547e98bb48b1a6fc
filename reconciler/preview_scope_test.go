package reconciler

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

func TestPreviewScopeKeepsWhatTheTargetManages(t *testing.T) {
	obj := func(apiVersion, kind, ns, name string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion(apiVersion)
		o.SetKind(kind)
		o.SetNamespace(ns)
		o.SetName(name)
		return o
	}
	inv := kube.Inventory{Objects: []drift.ObjectRef{
		{Version: "v1", Kind: "Namespace", Name: "web"},
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "web-reader"},
	}}
	tests := []struct {
		name   string
		target config.Target
		obj    *unstructured.Unstructured
		keep   bool
	}{
		{"an inventory object", config.Target{Name: "web"}, obj("apps/v1", "Deployment", "web", "web"), true},
		{"a new object in an inventory namespace", config.Target{Name: "web"}, obj("v1", "ConfigMap", "web", "new"), true},
		{"a new object in the target's namespace", config.Target{Name: "web", Namespace: "web-extra"}, obj("v1", "ConfigMap", "web-extra", "new"), true},
		{"the namespace the target manages", config.Target{Name: "web"}, obj("v1", "Namespace", "", "web"), true},
		{"a cluster-scoped inventory object", config.Target{Name: "web"}, obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "web-reader"), true},
		{"another namespace", config.Target{Name: "web"}, obj("v1", "Secret", "kube-system", "bootstrap"), false},
		{"another namespace object", config.Target{Name: "web"}, obj("v1", "Namespace", "", "kube-system"), false},
		{"a cluster-scoped object the target never applied", config.Target{Name: "web"}, obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "admin"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, origins, refused := previewScope(&tt.target, inv, []*unstructured.Unstructured{tt.obj}, []string{"f.yaml"})
			if got := len(keep) == 1; got != tt.keep {
				t.Fatalf("kept %v, want %v (refused %+v)", got, tt.keep, refused)
			}
			if tt.keep {
				if origins[0] != "f.yaml" {
					t.Errorf("origin %q", origins[0])
				}
				return
			}
			if len(refused) != 1 || refused[0].Status != drift.Unknown || !strings.HasPrefix(refused[0].Error, "not previewed: ") || refused[0].Origin != "f.yaml" {
				t.Errorf("refused %+v", refused)
			}
		})
	}
}
