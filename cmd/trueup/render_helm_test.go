package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/fixtures/registryenv"
)

// TestRenderHelmChart: `trueup render` prints a chart target's objects
// (values file and set applied) and names the hook it left out.
func TestRenderHelmChart(t *testing.T) {
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	repo.Commit(t, map[string]gitrepo.Entry{
		"charts/web/Chart.yaml":  gitrepo.File("apiVersion: v2\nname: web\nversion: 0.1.0\n"),
		"charts/web/values.yaml": gitrepo.File("replicaCount: 1\ntag: \"1.0\"\n"),
		"charts/web/templates/cm.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n" +
			"data:\n  replicas: {{ .Values.replicaCount | quote }}\n  tag: {{ .Values.tag | quote }}\n"),
		"charts/web/templates/hook.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: before\n  annotations: {helm.sh/hook: pre-install}\n"),
		"env/prod.yaml":                  gitrepo.File("replicaCount: 3\n"),
	}, gitrepo.CommitOptions{Message: "chart"})
	path := repoConfig(t, dir, repo.URL(), "/nonexistent", `  - name: web
    source: repo
    cluster: prod
    render: {helm: {chart: charts/web, releaseName: shop, values: [{path: env/prod.yaml}], set: {tag: "2.0"}}}
`)
	stdout, stderr, code := trueup(t, "render", "web", "-c", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "apiVersion: v1\ndata:\n  replicas: \"3\"\n  tag: \"2.0\"\nkind: ConfigMap\nmetadata:\n  name: shop\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	for _, w := range []string{"(helm)", "1 objects", "helm hook ConfigMap before (pre-install) from charts/web/templates/hook.yaml left out"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not say %q", stderr, w)
		}
	}
}

// TestRenderRemoteOCIChart renders a chart pushed to a real OCI registry
// (CNCF Distribution on 127.0.0.1, spoken to over plain HTTP because it is
// on this machine) with a values file from the target's Git source.
func TestRenderRemoteOCIChart(t *testing.T) {
	dir := t.TempDir()
	reg := registryenv.Start(t, registryenv.Options{})
	reg.PushChart(t, "charts", "demo", "1.2.0", chartrepo.Package(t, chartrepo.Demo(), "demo", "1.2.0"))
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"env/prod.yaml": gitrepo.File("message: from-oci\n")}, gitrepo.CommitOptions{Message: "values"})
	path := repoConfig(t, dir, repo.URL(), "/nonexistent", fmt.Sprintf(`  - name: web
    source: repo
    cluster: prod
    render: {helm: {chart: {repository: "oci://%s/charts", name: demo, version: "^1"}, releaseName: shop, values: [{path: env/prod.yaml}]}}
`, reg.Host))
	stdout, stderr, code := trueup(t, "render", "web", "-c", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"name: shop-demo", "message: from-oci", `chartVersion: 1.2.0`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("render does not contain %q:\n%s", want, stdout)
		}
	}
}

// TestRenderLocalCheckout: `trueup render --local DIR` renders the target
// from a folder as it is on disk, without fetching its source (the
// configured URL does not exist); a symlink out of the folder and the
// .git folder are not read.
func TestRenderLocalCheckout(t *testing.T) {
	dir := t.TempDir()
	checkout := filepath.Join(dir, "checkout")
	for p, c := range map[string]string{
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/values.yaml":       "replicaCount: 1\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicaCount | quote }}\n",
		"env/prod.yaml":                "replicaCount: 7 # not committed anywhere\n",
		".git/config":                  "not a real repository",
	} {
		full := filepath.Join(checkout, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(dir, "outside.yaml")
	if err := os.WriteFile(secret, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(checkout, "charts/web/templates/outside.yaml")); err != nil {
		t.Fatal(err)
	}
	path := repoConfig(t, dir, filepath.Join(dir, "no-such-repo.git"), "/nonexistent", `  - name: web
    source: repo
    cluster: prod
    render: {helm: {chart: charts/web, releaseName: shop, values: [{path: env/prod.yaml}]}}
`)
	stdout, stderr, code := trueup(t, "render", "web", "-c", path, "--local", checkout)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "apiVersion: v1\ndata:\n  replicas: \"7\"\nkind: ConfigMap\nmetadata:\n  name: shop\n"; stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if !strings.Contains(stderr, "repo@local") {
		t.Errorf("stderr %q does not name the local checkout", stderr)
	}
	if _, _, code := trueup(t, "render", "web", "-c", path); code == 0 {
		t.Error("without --local the missing repository rendered: the test does not prove --local skips the fetch")
	}
}

// TestServeSurvivesChartBomb: a daemon with a chart-bomb target and a good
// chart target applies the good one, reports the bomb's limit error, keeps
// serving, and on shutdown leaves no Helm worker behind (one may be
// rendering the bomb again when it stops).
func TestServeSurvivesChartBomb(t *testing.T) {
	env := kubeenv.Shared(t)
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	rev := repo.Commit(t, map[string]gitrepo.Entry{
		"charts/bomb/Chart.yaml": gitrepo.File("apiVersion: v2\nname: bomb\nversion: 0.1.0\n"),
		"charts/bomb/templates/cm.yaml": gitrepo.File(`{{- $s := repeat 16777216 "x" }}{{- range until 7 }}{{ $s = repeat 2 $s }}{{ end }}` +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb, namespace: default}\ndata: {s: '{{ $s }}'}\n"),
		"charts/web/Chart.yaml":        gitrepo.File("apiVersion: v2\nname: web\nversion: 0.1.0\n"),
		"charts/web/templates/cm.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}', namespace: default}\n"),
	}, gitrepo.CommitOptions{Message: "a chart and a chart bomb"})
	path := repoConfig(t, dir, repo.URL(), env.Kubeconfig, `  - {name: bomb, source: repo, cluster: prod, wait: false, render: {helm: {chart: charts/bomb, releaseName: bomb}}}
  - {name: web, source: repo, cluster: prod, wait: false, render: {helm: {chart: charts/web, releaseName: survives-bomb}}}
`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := startDaemon(t, path)
	waitUntil(t, "the good chart applied", func() bool { return d.applied(t, "web", rev.String(), "") })
	waitUntil(t, "the bomb reported", func() bool {
		return strings.Contains(d.logs.String(), "(a template recursion or an output bomb): fix the chart")
	})
	d.stop()
	runtime.ReadMemStats(&after)
	// The bomb reaches 1 GiB before either limit stops it; the daemon's own
	// work is far less.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 768<<20 {
		t.Errorf("the daemon allocated %d MiB, want the bomb to go off in the worker", grew>>20)
	} else {
		t.Logf("the daemon allocated %d MiB", grew>>20)
	}
	self, _ := os.ReadFile("/proc/self/comm")
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || string(comm) != string(self) {
			continue
		}
		// pid (comm) state ppid ...: a child of this test with its name is a worker.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			t.Errorf("a helm worker (pid %s, state %s) outlived the daemon", e.Name(), f[0])
		}
	}
}

// repoConfig writes dir/trueup.yaml with one Git source "repo" at url, one
// cluster "prod" (its kubeconfig; /nonexistent when the test renders
// only) and targets (YAML list items), and returns its path.
func repoConfig(t *testing.T, dir, url, kubeconfig, targets string) string {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources: [{name: repo, url: %s}]
clusters: [{name: prod, kubeconfig: {path: %s}}]
targets:
%s`, filepath.Join(dir, "data"), url, kubeconfig, targets)
	path := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
