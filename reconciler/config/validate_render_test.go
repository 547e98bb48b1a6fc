package config

import (
	"errors"
	"strings"
	"testing"
)

const renderTarget = "targets:\n  - name: web\n    source: platform\n    cluster: prod\n    namespace: shop\n"

func TestRenderHelmErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "render without a renderer",
			yaml: "    render: {}\n",
			want: []string{"targets[0].render: set helm"},
		},
		{
			name: "chart missing",
			yaml: "    render: {helm: {}}\n",
			want: []string{"targets[0].render.helm.chart: required"},
		},
		{
			name: "chart outside the repository and path set too",
			yaml: "    path: apps/web\n    render: {helm: {chart: ../web}}\n",
			want: []string{
				`targets[0].path: leave path unset with render.helm`,
				`targets[0].render.helm.chart: "../web" must be a path inside the repository`,
			},
		},
		{
			name: "chart of the wrong type",
			yaml: "    render: {helm: {chart: 3}}\n",
			want: []string{"targets[0].render.helm.chart: want a chart folder path"},
		},
		{
			name: "remote chart with an unknown field",
			yaml: "    render: {helm: {chart: {repository: https://charts.example.com, name: web, versoin: 1.0.0}}}\n",
			want: []string{`targets[0].render.helm.chart.versoin: unknown field (did you mean "version"?)`},
		},
		{
			name: "remote chart shape",
			yaml: "    render: {helm: {chart: {repository: ftp://x, version: '>>1', digest: md5:1}}}\n",
			want: []string{
				`targets[0].render.helm.chart.repository: "ftp://x": want an https:// chart repository or an oci:// registry`,
				`targets[0].render.helm.chart.name: required`,
				`targets[0].render.helm.chart.version: ">>1" is not a version or semver range`,
				`targets[0].render.helm.chart.digest: "md5:1": want sha256:`,
			},
		},
		{
			name: "values, set, names and versions",
			yaml: "    render:\n      helm:\n        chart: charts/web\n        values: [{source: other}, {path: /etc/v.yaml}]\n" +
				"        set: {'a=b': 1, image.tag: [1], ok: true}\n        releaseName: Web\n        namespace: Shop\n" +
				"        kubeVersion: one\n        apiVersions: ['not ok']\n        hooks: run\n        includeCRDs: yes please\n",
			want: []string{
				`targets[0].render.helm.values[0].path: required`,
				`targets[0].render.helm.values[0].source: unknown source "other"`,
				`targets[0].render.helm.values[1].path: "/etc/v.yaml" must be a path inside the repository`,
				`targets[0].render.helm.set["a=b"]: "a=b" is not a value key`,
				`targets[0].render.helm.set["image.tag"]: want a string, number or boolean, got a list`,
				`targets[0].render.helm.releaseName: "Web" is not a valid release name`,
				`targets[0].render.helm.namespace: "Shop" is not a valid namespace name`,
				`targets[0].render.helm.kubeVersion: "one" is not a Kubernetes version`,
				`targets[0].render.helm.apiVersions[0]: "not ok" is not an API version`,
				`targets[0].render.helm.hooks: unknown value "run": use one of skip, apply`,
				`targets[0].render.helm.includeCRDs: want true or false`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + renderTarget + tt.yaml))
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("want Errors, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(fe.Error(), w) {
					t.Errorf("missing %q in:\n%s", w, fe.Error())
				}
			}
		})
	}
}

func TestRenderHelmDefaults(t *testing.T) {
	cfg, err := Parse([]byte(base + renderTarget + "    render:\n      helm:\n        chart: charts/web\n" +
		"        values: [{path: env/prod.yaml}]\n        set: {replicaCount: 3, image.tag: \"1.2\", debug: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := cfg.Target("web")
	h := tg.Render.Helm
	if h.Chart.Path != "charts/web" || h.Chart.Remote != nil {
		t.Errorf("chart = %+v, want the path charts/web", h.Chart)
	}
	if h.ReleaseName != "web" || h.Namespace != "shop" || !h.IncludesCRDs() || h.Hooks != HooksSkip {
		t.Errorf("defaults: releaseName %q namespace %q includeCRDs %v hooks %q; want web, shop, true, skip",
			h.ReleaseName, h.Namespace, h.IncludesCRDs(), h.Hooks)
	}
	for k, want := range map[string]string{"replicaCount": "3", "image.tag": "1.2", "debug": "false"} {
		if got := h.Set[k].String(); got != want {
			t.Errorf("set[%s] = %q, want %q", k, got, want)
		}
	}
	if _, isString := h.Set["image.tag"].Value.(string); !isString {
		t.Errorf("set[image.tag] is %T, want a string", h.Set["image.tag"].Value)
	}

	remote, err := Parse([]byte(base + renderTarget + "    render: {helm: {chart: {repository: oci://ghcr.io/x, name: web, version: ^1.0.0}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg, _ = remote.Target("web")
	if r := tg.Render.Helm.Chart.Remote; r == nil || r.Name != "web" || r.Version != "^1.0.0" {
		t.Errorf("remote chart = %+v", r)
	}
}
