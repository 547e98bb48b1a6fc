package deploy_test

import (
	"context"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/deploy"
	"github.com/trueup-dev/trueup/fixtures/helmoracle"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
)

// files are the embedded manifests as a source tree, as a repository
// holding them would be read.
func files(t *testing.T) sources.Files {
	t.Helper()
	out := sources.Files{}
	err := fs.WalkDir(deploy.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(deploy.FS(), p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func objects(t *testing.T, objs []sources.Object) []map[string]any {
	t.Helper()
	out := make([]map[string]any, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Object.Object)
	}
	return helmoracle.Normalise(out)
}

func renderKustomize(t *testing.T, dir string) []map[string]any {
	t.Helper()
	res, err := render.Render(files(t), path.Join(deploy.KustomizeDir, dir), render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return objects(t, res.Objects)
}

func renderChart(t *testing.T, set ...render.SetValue) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res, err := render.RenderHelm(ctx, files(t), render.HelmOptions{Chart: deploy.ChartDir, ReleaseName: "trueup", Namespace: "trueup-system", Set: set}, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return objects(t, res.Objects)
}

// TestChartRendersTheKustomizeBase: the chart with its default values,
// rendered by trueup's Helm support, is the kustomize base object for
// object (config included), so the two installs cannot drift apart.
func TestChartRendersTheKustomizeBase(t *testing.T) {
	want := renderKustomize(t, "base")
	if len(want) != 10 {
		t.Fatalf("kustomize base: %d objects, want 10", len(want))
	}
	if got := renderChart(t); !helmoracle.Equal(t, want, got) {
		t.Fatalf("chart (default values) differs from the kustomize base (-base +chart):\n%s", helmoracle.Diff(want, got))
	}
}

// TestChartMatchesComponents: chart values render what the kustomize
// components do: postgres.enabled with persistence off is the postgres
// component (the config is a value), rbac.impersonateServiceAccounts the
// tenancy component.
func TestChartMatchesComponents(t *testing.T) {
	pgConfig, err := fs.ReadFile(deploy.FS(), "kustomize/components/postgres/trueup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		example string
		set     []render.SetValue
	}{
		{"postgres", []render.SetValue{
			{Key: "postgres.enabled", Value: "true"},
			{Key: "persistence.enabled", Value: "false"},
			{Key: "config", Value: string(pgConfig), String: true},
		}},
		{"tenancy", []render.SetValue{{Key: "rbac.impersonateServiceAccounts", Value: "true"}}},
	} {
		t.Run(tc.example, func(t *testing.T) {
			want := renderKustomize(t, "examples/"+tc.example)
			got := renderChart(t, tc.set...)
			// The postgres patch moves the data volume first; order means nothing.
			sortVolumes(want)
			sortVolumes(got)
			if !helmoracle.Equal(t, want, got) {
				t.Fatalf("chart differs from examples/%s (-kustomize +chart):\n%s", tc.example, helmoracle.Diff(want, got))
			}
		})
	}
}

// sortVolumes sorts the Deployment's volumes by name.
func sortVolumes(objs []map[string]any) {
	for _, o := range objs {
		if o["kind"] != "Deployment" {
			continue
		}
		vols, _, _ := unstructured.NestedSlice(o, "spec", "template", "spec", "volumes")
		slices.SortFunc(vols, func(a, b any) int {
			return strings.Compare(a.(map[string]any)["name"].(string), b.(map[string]any)["name"].(string))
		})
		_ = unstructured.SetNestedSlice(o, vols, "spec", "template", "spec", "volumes")
	}
}

// TestChartMatchesHelmTemplate: trueup's render of the chart is what
// `helm template` prints, for the defaults and a namespaced RBAC scope.
func TestChartMatchesHelmTemplate(t *testing.T) {
	if _, err := helmoracle.Find(); err != nil {
		t.Skipf("no helm oracle: %v", err)
	}
	for _, tc := range []struct {
		name string
		set  map[string]string
	}{
		{"defaults", nil},
		{"namespaced", map[string]string{"rbac.scope": "namespaces", "rbac.namespaces[0]": "web", "rbac.namespaces[1]": "api", "rbac.impersonateServiceAccounts": "true",
			"rbac.impersonateNamespaces[0]": "team-a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := helmoracle.Template(t, "chart/trueup", helmoracle.Options{ReleaseName: "trueup", Namespace: "trueup-system", Set: tc.set})
			var set []render.SetValue
			for k, v := range tc.set {
				set = append(set, render.SetValue{Key: k, Value: v})
			}
			if got := renderChart(t, set...); !helmoracle.Equal(t, want, got) {
				t.Fatalf("trueup's render differs from helm template (-helm +trueup):\n%s", helmoracle.Diff(want, got))
			}
		})
	}
}

// TestConfigsValidate: every trueup.yaml shipped here passes `trueup
// validate`'s checks.
func TestConfigsValidate(t *testing.T) {
	for _, p := range []string{"kustomize/base/trueup.yaml", "kustomize/components/postgres/trueup.yaml"} {
		t.Run(p, func(t *testing.T) {
			b, err := fs.ReadFile(deploy.FS(), p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := config.Validate(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}
