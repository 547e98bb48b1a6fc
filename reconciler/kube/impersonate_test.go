package kube

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// grantServiceAccount creates ServiceAccount name in f.ns with a Role
// allowing verbs on ConfigMaps there, as the admin.
func (f *fixture) grantServiceAccount(name, verbs string) {
	f.t.Helper()
	f.env.GrantServiceAccount(f.t, f.ns, name, `[{apiGroups: [""], resources: [configmaps], verbs: [`+verbs+`]}]`)
}

// Every request of an impersonating cluster goes out as the ServiceAccount
// (dry-run, apply, health, prune reads and deletions), while the inventory
// is written with trueup's own identity; a refusal names the ServiceAccount.
func TestImpersonatedApplyAndPrune(t *testing.T) {
	f := newFixture(t)
	f.grantServiceAccount("deployer", "get, list, watch, create, update, patch") // no delete
	sa, err := f.cluster.Impersonate(f.ns, "deployer")
	if err != nil {
		t.Fatal(err)
	}
	if got := sa.ActingAs(); got != f.ns+"/deployer" {
		t.Fatalf("ActingAs %q", got)
	}
	if _, err := sa.Impersonate(f.ns, "other"); err == nil {
		t.Fatal("impersonating twice: no error")
	}
	target := f.ns
	opts := testOptions()
	opts.Wait = true // health polling as the ServiceAccount

	// 1. Apply as the ServiceAccount; the inventory in trueup-system, where
	// it may do nothing, is written with trueup's identity.
	objs := parse(t, configMaps("1", "a", "b"))
	if err := sa.Prepare(objs, target, f.ns); err != nil {
		t.Fatal(err)
	}
	if res, err := sa.Apply(t.Context(), target, objs, opts); err != nil {
		t.Fatalf("apply as the ServiceAccount: %v\n%+v", err, res)
	}
	if inv := f.inventory(target); len(inv.Objects) != 2 {
		t.Fatalf("inventory %+v, want a and b", inv)
	}

	// 2. A prune as the ServiceAccount, which may not delete: refused by
	// the API server, named, and b stays in the cluster and the inventory.
	objs = parse(t, configMaps("1", "a"))
	if err := sa.Prepare(objs, target, f.ns); err != nil {
		t.Fatal(err)
	}
	res, err := sa.Apply(t.Context(), target, objs, opts)
	var fe *ForbiddenError
	if !errors.As(err, &fe) || !apierrors.IsForbidden(err) {
		t.Fatalf("prune without delete: want a ForbiddenError, got %v", err)
	}
	for _, want := range []string{
		"ConfigMap/" + f.ns + "/b: delete: as ServiceAccount " + f.ns + "/deployer: ",
		`User "system:serviceaccount:` + f.ns + `:deployer" cannot delete resource "configmaps"`,
		"grant ServiceAccount " + f.ns + "/deployer that verb on that resource",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if f.configMap("b") == nil {
		t.Error("b was deleted")
	}
	if inv := f.inventory(target); len(inv.Objects) != 2 || !res.InventoryWritten {
		t.Errorf("inventory %+v (written %v), want b kept", inv, res.InventoryWritten)
	}

	// 3. Outside its namespace the dry-run is refused: nothing applied.
	other := f.env.Namespace(t)
	objs = parse(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: "+other+"}\n---\n"+configMaps("1", "a"))
	if err := sa.Prepare(objs, target, f.ns); err != nil {
		t.Fatal(err)
	}
	_, err = sa.Apply(t.Context(), target, objs, opts)
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "ConfigMap/"+other+"/c: dry-run: as ServiceAccount "+f.ns+"/deployer") {
		t.Fatalf("apply outside its namespace: %v", err)
	}
	if f.get("v1", "ConfigMap", other, "c") != nil {
		t.Error("c was created outside the ServiceAccount's namespace")
	}
}

// The least privilege the README documents for trueup's own identity is
// enough: impersonate on the tenant's ServiceAccount (a RoleBinding in its
// namespace) and ConfigMaps in the inventory namespace.
func TestLeastPrivilegeDaemonImpersonates(t *testing.T) {
	f := newFixture(t)
	f.grantServiceAccount("deployer", "get, list, watch, create, update, patch, delete")
	rbac := strings.NewReplacer("NS", f.ns).Replace(`apiVersion: v1
kind: ServiceAccount
metadata: {name: trueup, namespace: NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: trueup-impersonate-test}
rules: [{apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: trueup-impersonate, namespace: NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: trueup-impersonate-test}
subjects: [{kind: ServiceAccount, name: trueup, namespace: NS}]
---
apiVersion: v1
kind: Namespace
metadata: {name: trueup-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: trueup-NS, namespace: trueup-system}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create, update, patch, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: trueup-NS, namespace: trueup-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: trueup-NS}
subjects: [{kind: ServiceAccount, name: trueup, namespace: NS}]
`)
	f.env.Apply(t, rbac)
	tok, err := f.env.Clientset.CoreV1().ServiceAccounts(f.ns).CreateToken(t.Context(), "trueup", &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(f.env.Config)
	cfg.BearerToken = tok.Status.Token
	daemon, err := NewCluster("least", cfg)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := daemon.Impersonate(f.ns, "deployer")
	if err != nil {
		t.Fatal(err)
	}
	objs := parse(t, configMaps("1", "a"))
	if err := sa.Prepare(objs, f.ns, f.ns); err != nil {
		t.Fatal(err)
	}
	if res, err := sa.Apply(t.Context(), f.ns, objs, testOptions()); err != nil {
		t.Fatalf("apply: %v\n%+v", err, res)
	}
	if f.configMap("a") == nil || len(f.inventory(f.ns).Objects) != 1 {
		t.Fatal("not applied, or no inventory")
	}
	// Without the RoleBinding trueup may not act as the ServiceAccount.
	kubectl := exec.CommandContext(t.Context(), "kubectl", "--kubeconfig", f.env.Kubeconfig, "-n", f.ns, "delete", "rolebinding", "trueup-impersonate")
	if out, err := kubectl.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	_, err = sa.Apply(t.Context(), f.ns, objs, testOptions())
	want := "grant trueup's own identity the verb impersonate on serviceaccounts in namespace " + f.ns
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `cannot impersonate resource "serviceaccounts"`) || !strings.Contains(err.Error(), want) {
		t.Fatalf("apply without impersonate: %v", err)
	}
}
