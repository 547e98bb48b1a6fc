package render_test

import (
	"os"
	"slices"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/helm"
	"github.com/trueup-dev/trueup/fixtures/helmoracle"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
)

// TestHelmParity renders every fixture chart case with trueup's renderer
// and with `helm template` v4.3.2 (built by make testenv) and compares the
// object sets, normalised: podinfo's chart with its defaults and with
// custom values, and the shop chart with a folder and a .tgz dependency.
// trueup leaves hooks out (hooks: skip), so helm's hooks are dropped from
// its side. A test binary's Helm library reports Kubernetes v1.20.0
// (testing.Testing()), so both sides get the version explicitly.
func TestHelmParity(t *testing.T) {
	for _, c := range helmoracle.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			want := helmoracle.WithoutHooks(helmoracle.Template(t, c.ChartDir, c.Options))
			got := renderCase(t, c)
			if len(want) == 0 {
				t.Fatal("helm template rendered nothing: the case proves nothing")
			}
			helmoracle.Equal(t, want, got)
		})
	}
}

// TestHelmGoldens compares trueup's render with the recorded `helm
// template` output of each case (fixtures/helm/golden), without helm.
func TestHelmGoldens(t *testing.T) {
	for _, c := range helmoracle.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			helmoracle.Equal(t, helmoracle.WithoutHooks(helmoracle.Golden(t, c.Name)), renderCase(t, c))
		})
	}
}

// renderCase renders a case's chart, mounted at chart/ in a tree, with the
// case's options mapped to trueup's, and returns the normalised objects.
func renderCase(t *testing.T, c helmoracle.CaseSpec) []map[string]any {
	t.Helper()
	files := sources.Files{}
	for p, data := range helm.Files(c.Chart) {
		files["chart/"+p] = data
	}
	o := c.Options
	h := render.HelmOptions{
		Chart:       "chart",
		ReleaseName: orDefault(o.ReleaseName, helmoracle.DefaultReleaseName),
		Namespace:   orDefault(o.Namespace, helmoracle.DefaultNamespace),
		IncludeCRDs: o.IncludeCRDs,
		KubeVersion: orDefault(o.KubeVersion, helmoracle.DefaultKubeVersion),
		APIVersions: o.APIVersions,
	}
	for _, v := range o.ValuesFiles {
		data, err := os.ReadFile(v)
		if err != nil {
			t.Fatal(err)
		}
		h.Values = append(h.Values, render.ValuesFile{Name: v, Data: data})
	}
	keys := make([]string, 0, len(o.Set))
	for k := range o.Set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.Set = append(h.Set, render.SetValue{Key: k, Value: o.Set[k]})
	}
	res, err := render.RenderHelm(t.Context(), files, h, render.DefaultOptions())
	if err != nil {
		t.Fatalf("render %s: %v", c.Name, err)
	}
	objs := make([]map[string]any, 0, len(res.Objects))
	for _, obj := range res.Objects {
		objs = append(objs, obj.Object.Object)
	}
	return helmoracle.Normalise(objs)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
