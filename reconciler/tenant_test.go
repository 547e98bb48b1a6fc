package reconciler

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// prepared builds an object as Prepare leaves it: namespace set for a
// namespaced kind, none for a cluster-scoped one.
func prepared(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	o.SetNamespace(namespace)
	o.SetName(name)
	return o
}

func TestCheckTenant(t *testing.T) {
	teamA := config.Tenant{
		Name:         "team-a",
		Namespaces:   []string{"a-*"},
		ClusterKinds: []string{"ClusterRole.rbac.authorization.k8s.io", "Widget"},
		DeniedKinds:  []string{"Secret", "NetworkPolicy.networking.k8s.io"},
	}
	withNS := teamA
	withNS.CreateNamespaces = true
	tests := []struct {
		name   string
		tenant config.Tenant
		obj    *unstructured.Unstructured
		want   string // the rule; "" when allowed
	}{
		{"namespaced in an allowed namespace", teamA, prepared("v1", "ConfigMap", "a-web", "cm"), ""},
		{"namespaced in another tenant's namespace", teamA, prepared("v1", "ConfigMap", "b-web", "cm"),
			"namespace b-web does not match tenants[1].namespaces (a-*)"},
		{"cluster-scoped kind not allowed", teamA, prepared("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "admin"),
			"ClusterRoleBinding.rbac.authorization.k8s.io is cluster-scoped and not in tenants[1].clusterKinds"},
		{"cluster-scoped kind allowed with its group", teamA, prepared("rbac.authorization.k8s.io/v1", "ClusterRole", "", "view-a"), ""},
		{"allowed group does not allow another group's kind", teamA, prepared("evil.example.com/v1", "ClusterRole", "", "x"),
			"ClusterRole.evil.example.com is cluster-scoped and not in tenants[1].clusterKinds"},
		{"a bare kind allows it in any group", teamA, prepared("example.com/v1", "Widget", "", "w"), ""},
		{"denied kind in an allowed namespace", teamA, prepared("v1", "Secret", "a-web", "s"),
			"Secret is in tenants[1].deniedKinds"},
		{"denied kind with group", teamA, prepared("networking.k8s.io/v1", "NetworkPolicy", "a-web", "np"),
			"NetworkPolicy.networking.k8s.io is in tenants[1].deniedKinds"},
		{"namespace without createNamespaces", teamA, prepared("v1", "Namespace", "", "a-new"),
			"Namespace a-new: tenants[1].createNamespaces is false"},
		{"namespace outside the globs", withNS, prepared("v1", "Namespace", "", "kube-system"),
			"Namespace kube-system does not match tenants[1].namespaces (a-*)"},
		{"namespace it may create", withNS, prepared("v1", "Namespace", "", "a-new"), ""},
		{"a namespace-like kind of another group is cluster-scoped", withNS, prepared("example.com/v1", "Namespace", "", "a-x"),
			"Namespace.example.com is cluster-scoped and not in tenants[1].clusterKinds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkTenant(&tt.tenant, 1, []*unstructured.Unstructured{tt.obj}, []string{"f.yaml"})
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("want allowed, got %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Rule != tt.want || got[0].Fix == "" || got[0].Origin != "f.yaml" {
				t.Fatalf("want rule %q, got %+v", tt.want, got)
			}
		})
	}
}

func TestTenantErrorNamesEachObject(t *testing.T) {
	tn := config.Tenant{Name: "team-a", Namespaces: []string{"a-*"}}
	objs := []*unstructured.Unstructured{
		prepared("v1", "ConfigMap", "a-web", "ok"),
		prepared("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "admin"),
		prepared("v1", "ConfigMap", "b-web", "steal"),
	}
	err := &TenantError{Target: "a-web", Tenant: tn.Name, Violations: checkTenant(&tn, 0, objs, []string{"cm.yaml", "rbac.yaml", "b.yaml"})}
	msg := err.Error()
	for _, w := range []string{
		`target "a-web": tenant team-a: 2 object(s) outside the tenant's boundaries; nothing of the target is applied or pruned`,
		"ClusterRoleBinding.rbac.authorization.k8s.io//admin (from rbac.yaml): tenant team-a: ClusterRoleBinding.rbac.authorization.k8s.io is cluster-scoped and not in tenants[0].clusterKinds; remove the object from Git, or add ClusterRoleBinding.rbac.authorization.k8s.io to the tenant's clusterKinds",
		"ConfigMap/b-web/steal (from b.yaml): tenant team-a: namespace b-web does not match tenants[0].namespaces (a-*)",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "ConfigMap/a-web/ok") {
		t.Errorf("an allowed object is listed:\n%s", msg)
	}
}
