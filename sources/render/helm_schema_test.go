package render

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trueup-dev/trueup/sources"
)

// TestRenderHelmValuesSchema: a chart's values.schema.json is checked
// against the merged values, as helm template does: a values file that
// breaks it fails the render naming the field and the rule.
func TestRenderHelmValuesSchema(t *testing.T) {
	files := sources.Files{
		"app/Chart.yaml":  []byte("apiVersion: v2\nname: app\nversion: 1.0.0\n"),
		"app/values.yaml": []byte("replicaCount: 1\n"),
		"app/values.schema.json": []byte(`{"$schema": "https://json-schema.org/draft-07/schema#", "type": "object",
  "properties": {"replicaCount": {"type": "integer", "minimum": 1}}, "required": ["replicaCount"]}`),
		"app/templates/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {replicas: {{ .Values.replicaCount | quote }}}\n"),
	}
	opt := HelmOptions{Chart: "app", ReleaseName: "app"}
	if _, err := RenderHelm(context.Background(), files, opt, DefaultOptions()); err != nil {
		t.Fatalf("valid values: %v", err)
	}
	for _, bad := range []string{"replicaCount: two\n", "replicaCount: 0\n"} {
		opt.Values = []ValuesFile{{Name: "envs/prod.yaml", Data: []byte(bad)}}
		_, err := RenderHelm(context.Background(), files, opt, DefaultOptions())
		if !errors.Is(err, ErrHelm) || !strings.Contains(err.Error(), "replicaCount") || !strings.Contains(err.Error(), "schema") {
			t.Errorf("values %q: %v, want a schema error naming replicaCount", bad, err)
		}
	}

	// References outside the schema are never followed: not the daemon's
	// files, not its network.
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "object"}`))
	}))
	defer srv.Close()
	for _, ref := range []string{"file:///etc/passwd", srv.URL + "/schema.json"} {
		files["app/values.schema.json"] = []byte(`{"type": "object", "properties": {"replicaCount": {"$ref": "` + ref + `"}}}`)
		opt.Values = nil
		_, err := RenderHelm(context.Background(), files, opt, DefaultOptions())
		if !errors.Is(err, ErrHelm) || !strings.Contains(err.Error(), "follows no reference") || strings.Contains(err.Error(), "root:") {
			t.Errorf("$ref %s: %v, want a refusal", ref, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the schema's http reference was fetched %d times", hits.Load())
	}
}
