package config

import (
	"errors"
	"strings"
	"testing"
)

func TestHelmPostRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"folder missing", "postRender: {}", "targets[0].render.helm.postRender.kustomization: required"},
		{"outside the repository", "postRender: {kustomization: ../post}", `targets[0].render.helm.postRender.kustomization: "../post" must be a path inside the repository`},
		{"a file instead of its folder", "postRender: {kustomization: apps/web/kustomization.yaml}", `targets[0].render.helm.postRender.kustomization: "apps/web/kustomization.yaml": name the folder that holds the kustomization file, like apps/web`},
		{"unknown field", "postRender: {kustomize: {patches: []}}", "targets[0].render.helm.postRender.kustomize: unknown field"},
		{"a list", "postRender: [{kustomization: apps/web}]", "targets[0].render.helm.postRender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + renderTarget + "    render: {helm: {chart: charts/web, " + tt.yaml + "}}\n"))
			if err == nil {
				t.Fatal("no error")
			}
			var fe Errors
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestHelmPostRenderParses(t *testing.T) {
	cfg, err := Parse([]byte(base + renderTarget + "    render: {helm: {chart: charts/web, postRender: {kustomization: apps/web/post}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := cfg.Target("web")
	if pr := tg.Render.Helm.PostRender; pr == nil || pr.Kustomization != "apps/web/post" {
		t.Fatalf("postRender = %+v", pr)
	}
}
