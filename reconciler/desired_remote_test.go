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

// TestHelmRemoteChartFromRepository renders a chart fetched from a real
// HTTP chart repository (index.yaml), with values from the target's Git
// source: a version range follows a newly published version, a digest pin
// that does not match fails the load, and the objects' origins name the
// chart's template files.
func TestHelmRemoteChartFromRepository(t *testing.T) {
	dir := t.TempDir()
	repo := chartrepo.NewServer(t, chartrepo.Options{})
	v1 := chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0")
	repo.Add("demo", "1.0.0", v1, true)
	values := gitrepo.Init(t, filepath.Join(dir, "values.git"))
	values.Commit(t, map[string]gitrepo.Entry{"prod/demo.yaml": gitrepo.File("message: from-git\n")}, gitrepo.CommitOptions{})
	srcs := map[string]git.Source{"values": {Name: "values", URL: values.URL(), Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}}}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "cache")), srcs).
		WithChartFetcher(reconciler.HelmRepoFetcher{Client: helmrepo.New(filepath.Join(dir, "charts"), helmrepo.WithIndexTTL(0))})
	ref := &config.RemoteChart{Repository: repo.URL, Name: "demo", Version: "^1"}
	target := &config.Target{Name: "web", Source: "values", Render: &config.Render{Helm: &config.HelmRender{
		Chart:       config.HelmChart{Remote: ref},
		ReleaseName: "web",
		Namespace:   "web",
		Values:      []config.HelmValuesFile{{Path: "prod/demo.yaml"}},
	}}}
	load := func() (*reconciler.Desired, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return loader.Load(ctx, target)
	}
	configMap := func(d *reconciler.Desired) (data map[string]any, origin string) {
		t.Helper()
		for _, o := range d.Objects {
			if o.Object.GetKind() == "ConfigMap" {
				return o.Object.Object["data"].(map[string]any), o.Origin.File
			}
		}
		t.Fatalf("no ConfigMap rendered: %d objects", len(d.Objects))
		return nil, ""
	}

	d, err := load()
	if err != nil {
		t.Fatal(err)
	}
	data, origin := configMap(d)
	if data["message"] != "from-git" || data["chartVersion"] != "1.0.0" {
		t.Fatalf("ConfigMap data %v, want the Git values file's message", data)
	}
	if !strings.HasSuffix(origin, "templates/configmap.yaml") {
		t.Fatalf("origin %q, want the chart's template file", origin)
	}

	// A new version within the range is picked up at the next load.
	repo.Add("demo", "1.1.0", chartrepo.Package(t, chartrepo.Demo(), "demo", "1.1.0"), true)
	if d, err = load(); err != nil {
		t.Fatal(err)
	}
	if data, _ := configMap(d); data["chartVersion"] != "1.1.0" {
		t.Fatalf("after 1.1.0 was published the render still shows 1.0.0: %v", data)
	}

	// A pin that the resolved archive does not match fails: nothing rendered.
	ref.Version, ref.Digest = "1.0.0", "sha256:"+strings.Repeat("0", 64)
	if _, err := load(); !errors.Is(err, helmrepo.ErrDigest) {
		t.Fatalf("load with a wrong digest pin: %v, want ErrDigest", err)
	}
	ref.Digest = chartrepo.Digest(v1)
	if _, err := load(); err != nil {
		t.Fatalf("load with the right digest pin: %v", err)
	}
}
