package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/fixtures/giteaenv"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/helm"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// podinfoRepo is fixtures/helm's podinfo chart at charts/podinfo, bumped
// to version (chart version, appVersion and image tag) when it is not
// 6.9.2.
func podinfoRepo(t *testing.T, version string) map[string]gitrepo.Entry {
	t.Helper()
	files := map[string]gitrepo.Entry{}
	for p, data := range helm.Files(helm.Podinfo) {
		s := string(data)
		switch p {
		case "Chart.yaml":
			s = strings.Replace(strings.Replace(s, "version: 6.9.2", "version: "+version, 1), "appVersion: 6.9.2", "appVersion: "+version, 1)
		case "values.yaml":
			s = strings.Replace(s, "  tag: 6.9.2", "  tag: "+version, 1)
		}
		if version != "6.9.2" && s == string(data) && (p == "Chart.yaml" || p == "values.yaml") {
			t.Fatalf("podinfo's %s no longer says 6.9.2: update the test", p)
		}
		files["charts/podinfo/"+p] = gitrepo.File(s)
	}
	return files
}

// TestPreviewChartVersionBump: a pull request that bumps a chart vendored
// in the repository (podinfo 6.9.2 -> 6.9.3: Chart.yaml's version and
// appVersion, the image tag in values.yaml) is previewed with `trueup
// preview` on a real Gitea and the real control plane: the changed fields
// of the rendered objects (the helm.sh/chart and version labels, the
// image) are listed, the comment shows them as a plain diff, and nothing
// changes in the cluster.
func TestPreviewChartVersionBump(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	gitea := giteaenv.Start(t)
	dir := t.TempDir()
	local := gitrepo.Init(t, filepath.Join(dir, "charts.git"))
	local.Commit(t, podinfoRepo(t, "6.9.2"), gitrepo.CommitOptions{Message: "podinfo 6.9.2"})
	repo := gitea.CreateRepo(t, "charts")
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/main")
	cfg := giteaSourceConfig(t, dir, "charts", repo, gitea, env.Kubeconfig, fmt.Sprintf(`  - name: %[1]s
    source: charts
    cluster: test
    namespace: %[1]s
    wait: false
    render: {helm: {chart: charts/podinfo, releaseName: podinfo, kubeVersion: v1.37.0}}
`, ns))
	t.Setenv("TRUEUP_TEST_GITEA_TOKEN", gitea.Token)
	if out, stderr, code := trueup(t, "apply", ns, "-c", cfg); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	labels := func() string {
		return kubectl(t, env, "-n", ns, "get", "deployment", "podinfo", "-o", `jsonpath={.metadata.labels.helm\.sh/chart} {.spec.template.spec.containers[0].image}`)
	}
	if got := labels(); got != "podinfo-6.9.2 ghcr.io/stefanprodan/podinfo:6.9.2" {
		t.Fatalf("applied deployment: %q", got)
	}

	head := local.Commit(t, podinfoRepo(t, "6.9.3"), gitrepo.CommitOptions{Message: "podinfo 6.9.3"}).String()
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/bump-podinfo")
	number := gitea.CreatePullRequest(t, repo, "bump-podinfo", "main", "Bump podinfo to 6.9.3", "")

	out, stderr, code := trueup(t, "preview", "charts", fmt.Sprint(number), "-o", "json", "-c", cfg)
	var pv struct {
		Failed  bool
		Targets []struct {
			Error   string
			Changes []struct {
				Ref    struct{ Kind, Name string }
				Status string
				Fields []struct {
					Path      string
					Git, Live any
				}
			}
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &pv) != nil || pv.Failed || len(pv.Targets) != 1 || pv.Targets[0].Error != "" {
		t.Fatalf("preview: exit %d\n%s\n%s", code, out, stderr)
	}
	fields := map[string]string{} // "Kind/name path" -> "live -> git"
	for _, c := range pv.Targets[0].Changes {
		for _, f := range c.Fields {
			fields[c.Ref.Kind+"/"+c.Ref.Name+" "+f.Path] = fmt.Sprintf("%v -> %v", f.Live, f.Git)
		}
	}
	for k, want := range map[string]string{
		"Deployment/podinfo /metadata/labels/helm.sh~1chart":             "podinfo-6.9.2 -> podinfo-6.9.3",
		"Deployment/podinfo /metadata/labels/app.kubernetes.io~1version": "6.9.2 -> 6.9.3",
		"Deployment/podinfo /spec/template/spec/containers/0/image":      "ghcr.io/stefanprodan/podinfo:6.9.2 -> ghcr.io/stefanprodan/podinfo:6.9.3",
		"Service/podinfo /metadata/labels/helm.sh~1chart":                "podinfo-6.9.2 -> podinfo-6.9.3",
	} {
		if fields[k] != want {
			t.Errorf("preview field %s: %q, want %q (all: %v)", k, fields[k], want, fields)
		}
	}
	var comments []giteaenv.Comment
	for _, c := range gitea.ListComments(t, repo, number) {
		if strings.Contains(c.Body, "<!-- trueup:preview -->") {
			comments = append(comments, c)
		}
	}
	if len(comments) != 1 {
		t.Fatalf("%d preview comments, want one", len(comments))
	}
	for _, want := range []string{
		"```diff\n",
		"~ Service/" + ns + "/podinfo\n",
		"~ Deployment.apps/" + ns + "/podinfo\n",
		`    /metadata/labels/helm.sh~1chart: git: "podinfo-6.9.3"  live: "podinfo-6.9.2"`,
		`    /spec/template/spec/containers/0/image: git: "ghcr.io/stefanprodan/podinfo:6.9.3"  live: "ghcr.io/stefanprodan/podinfo:6.9.2"`,
	} {
		if !strings.Contains(comments[0].Body, want) {
			t.Errorf("preview comment lacks %q:\n%s", want, comments[0].Body)
		}
	}
	ok := false
	for _, s := range gitea.CommitStatuses(t, repo, head) {
		ok = ok || (s.Context == "trueup/preview" && s.State == "success")
	}
	if !ok {
		t.Errorf("statuses of %s: %+v", head, gitea.CommitStatuses(t, repo, head))
	}
	if got := labels(); got != "podinfo-6.9.2 ghcr.io/stefanprodan/podinfo:6.9.2" {
		t.Errorf("the preview changed the cluster: %q", got)
	}
}

// TestPreviewRemoteChartPostRender: a target renders a remote chart (a real
// HTTP chart repository) with a values file and a post-render
// kustomization from its Git source. `trueup apply` applies the
// post-rendered objects; a pull request that changes the values file and
// the post-render's labels is previewed with both changes. The chart
// itself comes from the running config (render.helm.chart), not from the
// pull request.
func TestPreviewRemoteChartPostRender(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	gitea := giteaenv.Start(t)
	charts := chartrepo.NewServer(t, chartrepo.Options{})
	charts.Add("demo", "1.0.0", chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0"), true)
	dir := t.TempDir()
	local := gitrepo.Init(t, filepath.Join(dir, "env.git"))
	files := func(message, labels string) map[string]gitrepo.Entry {
		return map[string]gitrepo.Entry{
			"env/prod.yaml":               gitrepo.File("message: " + message + "\n"),
			"env/post/kustomization.yaml": gitrepo.File("labels: [{pairs: {" + labels + "}}]\n"),
		}
	}
	local.Commit(t, files("one", "team: web"), gitrepo.CommitOptions{Message: "demo"})
	repo := gitea.CreateRepo(t, "env")
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/main")
	cfg := giteaSourceConfig(t, dir, "env", repo, gitea, env.Kubeconfig, fmt.Sprintf(`  - name: %[1]s
    source: env
    cluster: test
    namespace: %[1]s
    wait: false
    render:
      helm:
        chart: {repository: '%[2]s', name: demo, version: 1.0.0}
        releaseName: web
        values: [{path: env/prod.yaml}]
        postRender: {kustomization: env/post}
`, ns, charts.URL))
	t.Setenv("TRUEUP_TEST_GITEA_TOKEN", gitea.Token)
	if out, stderr, code := trueup(t, "apply", ns, "-c", cfg); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	live := func() string {
		return kubectl(t, env, "-n", ns, "get", "configmap", "web-demo", "-o", `jsonpath={.data.message} {.metadata.labels.team} {.metadata.labels.tier}`)
	}
	if got := live(); got != "one web " {
		t.Fatalf("applied configmap: %q, want message one and the post-render's label team=web", got)
	}

	local.Commit(t, files("two", "team: web, tier: frontend"), gitrepo.CommitOptions{Message: "message two, tier label"})
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/two")
	number := gitea.CreatePullRequest(t, repo, "two", "main", "Message two", "")
	out, stderr, code := trueup(t, "preview", "env", fmt.Sprint(number), "-c", cfg)
	if code != 0 {
		t.Fatalf("preview: exit %d\n%s\n%s", code, out, stderr)
	}
	var body string
	for _, c := range gitea.ListComments(t, repo, number) {
		if strings.Contains(c.Body, "<!-- trueup:preview -->") {
			body = c.Body
		}
	}
	for _, want := range []string{
		"~ ConfigMap/" + ns + "/web-demo\n",
		`    /data/message: git: "two"  live: "one"`,
		`    /metadata/labels/tier: git: "frontend"  live: (absent)`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("preview comment lacks %q:\n%s\n(stdout %s)", want, body, out)
		}
	}
	if got := live(); got != "one web " {
		t.Errorf("the preview changed the cluster: %q", got)
	}
}

// giteaSourceConfig writes dir/trueup.yaml with one source, name, that
// follows main of a Gitea repository (its token in
// TRUEUP_TEST_GITEA_TOKEN), one cluster "test" and targets (YAML list
// items), and returns its path.
func giteaSourceConfig(t *testing.T, dir, name string, repo giteaenv.Repo, gitea *giteaenv.Env, kubeconfig, targets string) string {
	t.Helper()
	text := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources:
  - name: %s
    url: %s
    ref: {branch: main}
    auth:
      username: %s
      passwordFrom: {env: TRUEUP_TEST_GITEA_TOKEN}
    provider: {type: gitea, url: '%s', tokenFrom: {env: TRUEUP_TEST_GITEA_TOKEN}}
clusters:
  - name: test
    kubeconfig: {path: %s}
targets:
%s`, filepath.Join(dir, "data"), name, repo.CloneURL, gitea.AdminUser, gitea.URL, kubeconfig, targets)
	cfg := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}
