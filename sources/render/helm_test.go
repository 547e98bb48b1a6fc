package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/sources"
)

// chartRepo reads testdata/helm into a repository with the charts under
// charts/ (charts/web, charts/umbrella, ...).
func chartRepo(t *testing.T) sources.Files {
	t.Helper()
	files := sources.Files{}
	err := filepath.WalkDir("testdata/helm", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/helm", p)
		files["charts/"+filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	files["charts/umbrella/charts/db-0.2.0.tgz"] = chartArchive(t, "db", map[string]string{
		"Chart.yaml":            "apiVersion: v2\nname: db\nversion: 0.2.0\n",
		"values.yaml":           "storage: 1Gi\n",
		"templates/claim.yaml":  "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: '{{ .Release.Name }}-db'}\nspec:\n  resources: {requests: {storage: '{{ .Values.storage }}'}}\n",
		"templates/_unused.tpl": "{{ define \"x\" }}{{ end }}",
	})
	return files
}

// chartArchive packs a chart as `helm package` does: name/ prefixed, gzipped tar.
func chartArchive(t *testing.T, name string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for p, s := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name + "/" + p, Mode: 0o644, Size: int64(len(s)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// summary is "Kind name <- file[index]" per object, in order.
func summary(objs []sources.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Object.GetKind()+" "+o.Object.GetName()+" <- "+docID(o.Origin.File, o.Origin.Index))
	}
	return out
}

func TestRenderHelm(t *testing.T) {
	repo := chartRepo(t)
	tests := []struct {
		name  string
		opt   HelmOptions
		want  []string
		hooks []string
		check func(t *testing.T, res *Result)
	}{
		{
			name: "chart with values.yaml, crds first, hooks and NOTES left out",
			opt:  HelmOptions{Chart: "charts/web", ReleaseName: "shop", Namespace: "prod", IncludeCRDs: true},
			want: []string{
				"CustomResourceDefinition widgets.example.com <- charts/web/crds/widgets.yaml[0]",
				"Deployment shop-web <- charts/web/templates/deployment.yaml[0]",
				"Service shop-web <- charts/web/templates/service.yaml[0]",
			},
			hooks: []string{"Job/batch shop-web-migrate pre-install,pre-upgrade <- charts/web/templates/hook-job.yaml[0]"},
			check: func(t *testing.T, res *Result) {
				d := res.Objects[1].Object.Object
				spec := d["spec"].(map[string]any)
				if spec["replicas"] != int64(1) {
					t.Errorf("replicas = %#v, want 1 from values.yaml", spec["replicas"])
				}
				if ns := res.Objects[2].Object.GetNamespace(); ns != "prod" {
					t.Errorf("Service namespace = %q, want .Release.Namespace prod", ns)
				}
			},
		},
		{
			name: "values files in order, then set; hooks applied; no CRDs; api versions",
			opt: HelmOptions{
				Chart: "charts/web", ReleaseName: "shop", ApplyHooks: true,
				Values: []ValuesFile{
					{Name: "env/a.yaml", Data: []byte("replicaCount: 2\nimage: {tag: \"7.0\"}\n")},
					{Name: "env/b.yaml", Data: []byte("replicaCount: 3\n")},
				},
				Set:         []SetValue{{Key: "service.port", Value: "8080"}, {Key: "image.tag", Value: "1.10", String: true}},
				APIVersions: []string{"monitoring.coreos.com/v1/ServiceMonitor"},
			},
			want: []string{
				"Deployment shop-web <- charts/web/templates/deployment.yaml[0]",
				"Job shop-web-migrate <- charts/web/templates/hook-job.yaml[0]",
				"Service shop-web <- charts/web/templates/service.yaml[0]",
				"ServiceMonitor shop-web <- charts/web/templates/service.yaml[1]",
			},
			check: func(t *testing.T, res *Result) {
				spec := res.Objects[0].Object.Object["spec"].(map[string]any)
				if spec["replicas"] != int64(3) {
					t.Errorf("replicas = %#v, want 3 from the last values file", spec["replicas"])
				}
				c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
				if c["image"] != "ghcr.io/stefanprodan/podinfo:1.10" {
					t.Errorf("image = %v, want tag 1.10 kept a string by set", c["image"])
				}
				if p := c["ports"].([]any)[0].(map[string]any)["containerPort"]; p != int64(8080) {
					t.Errorf("containerPort = %#v, want 8080 from set", p)
				}
			},
		},
		{
			name: "vendored dependencies: a folder and a .tgz, condition and parent values",
			opt:  HelmOptions{Chart: "charts/umbrella", ReleaseName: "u"},
			want: []string{
				"ConfigMap u-cache <- charts/umbrella/charts/cache/templates/configmap.yaml[0]",
				"PersistentVolumeClaim u-db <- charts/umbrella/charts/db/templates/claim.yaml[0]",
				"ConfigMap u-umbrella <- charts/umbrella/templates/configmap.yaml[0]",
			},
			check: func(t *testing.T, res *Result) {
				if got := res.Objects[0].Object.Object["data"].(map[string]any)["size"]; got != "2" {
					t.Errorf("cache size = %v, want 2 from the parent's values", got)
				}
			},
		},
		{
			name: "a dependency switched off by its condition",
			opt:  HelmOptions{Chart: "charts/umbrella", ReleaseName: "u", Set: []SetValue{{Key: "db.enabled", Value: "false"}}},
			want: []string{
				"ConfigMap u-cache <- charts/umbrella/charts/cache/templates/configmap.yaml[0]",
				"ConfigMap u-umbrella <- charts/umbrella/templates/configmap.yaml[0]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := RenderHelm(context.Background(), repo, tt.opt, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if res.Mode != ModeHelm {
				t.Errorf("mode = %s", res.Mode)
			}
			if got := summary(res.Objects); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var hooks []string
			for _, h := range res.Hooks {
				hooks = append(hooks, h.Object+" "+h.Events+" <- "+docID(h.Origin.File, h.Origin.Index))
			}
			if strings.Join(hooks, "\n") != strings.Join(tt.hooks, "\n") {
				t.Errorf("hooks: %q, want %q", hooks, tt.hooks)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestRenderHelmDeterministic(t *testing.T) {
	repo := chartRepo(t)
	opt := HelmOptions{Chart: "charts/umbrella", ReleaseName: "u", IncludeCRDs: true}
	first, err := RenderHelm(context.Background(), repo, opt, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := RenderHelm(context.Background(), repo, opt, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if a, b := strings.Join(summary(first.Objects), ","), strings.Join(summary(again.Objects), ","); a != b {
			t.Fatalf("render order changed:\n%s\n%s", a, b)
		}
	}
}

func TestRenderHelmFailures(t *testing.T) {
	repo := chartRepo(t)
	small := DefaultOptions()
	small.MaxBytes = 1 << 20
	tests := []struct {
		name    string
		opt     HelmOptions
		limits  Options
		kind    error
		message []string
	}{
		{
			name:    "dependency in Chart.lock not vendored",
			opt:     HelmOptions{Chart: "charts/unvendored", ReleaseName: "x"},
			kind:    ErrNotFound,
			message: []string{"dependency redis 19.0.0 from https://charts.bitnami.com/bitnami is not vendored in charts/", "`helm dependency build`"},
		},
		{
			name:    "lookup",
			opt:     HelmOptions{Chart: "charts/lookup", ReleaseName: "x", Namespace: "prod"},
			kind:    ErrUnsupported,
			message: []string{`lookup "v1" "Secret" "prod" "db-password": lookup is off`},
		},
		{
			name:    "recursive include",
			opt:     HelmOptions{Chart: "charts/recursion", ReleaseName: "x"},
			kind:    ErrHelm,
			message: []string{"nested reference name: bomb"},
		},
		{
			name:    "huge output",
			opt:     HelmOptions{Chart: "charts/huge", ReleaseName: "x"},
			limits:  small,
			kind:    ErrLimit,
			message: []string{"charts/huge/templates/cms.yaml: templates produced more than 1048576 bytes"},
		},
		{
			name:    "render time",
			opt:     HelmOptions{Chart: "charts/slow", ReleaseName: "x", Timeout: 50 * time.Millisecond},
			kind:    ErrLimit,
			message: []string{"templates did not finish within 50ms"},
		},
		{
			name:    "not a chart",
			opt:     HelmOptions{Chart: "charts", ReleaseName: "x"},
			kind:    ErrNotFound,
			message: []string{"render chart charts: charts: no Chart.yaml"},
		},
		{
			name:    "bad values file",
			opt:     HelmOptions{Chart: "charts/web", ReleaseName: "x", Values: []ValuesFile{{Name: "env/bad.yaml", Data: []byte("a: [")}}},
			kind:    ErrInvalid,
			message: []string{"values env/bad.yaml:"},
		},
		{
			name:    "chart path leaves the repository",
			opt:     HelmOptions{Chart: "../x"},
			kind:    ErrInvalid,
			message: []string{"path leaves the repository"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RenderHelm(context.Background(), repo, tt.opt, tt.limits)
			if err == nil {
				t.Fatal("rendered, want an error")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			for _, m := range tt.message {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}
