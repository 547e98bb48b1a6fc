package reconciler_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
)

// TestHelmValuesFromAnotherSource: a values file from another source is
// read at that source's newest commit, after the target's own values file
// and before set; a new commit of the values source alone changes the render.
func TestHelmValuesFromAnotherSource(t *testing.T) {
	dir := t.TempDir()
	charts := gitrepo.Init(t, filepath.Join(dir, "charts.git"))
	envs := gitrepo.Init(t, filepath.Join(dir, "envs.git"))
	chart := map[string]gitrepo.Entry{}
	for p, c := range podinfoChart("1") {
		chart["apps/"+p] = gitrepo.File(c)
	}
	chart["apps/own.yaml"] = gitrepo.File("replicaCount: 2\nport: 1111\n")
	charts.Commit(t, chart, gitrepo.CommitOptions{})
	envs.Commit(t, map[string]gitrepo.Entry{"prod/podinfo.yaml": gitrepo.File("replicaCount: 4\n")}, gitrepo.CommitOptions{})
	srcs := map[string]git.Source{
		"charts": {Name: "charts", URL: charts.URL(), Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}},
		"envs":   {Name: "envs", URL: envs.URL(), Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}},
	}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "cache")), srcs)
	target := &config.Target{Name: "web", Source: "charts", Render: &config.Render{Helm: &config.HelmRender{
		Chart:       config.HelmChart{Path: "apps/chart"},
		ReleaseName: "web",
		Values:      []config.HelmValuesFile{{Path: "apps/own.yaml"}, {Path: "prod/podinfo.yaml", Source: "envs"}},
		Set:         map[string]config.SetValue{"port": {Value: float64(8080)}},
	}}}
	load := func() (replicas, port any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		d, err := loader.Load(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Inputs) != 1 || d.Inputs[0].Source != "envs" {
			t.Fatalf("inputs %+v, want the envs revision", d.Inputs)
		}
		for _, o := range d.Objects {
			if o.Object.GetKind() == "Deployment" {
				spec := o.Object.Object["spec"].(map[string]any)
				c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
				return spec["replicas"], c["ports"].([]any)[0].(map[string]any)["containerPort"]
			}
		}
		t.Fatal("no Deployment rendered")
		return nil, nil
	}
	if r, p := load(); r != int64(4) || p != int64(8080) {
		t.Fatalf("replicas %v port %v, want 4 from envs and 8080 from set", r, p)
	}
	envs.Commit(t, map[string]gitrepo.Entry{"prod/podinfo.yaml": gitrepo.File("replicaCount: 6\n")}, gitrepo.CommitOptions{})
	if r, _ := load(); r != int64(6) {
		t.Fatalf("replicas %v after a commit to envs, want 6 (a stale render was reused)", r)
	}
}
