package main

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/trueup-dev/trueup/deploy"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
)

// installedUser is who trueup is once the manifests are applied.
const installedUser = "system:serviceaccount:trueup-system:trueup"

// renderBase renders deploy/kustomize/base with trueup's renderer.
func renderBase(t *testing.T) []byte {
	t.Helper()
	res, err := render.Render(deployFiles(t), "kustomize/base", render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := render.WriteYAML(&buf, res.Objects); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deployFiles are the embedded deploy/ files as a source tree.
func deployFiles(t *testing.T) sources.Files {
	t.Helper()
	files := sources.Files{}
	err := fs.WalkDir(deploy.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[p], err = fs.ReadFile(deploy.FS(), p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// installedKubeconfig asks the API server (TokenRequest) for a token of
// the manifests' ServiceAccount and writes a kubeconfig holding only that
// token and the server's address and CA: trueup with it has exactly the
// RBAC the manifests grant. It returns the kubeconfig path and the token.
func installedKubeconfig(t *testing.T, env *kubeenv.Env) (string, string) {
	t.Helper()
	tr, err := env.Clientset.CoreV1().ServiceAccounts("trueup-system").CreateToken(t.Context(), "trueup",
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos["trueup"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["trueup"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "trueup"}
	kc.CurrentContext = "trueup"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path, tr.Status.Token
}

// canI asks the API server whether trueup's ServiceAccount may do verb on
// resource in ns.
func canI(t *testing.T, env *kubeenv.Env, verb, resource, ns string) bool {
	t.Helper()
	out, _ := exec.CommandContext(t.Context(), "kubectl", "--kubeconfig", env.Kubeconfig, "auth", "can-i", verb, resource,
		"-n", ns, "--as", installedUser).CombinedOutput()
	return strings.TrimSpace(string(out)) == "yes"
}

// openWatches counts the API server's open WATCH requests per resource
// (its apiserver_longrunning_requests gauge).
func openWatches(t *testing.T, env *kubeenv.Env) map[string]int {
	t.Helper()
	raw, err := env.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for line := range strings.Lines(string(raw)) {
		if !strings.HasPrefix(line, "apiserver_longrunning_requests{") || !strings.Contains(line, `verb="WATCH"`) {
			continue
		}
		_, res, _ := strings.Cut(line, `resource="`)
		res, _, _ = strings.Cut(res, `"`)
		n, _ := strconv.Atoi(strings.TrimSpace(line[strings.LastIndex(line, " "):]))
		out[res] += n
	}
	return out
}

// TestInstallManifestsRBAC applies deploy/kustomize/base to a real control
// plane and runs trueup as its ServiceAccount, with a token from the API
// server and nothing else: the demo repository reconciles (apply, the
// daemon's watch and heal, TokenReview for the API, prune), trueup applies
// its own bootstrapped manifests, a kind outside the grant is refused, a
// tenant's ServiceAccount only with the tenancy component, and a kind whose
// rule is taken out is refused.
func TestInstallManifestsRBAC(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo's namespaces and the manifests' names are fixed
	env.Apply(t, string(renderBase(t)))
	kubeconfig, token := installedKubeconfig(t, env)
	cfg, repo := demoSetup(t, kubeconfig)
	raw := readFile(t, cfg) + `server:
  auth:
    tokenReview: {cluster: local}
    roles:
      - {role: admin, users: ["` + installedUser + `"]}
`
	if err := os.WriteFile(cfg, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("apply reconciles the demo as the ServiceAccount", func(t *testing.T) {
		for _, target := range []string{"web", "api-dev"} {
			if stdout, stderr, code := trueup(t, "apply", target, "-c", cfg); code != exitOK {
				t.Fatalf("apply %s: exit %d\n%s%s", target, code, stdout, stderr)
			}
		}
		kubectl(t, env, "-n", "web", "get", "deployment/web", "service/web")
		kubectl(t, env, "-n", "api-dev", "get", "deployment/dev-api")
		kubectl(t, env, "-n", "trueup-system", "get", "configmap/trueup-inventory-web", "configmap/trueup-inventory-api-dev")
	})

	t.Run("serve watches and heals, and checks tokens with TokenReview", func(t *testing.T) {
		before := openWatches(t, env)
		d := startDaemon(t, cfg)
		defer d.stop()
		addr := d.addr(t)
		waitUntil(t, "the daemon to be ready", func() bool {
			res, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
		// The interval is 5 minutes: only the watch brings the heal in time.
		kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=5")
		waitUntil(t, "the watch to heal the scaled Deployment", func() bool {
			return kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}") == "2"
		})
		// A core kind too: a deleted Service comes back.
		kubectl(t, env, "-n", "web", "delete", "service", "web")
		waitUntil(t, "the watch to re-create the deleted Service", func() bool {
			return exec.CommandContext(t.Context(), "kubectl", "--kubeconfig", env.Kubeconfig, "-n", "web", "get", "service", "web").Run() == nil
		})
		// Each managed kind has a watch open: without the watch verb the
		// informers would fall back to relisting, quietly.
		waitUntil(t, "a watch per managed kind", func() bool {
			now := openWatches(t, env)
			for _, res := range []string{"namespaces", "services", "configmaps", "deployments"} {
				if now[res] <= before[res] {
					return false
				}
			}
			return true
		})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/api/v1/targets", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/targets with the ServiceAccount's token: %s, want 200 (TokenReview allowed)", res.Status)
		}
	})

	t.Run("trueup applies its own manifests as itself (the bootstrap target)", func(t *testing.T) {
		fleet := gitrepo.Init(t, filepath.Join(t.TempDir(), "fleet.git"))
		if stdout, stderr, code := trueup(t, "bootstrap", "--url", fleet.URL(), "--path", "clusters/test", "--image", "registry.example.com/trueup:v9"); code != exitOK {
			t.Fatalf("bootstrap: exit %d\n%s%s", code, stdout, stderr)
		}
		// The bootstrapped config, but run from here: the ServiceAccount's
		// kubeconfig instead of the pod's, a data folder of the test.
		self := string(repoFiles(t, fleet)["clusters/test/trueup-system/trueup.yaml"])
		self = strings.Replace(self, "    inCluster: true\n", "    kubeconfig: {path: "+kubeconfig+"}\n", 1)
		self = strings.Replace(self, "dataDir: /var/lib/trueup\n", "dataDir: "+filepath.Join(t.TempDir(), "data")+"\n", 1)
		// The test control plane runs no controllers: nothing becomes ready.
		self = strings.Replace(self, "    prune:\n", "    wait: false\n    prune:\n", 1)
		selfCfg := filepath.Join(t.TempDir(), "trueup.yaml")
		if err := os.WriteFile(selfCfg, []byte(self), 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := trueup(t, "apply", "trueup-system", "-c", selfCfg)
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if img := kubectl(t, env, "-n", "trueup-system", "get", "deployment", "trueup", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "registry.example.com/trueup:v9" {
			t.Fatalf("Deployment image %q, want the bootstrapped one\n%s", img, stdout)
		}
		if owner := kubectl(t, env, "get", "clusterrole", "trueup", "-o", "jsonpath={.metadata.labels.trueup\\.dev/target}"); owner != "trueup-system" {
			t.Fatalf("ClusterRole trueup labelled for target %q, want trueup-system", owner)
		}
	})

	t.Run("prune deletes what left Git", func(t *testing.T) {
		files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
		web := string(files["apps/web/deployment.yaml"].Content)
		files["apps/web/deployment.yaml"] = gitrepo.File(web[:strings.Index(web, "\n---")+1]) // the Deployment, not the Service
		repo.Commit(t, files, gitrepo.CommitOptions{Message: "Remove the web Service"})
		if stdout, stderr, code := trueup(t, "apply", "web", "-c", cfg); code != exitOK || !strings.Contains(stdout, "1 deleted") {
			t.Fatalf("exit %d, want the Service deleted\n%s%s", code, stdout, stderr)
		}
		if out, err := exec.CommandContext(t.Context(), "kubectl", "--kubeconfig", env.Kubeconfig, "-n", "web", "get", "service", "web").CombinedOutput(); err == nil {
			t.Fatalf("the Service is still there:\n%s", out)
		}
	})

	t.Run("a kind outside the grant is refused", func(t *testing.T) {
		files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
		files["apps/web/secret.yaml"] = gitrepo.File("apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls, namespace: web}\nstringData: {key: value}\n")
		repo.Commit(t, files, gitrepo.CommitOptions{Message: "Add a Secret"})
		stdout, stderr, code := trueup(t, "apply", "web", "-c", cfg)
		if code == exitOK || !strings.Contains(stdout+stderr, "forbidden") || !strings.Contains(stdout+stderr, `"secrets"`) {
			t.Fatalf("exit %d, want a refusal naming secrets\n%s%s", code, stdout, stderr)
		}
		if out, err := exec.CommandContext(t.Context(), "kubectl", "--kubeconfig", env.Kubeconfig, "-n", "web", "get", "secret", "web-tls").CombinedOutput(); err == nil {
			t.Fatalf("the Secret was created:\n%s", out)
		}
	})

	t.Run("tenants' ServiceAccounts: refused without the tenancy component, applied with it", func(t *testing.T) {
		env.Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
		env.GrantServiceAccount(t, "team-a", "deployer", `[{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create, patch, delete]}]`)
		team := gitrepo.Init(t, filepath.Join(t.TempDir(), "team-a.git"))
		team.Commit(t, map[string]gitrepo.Entry{"app/cm.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")}, gitrepo.CommitOptions{Message: "app"})
		tenantCfg := filepath.Join(t.TempDir(), "trueup.yaml")
		if err := os.WriteFile(tenantCfg, []byte(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: `+filepath.Join(t.TempDir(), "data")+`
sources: [{name: team-a, url: `+team.URL()+`}]
clusters: [{name: local, kubeconfig: {path: `+kubeconfig+`}}]
targets: [{name: team-a-app, source: team-a, path: app, cluster: local, namespace: team-a, wait: false}]
tenancy: {mode: enforce}
tenants:
  - name: team-a
    targets: [team-a-app]
    namespaces: [team-a]
    sources: [{name: team-a}]
    serviceAccounts: [{cluster: local, namespace: team-a, name: deployer}]
`), 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := trueup(t, "apply", "team-a-app", "-c", tenantCfg)
		if code == exitOK || !strings.Contains(stdout+stderr, "impersonate") {
			t.Fatalf("base without the tenancy component: exit %d, want a refusal to impersonate\n%s%s", code, stdout, stderr)
		}
		res, err := render.Render(deployFiles(t), "kustomize/examples/tenancy", render.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		var manifests bytes.Buffer
		if err := render.WriteYAML(&manifests, res.Objects); err != nil {
			t.Fatal(err)
		}
		env.Apply(t, manifests.String())
		waitUntil(t, "RBAC to allow impersonation", func() bool { return canI(t, env, "impersonate", "serviceaccounts", "team-a") })
		if stdout, stderr, code := trueup(t, "apply", "team-a-app", "-c", tenantCfg); code != exitOK {
			t.Fatalf("with the tenancy component: exit %d\n%s%s", code, stdout, stderr)
		}
		kubectl(t, env, "-n", "team-a", "get", "configmap", "settings")
	})

	t.Run("without the apps rule of the manifests Deployments are refused", func(t *testing.T) {
		files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
		repo.Commit(t, files, gitrepo.CommitOptions{Message: "Remove the Secret"})
		if stdout, stderr, code := trueup(t, "apply", "web", "-c", cfg); code != exitOK {
			t.Fatalf("with the manifests' RBAC: exit %d\n%s%s", code, stdout, stderr)
		}
		kubectl(t, env, "patch", "clusterrole", "trueup", "--type=json", "-p", `[{"op":"remove","path":"/rules/1"}]`)
		waitUntil(t, "RBAC to take the rule out", func() bool { return !canI(t, env, "patch", "deployments.apps", "web") })
		kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=5")
		stdout, stderr, code := trueup(t, "apply", "web", "-c", cfg)
		if code == exitOK || !strings.Contains(stdout+stderr, "forbidden") || !strings.Contains(stdout+stderr, "deployments") {
			t.Fatalf("exit %d, want a refusal naming deployments\n%s%s", code, stdout, stderr)
		}
	})
}
