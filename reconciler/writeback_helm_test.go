package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/writeback"
)

// writebackChart is a chart whose Deployment takes replicas, image
// (repository:tag) and port from values, and an env value computed from
// the port.
func writebackChart() sources.Files {
	return sources.Files{
		"charts/app/Chart.yaml":  []byte("apiVersion: v2\nname: app\nversion: 1.0.0\n"),
		"charts/app/values.yaml": []byte("replicaCount: 1\nimage:\n  repository: ghcr.io/acme/app\n  tag: 1.0.0\nport: 9898\n"),
		"charts/app/templates/deployment.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports: [{containerPort: {{ .Values.port }}}]
          env:
            - name: DOUBLE_PORT
              value: {{ mul .Values.port 2 | quote }}
`),
		"envs/prod/values.yaml": []byte("# production\nreplicaCount: 3 # three zones\n\nport: 8080\n"),
	}
}

// TestHelmWritebackTracesValues: a drifted field of a chart's object is
// written into the values file line that renders it (replicas), added to
// the target's values file when only the chart's defaults set it (the
// image tag, a part of the image string), and refused with why when
// render.helm.set fixes it or no single value renders it.
func TestHelmWritebackTracesValues(t *testing.T) {
	files := writebackChart()
	l := NewDesiredLoader(nil, nil)
	target := func(set map[string]config.SetValue) *config.Target {
		return &config.Target{Name: "app", Source: "apps", Namespace: "app", Render: &config.Render{Helm: &config.HelmRender{
			Chart: config.HelmChart{Path: "charts/app"}, ReleaseName: "app", Namespace: "app",
			Values: []config.HelmValuesFile{{Path: "envs/prod/values.yaml"}}, Set: set,
		}}}
	}
	ref := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "app", Name: "app"}
	ctx := context.Background()

	res, err := l.helmWriteback(ctx, target(nil), files, ref, []writeback.Change{
		{Path: "/spec/replicas", Live: int64(5)},
		{Path: "/spec/template/spec/containers/0/image", Live: "ghcr.io/acme/app:1.2.3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "# production\nreplicaCount: 5 # three zones\n\nport: 8080\nimage:\n  tag: 1.2.3\n"
	if got := string(res.Files["envs/prod/values.yaml"]); got != want {
		t.Fatalf("values file:\n%s\nwant:\n%s", got, want)
	}
	if len(res.Files) != 1 {
		t.Errorf("files written: %v, want only the values file (the chart's defaults are shared)", keysOf(res.Files))
	}
	if len(res.Changes) != 2 {
		t.Fatalf("changes %+v", res.Changes)
	}
	if c := res.Changes[0]; c.File != "envs/prod/values.yaml" || c.Line != 2 || c.Action != writeback.SetInValues {
		t.Errorf("replicas written as %+v, want line 2 of envs/prod/values.yaml, set-in-values", c)
	}
	if c := res.Changes[1]; c.File != "envs/prod/values.yaml" || c.Line != 6 || c.Action != writeback.AddedToValues {
		t.Errorf("image written as %+v, want added at line 6", c)
	}

	_, err = l.helmWriteback(ctx, target(map[string]config.SetValue{"replicaCount": {Value: float64(3)}}), files, ref,
		[]writeback.Change{{Path: "/spec/replicas", Live: int64(5)}})
	if !errors.Is(err, writeback.ErrUnsupported) || !strings.Contains(err.Error(), "render.helm.set[replicaCount]") {
		t.Errorf("a value fixed by set: %v", err)
	}
	_, err = l.helmWriteback(ctx, target(nil), files, ref,
		[]writeback.Change{{Path: "/spec/template/spec/containers/0/env/0/value", Live: "17000"}})
	if !errors.Is(err, writeback.ErrUnsupported) || !strings.Contains(err.Error(), "no single Helm value") ||
		!strings.Contains(err.Error(), "charts/app/templates/deployment.yaml") || strings.Contains(err.Error(), "17000") {
		t.Errorf("a computed value: %v", err)
	}
	_, err = l.helmWriteback(ctx, target(nil), files, ref, []writeback.Change{{Path: "/spec/replicas", Live: int64(5), Masked: true}})
	if !errors.Is(err, writeback.ErrSecret) {
		t.Errorf("a masked value: %v", err)
	}
}

func keysOf(f sources.Files) []string {
	var out []string
	for k := range f {
		out = append(out, k)
	}
	return out
}
