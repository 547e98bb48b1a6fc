package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// tenantsSetup is two tenants on the shared control plane: A owns the
// namespaces <u>-a-*, B <u>-b-*; each target acts as a ServiceAccount
// "deployer" in its tenant's app namespace, allowed (by a Role) only what
// roleA and roleB grant there. Each tenant has its own repository.
type tenantsSetup struct {
	env              *kubeenv.Env
	cfg              string
	a, b             string // target names
	aNS, bNS         string // app namespaces
	repoA, repoB     *gitrepo.Repo
	clusterResources []string
}

func newTenantsSetup(t *testing.T, roleA, roleB string) *tenantsSetup {
	t.Helper()
	env := kubeenv.Shared(t)
	u := env.Namespace(t) // a unique prefix on the shared control plane
	s := &tenantsSetup{env: env, a: u + "-a", b: u + "-b", aNS: u + "-a-app", bNS: u + "-b-app"}
	dir := t.TempDir()
	s.repoA = gitrepo.Init(t, filepath.Join(dir, "a.git"))
	s.repoB = gitrepo.Init(t, filepath.Join(dir, "b.git"))

	for _, tn := range []struct{ ns, rules string }{{s.aNS, roleA}, {s.bNS, roleB}} {
		env.Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+tn.ns+"}\n")
		env.GrantServiceAccount(t, tn.ns, "deployer", tn.rules)
	}

	cfg := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %[1]s
sources:
  - {name: team-a, url: %[2]s}
  - {name: team-b, url: %[3]s}
clusters:
  - name: test
    kubeconfig: {path: %[4]s}
targets:
  - {name: %[5]s, source: team-a, path: app, cluster: test, namespace: %[7]s, wait: false, timeout: 30s}
  - {name: %[6]s, source: team-b, path: app, cluster: test, namespace: %[8]s, wait: false, timeout: 30s, prune: {enabled: true}}
tenancy: {mode: enforce}
tenants:
  - name: team-a
    targets: [%[5]s]
    namespaces: ["%[9]s-a-*"]
    sources: [{name: team-a}]
    serviceAccounts: [{cluster: test, namespace: %[7]s, name: deployer}]
  - name: team-b
    targets: [%[6]s]
    namespaces: ["%[9]s-b-*"]
    sources: [{name: team-b}]
    serviceAccounts: [{cluster: test, namespace: %[8]s, name: deployer}]
`, filepath.Join(dir, "data"), s.repoA.URL(), s.repoB.URL(), env.Kubeconfig, s.a, s.b, s.aNS, s.bNS, u)
	s.cfg = filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func commitApp(t *testing.T, repo *gitrepo.Repo, files map[string]string) {
	t.Helper()
	entries := map[string]gitrepo.Entry{}
	for p, c := range files {
		entries["app/"+p] = gitrepo.File(c)
	}
	repo.Commit(t, entries, gitrepo.CommitOptions{Message: "change"})
}

// managed lists every object labelled for target, cluster-wide, with the
// admin's identity, including its inventory.
func (s *tenantsSetup) managed(t *testing.T, target string) string {
	t.Helper()
	return strings.TrimSpace(kubectl(t, s.env, "get", "configmaps,services,namespaces,clusterrolebindings", "-A",
		"-l", "trueup.dev/target="+target, "-o", "name"))
}

// roleConfigMaps may change ConfigMaps and only read Services.
const roleConfigMaps = `[{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create, update, patch, delete]}, {apiGroups: [""], resources: [services], verbs: [get, list, watch]}]`

// TestTenantBoundaries is the acceptance of issue 15's Kubernetes part on
// a control plane with the RBAC authorizer.
func TestTenantBoundaries(t *testing.T) {
	s := newTenantsSetup(t, roleConfigMaps, roleConfigMaps)
	commitApp(t, s.repoB, map[string]string{"cm.yaml": configMapYAML("b-settings")})

	t.Run("objects outside the tenant are refused at plan, nothing of A is applied, B applies", func(t *testing.T) {
		commitApp(t, s.repoA, map[string]string{
			"cm.yaml":  configMapYAML("a-settings"),
			"crb.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: " + s.a + "-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: deployer, namespace: " + s.aNS + "}]\n",
			"b.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: steal, namespace: " + s.bNS + "}\n",
			"ns.yaml":  "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + s.aNS + "-new}\n",
		})
		stdout, stderr, code := trueup(t, "apply", s.a, "-c", s.cfg)
		if code != exitError {
			t.Fatalf("apply A: exit %d, want 2\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{
			"tenant team-a: 3 object(s) outside the tenant's boundaries; nothing of the target is applied or pruned",
			"ClusterRoleBinding.rbac.authorization.k8s.io//" + s.a + "-admin (from app/crb.yaml): tenant team-a: ClusterRoleBinding.rbac.authorization.k8s.io is cluster-scoped and not in tenants[0].clusterKinds; remove the object from Git",
			"ConfigMap/" + s.bNS + "/steal (from app/b.yaml): tenant team-a: namespace " + s.bNS + " does not match tenants[0].namespaces",
			"Namespace//" + s.aNS + "-new (from app/ns.yaml): tenant team-a: Namespace " + s.aNS + "-new: tenants[0].createNamespaces is false",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("apply A does not say %q:\n%s", want, stderr)
			}
		}
		if strings.Contains(stderr, "a-settings") {
			t.Errorf("an allowed object is reported:\n%s", stderr)
		}
		if got := s.managed(t, s.a); got != "" {
			t.Errorf("objects of A in the cluster:\n%s", got)
		}
		if stdout, stderr, code := trueup(t, "apply", s.b, "-c", s.cfg); code != exitOK {
			t.Fatalf("apply B: exit %d\n%s%s", code, stdout, stderr)
		}
		if got := kubectl(t, s.env, "-n", s.bNS, "get", "configmap", "b-settings", "-o", "jsonpath={.metadata.labels.trueup\\.dev/target}"); got != s.b {
			t.Errorf("B's ConfigMap labelled %q, want %q", got, s.b)
		}
		// B's inventory is trueup's bookkeeping, written with trueup's own
		// identity: B's ServiceAccount may not touch trueup-system.
		kubectl(t, s.env, "-n", "trueup-system", "get", "configmap", "trueup-inventory-"+s.b)
	})

	t.Run("the refusal is in the history with its stage", func(t *testing.T) {
		stdout, stderr, code := trueup(t, "history", "-o", "json", "--target", s.a, "-c", s.cfg)
		if code != exitOK {
			t.Fatalf("history: exit %d\n%s%s", code, stdout, stderr)
		}
		var recs []history.Record
		if err := json.Unmarshal([]byte(stdout), &recs); err != nil {
			t.Fatalf("history json: %v\n%s", err, stdout)
		}
		found := false
		for _, r := range recs {
			var d struct{ Stage, Error string }
			_ = json.Unmarshal(r.Data, &d)
			if r.Type == history.TypeManual && r.Outcome == "failed" && d.Stage == "tenant" &&
				strings.Contains(d.Error, "is cluster-scoped and not in tenants[0].clusterKinds") {
				found = true
			}
			if r.Type == history.TypeApply {
				t.Errorf("an apply record for A: %+v", r)
			}
		}
		if !found {
			t.Fatalf("no failed record at stage tenant naming the rule:\n%s", stdout)
		}
	})

	t.Run("a ServiceAccount too narrow: the API server's 403, nothing half-applied", func(t *testing.T) {
		commitApp(t, s.repoA, map[string]string{
			"cm.yaml":  configMapYAML("a-settings"),
			"svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: a-web}\nspec: {ports: [{port: 80}]}\n",
		})
		stdout, stderr, code := trueup(t, "apply", s.a, "-c", s.cfg)
		if code != exitError {
			t.Fatalf("apply A: exit %d, want 2\n%s%s", code, stdout, stderr)
		}
		all := stdout + stderr
		for _, want := range []string{
			"Service/" + s.aNS + "/a-web",
			"as ServiceAccount " + s.aNS + "/deployer",
			`User "system:serviceaccount:` + s.aNS + `:deployer" cannot patch resource "services" in API group "" in the namespace "` + s.aNS + `"`,
			"grant ServiceAccount " + s.aNS + "/deployer that verb on that resource",
			"ConfigMap/" + s.aNS + "/a-settings skipped (not applied: the resources stage failed its dry-run)",
			"; nothing was changed",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("apply A does not say %q:\n%s", want, all)
			}
		}
		if got := s.managed(t, s.a); got != "" {
			t.Errorf("objects of A in the cluster:\n%s", got)
		}
	})

	t.Run("a prune the ServiceAccount may not do: refused, kept, and the error says what was applied", func(t *testing.T) {
		narrow := strings.NewReplacer("NS", s.bNS).Replace(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: NS}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create, update, patch]}]
`)
		cmd := exec.CommandContext(t.Context(), "kubectl", "--kubeconfig", s.env.Kubeconfig, "apply", "-f", "-")
		cmd.Stdin = strings.NewReader(narrow)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl apply role: %v\n%s", err, out)
		}
		s.repoB.Commit(t, map[string]gitrepo.Entry{"app/two.yaml": gitrepo.File(configMapYAML("b-two"))}, gitrepo.CommitOptions{Message: "replace b-settings"})
		stdout, stderr, code := trueup(t, "apply", s.b, "-c", s.cfg)
		if code != exitError {
			t.Fatalf("apply B: exit %d, want 2\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{
			"ConfigMap/" + s.bNS + "/b-settings: delete: as ServiceAccount " + s.bNS + "/deployer: ",
			`cannot delete resource "configmaps" in API group "" in the namespace "` + s.bNS + `"`,
			"; changed before the failure: ConfigMap/" + s.bNS + "/b-two created",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("apply B does not say %q:\n%s", want, stderr)
			}
		}
		var objs []string
		for _, o := range strings.Split(s.managed(t, s.b), "\n") {
			if o != "configmap/trueup-inventory-"+s.b { // in trueup-system
				objs = append(objs, o)
			}
		}
		if got := strings.Join(objs, " "); got != "configmap/b-settings configmap/b-two" {
			t.Errorf("B's objects: %q, want b-settings kept and b-two", got)
		}
	})
}
