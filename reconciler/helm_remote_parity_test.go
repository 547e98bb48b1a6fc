package reconciler_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/helm"
	"github.com/trueup-dev/trueup/fixtures/helmoracle"
	"github.com/trueup-dev/trueup/fixtures/registryenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/helmrepo"
)

// TestHelmRemoteParity is issue 16's parity acceptance for remote charts:
// podinfo's chart served by a local HTTP chart repository and pushed to a
// local OCI registry (CNCF Distribution), rendered by a target with its
// production values from Git, is object-set-equal to `helm template` of
// the same chart fetched by helm itself (--repo, oci:// --plain-http).
func TestHelmRemoteParity(t *testing.T) {
	const version = "6.9.2"
	dir := t.TempDir()
	archive := chartrepo.Package(t, os.DirFS(helm.ChartDir(helm.Podinfo)), "podinfo", version)
	httpRepo := chartrepo.NewServer(t, chartrepo.Options{})
	httpRepo.Add("podinfo", version, archive, true)
	reg := registryenv.Start(t, registryenv.Options{})
	reg.PushChart(t, "charts", "podinfo", version, archive)

	values := gitrepo.Init(t, filepath.Join(dir, "values.git"))
	values.Commit(t, map[string]gitrepo.Entry{"prod/podinfo.yaml": gitrepo.File(string(helm.Values("podinfo-prod.yaml")))}, gitrepo.CommitOptions{})
	srcs := map[string]git.Source{"values": {Name: "values", URL: values.URL(), Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}}}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "cache")), srcs).
		WithChartFetcher(reconciler.HelmRepoFetcher{Client: helmrepo.New(filepath.Join(dir, "charts"), helmrepo.WithPlainHTTP(reg.Host))})

	for _, tt := range []struct {
		name       string
		repository string
		oracle     string
		opts       helmoracle.Options
	}{
		{"http", httpRepo.URL, "podinfo", helmoracle.Options{Repo: httpRepo.URL}},
		{"oci", "oci://" + reg.Host + "/charts", "oci://" + reg.Host + "/charts/podinfo", helmoracle.Options{PlainHTTP: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target := &config.Target{Name: "podinfo-" + tt.name, Source: "values", Render: &config.Render{Helm: &config.HelmRender{
				Chart:       config.HelmChart{Remote: &config.RemoteChart{Repository: tt.repository, Name: "podinfo", Version: version}},
				ReleaseName: "podinfo", Namespace: "prod", KubeVersion: helmoracle.DefaultKubeVersion,
				Values: []config.HelmValuesFile{{Path: "prod/podinfo.yaml"}},
			}}}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			d, err := loader.Load(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			var got []map[string]any
			for _, o := range d.Objects {
				got = append(got, o.Object.Object)
			}
			o := tt.opts
			o.ReleaseName, o.Namespace, o.Version, o.KubeVersion = "podinfo", "prod", version, helmoracle.DefaultKubeVersion
			o.ValuesFiles = []string{helm.ValuesFile("podinfo-prod.yaml")}
			want := helmoracle.WithoutHooks(helmoracle.Template(t, tt.oracle, o))
			if len(want) < 5 {
				t.Fatalf("helm template rendered %d objects: the oracle is not exercising the chart", len(want))
			}
			helmoracle.Equal(t, want, helmoracle.Normalise(got))
		})
	}
}
