package reconciler_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/helmrepo"
)

// TestHelmDependenciesFromChartLock: a chart in Git whose charts/ folder is
// not committed gets the dependencies its Chart.lock pins from their
// repository, as `helm dependency build` would; a dependency Chart.yaml
// lists and Chart.lock lacks fails naming it; the repository down is a
// source-stage failure (retried), never a render without the dependency.
func TestHelmDependenciesFromChartLock(t *testing.T) {
	dir := t.TempDir()
	repo := chartrepo.NewServer(t, chartrepo.Options{})
	repo.Add("demo", "1.0.0", chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0"), true)
	repo.Add("demo", "1.1.0", chartrepo.Package(t, chartrepo.Demo(), "demo", "1.1.0"), true)
	chartYAML := "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n  - {name: demo, version: ^1.0.0, repository: " + repo.URL + "}\n"
	files := map[string]gitrepo.Entry{
		"apps/shop/Chart.yaml":        gitrepo.File(chartYAML),
		"apps/shop/Chart.lock":        gitrepo.File("dependencies:\n- name: demo\n  repository: " + repo.URL + "\n  version: 1.0.0\ndigest: sha256:0\ngenerated: \"2026-12-01T00:00:00Z\"\n"),
		"apps/shop/values.yaml":       gitrepo.File("demo:\n  message: from-parent\n"),
		"apps/shop/templates/cm.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop}\ndata: {a: b}\n"),
	}
	src := gitrepo.Init(t, filepath.Join(dir, "src.git"))
	src.Commit(t, files, gitrepo.CommitOptions{})
	srcs := map[string]git.Source{"apps": {Name: "apps", URL: src.URL(), Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}}}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "cache")), srcs).
		WithChartFetcher(reconciler.HelmRepoFetcher{Client: helmrepo.New(filepath.Join(dir, "charts"), helmrepo.WithIndexTTL(0))})
	target := &config.Target{Name: "shop", Source: "apps", Render: &config.Render{Helm: &config.HelmRender{
		Chart: config.HelmChart{Path: "apps/shop"}, ReleaseName: "shop", Namespace: "shop",
	}}}
	load := func() (*reconciler.Desired, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return loader.Load(ctx, target)
	}
	d, err := load()
	if err != nil {
		t.Fatal(err)
	}
	var dep map[string]any
	for _, o := range d.Objects {
		if o.Object.GetKind() == "ConfigMap" && o.Object.GetName() == "shop-demo" {
			dep = o.Object.Object["data"].(map[string]any)
		}
	}
	if dep == nil || dep["message"] != "from-parent" || dep["chartVersion"] != "1.0.0" {
		t.Fatalf("the dependency's ConfigMap: %v, want the locked 1.0.0 with the parent's values (objects: %d)", dep, len(d.Objects))
	}

	files["apps/shop/Chart.yaml"] = gitrepo.File(chartYAML + "  - {name: cache, version: 0.2.0, repository: " + repo.URL + "}\n")
	src.Commit(t, files, gitrepo.CommitOptions{Message: "a dependency not locked"})
	if _, err := load(); err == nil || !strings.Contains(err.Error(), "dependency cache 0.2.0 is not locked in Chart.lock") {
		t.Fatalf("an unlocked dependency: %v", err)
	}

	files["apps/shop/Chart.yaml"] = gitrepo.File(chartYAML)
	files["apps/shop/README.md"] = gitrepo.File("a new commit, so nothing is cached\n")
	src.Commit(t, files, gitrepo.CommitOptions{Message: "back"})
	repo.Close()
	_, err = load()
	var se *reconciler.StageError
	if !errors.As(err, &se) || se.Stage != reconciler.StageSource || !strings.Contains(err.Error(), "dependency demo 1.0.0 (Chart.lock)") {
		t.Fatalf("repository down: %v, want a source-stage error naming the dependency", err)
	}
}
