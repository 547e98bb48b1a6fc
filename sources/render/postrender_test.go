package render_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/fixtures/helm"
	"github.com/trueup-dev/trueup/fixtures/helmoracle"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
)

// postRenderKustomization is a post-render kustomization over podinfo: a
// strategic-merge patch file (replicas), an inline JSON 6902 patch (a
// label on the Deployment), images, labels on every object, the namespace,
// and a resource of its own. resources is filled in by the callers.
const postRenderKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web
%RESOURCES%
patches:
  - path: replicas.yaml
  - target: {kind: Deployment, name: podinfo}
    patch: |-
      - op: add
        path: /metadata/labels/tier
        value: frontend
images:
  - name: ghcr.io/stefanprodan/podinfo
    newTag: 6.9.3
labels:
  - pairs: {team: web}
`

var postRenderFiles = map[string]string{
	"replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: podinfo, namespace: web}\nspec: {replicas: 5}\n",
	"extra.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: podinfo-extra}\ndata: {owner: web}\n",
}

// postRenderTree is podinfo at chart/ and the post-render kustomization at
// post/ (listing only its own resource).
func postRenderTree() sources.Files {
	files := sources.Files{}
	for p, data := range helm.Files(helm.Podinfo) {
		files["chart/"+p] = data
	}
	files["post/kustomization.yaml"] = []byte(strings.Replace(postRenderKustomization, "%RESOURCES%", "resources: [extra.yaml]", 1))
	for p, data := range postRenderFiles {
		files["post/"+p] = []byte(data)
	}
	return files
}

// podinfoProd are the options of the podinfo-prod parity case.
func podinfoProd(t *testing.T) render.HelmOptions {
	t.Helper()
	c := helmoracle.Case("podinfo-prod")
	h := render.HelmOptions{Chart: "chart", ReleaseName: c.Options.ReleaseName, Namespace: c.Options.Namespace, KubeVersion: helmoracle.DefaultKubeVersion}
	for _, v := range c.Options.ValuesFiles {
		data, err := os.ReadFile(v)
		if err != nil {
			t.Fatal(err)
		}
		h.Values = append(h.Values, render.ValuesFile{Name: v, Data: data})
	}
	return h
}

func renderPostRendered(t *testing.T, files sources.Files, opt render.Options) (*render.Result, error) {
	t.Helper()
	h := podinfoProd(t)
	h.PostRender = &render.PostRender{Files: files, Kustomization: "post"}
	return render.RenderHelm(t.Context(), files, h, opt)
}

// kustomizeOracle runs `kubectl kustomize` over `helm template`'s objects
// (hooks left out) added to the post-render kustomization's resources.
func kustomizeOracle(t *testing.T, chart []map[string]any) []map[string]any {
	t.Helper()
	dir := t.TempDir()
	var manifest []byte
	for _, o := range chart {
		data, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		manifest = append(append(manifest, "---\n"...), data...)
	}
	files := map[string]string{
		"kustomization.yaml":    strings.Replace(postRenderKustomization, "%RESOURCES%", "resources: [helm-output.yaml, extra.yaml]", 1),
		render.PostRenderOutput: string(manifest),
	}
	for p, data := range postRenderFiles {
		files[p] = data
	}
	for p, data := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	objs, err := helmoracle.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestHelmPostRenderParity: podinfo rendered and post-rendered by trueup
// equals `helm template` piped through `kubectl kustomize`.
func TestHelmPostRenderParity(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed: it is the kustomize oracle")
	}
	c := helmoracle.Case("podinfo-prod")
	want := kustomizeOracle(t, helmoracle.WithoutHooks(helmoracle.Template(t, c.ChartDir, c.Options)))
	res, err := renderPostRendered(t, postRenderTree(), render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := make([]map[string]any, 0, len(res.Objects))
	for _, o := range res.Objects {
		got = append(got, o.Object.Object)
	}
	helmoracle.Equal(t, want, helmoracle.Normalise(got))
}

// TestHelmPostRender checks what the post-render changed, the origins it
// keeps, and that hooks stay out.
func TestHelmPostRender(t *testing.T) {
	res, err := renderPostRendered(t, postRenderTree(), render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != render.ModeHelm || len(res.Kustomize) != len(res.Objects) {
		t.Fatalf("mode %s, %d kustomize origins for %d objects", res.Mode, len(res.Kustomize), len(res.Objects))
	}
	found := map[string]bool{}
	for i, o := range res.Objects {
		u := o.Object
		key := u.GetKind() + "/" + u.GetName()
		found[key] = true
		if u.GetNamespace() != "web" || u.GetLabels()["team"] != "web" {
			t.Errorf("%s: namespace %q, labels %v: want namespace web and team=web", key, u.GetNamespace(), u.GetLabels())
		}
		if _, hook := u.GetAnnotations()["helm.sh/hook"]; hook {
			t.Errorf("%s: a hook was post-rendered into the objects", key)
		}
		for a := range u.GetAnnotations() {
			if strings.HasPrefix(a, "trueup.dev/") || strings.HasPrefix(a, "config.kubernetes.io/") {
				t.Errorf("%s: build annotation %s left on the object", key, a)
			}
		}
		ko := res.Kustomize[i]
		switch key {
		case "Deployment/podinfo":
			if o.Origin.File != "chart/templates/deployment.yaml" || ko.File != o.Origin.File {
				t.Errorf("Deployment origin %+v / %+v, want its template", o.Origin, ko)
			}
			if r, _, _ := unstructuredInt(u.Object, "spec", "replicas"); r != 5 || u.GetLabels()["tier"] != "frontend" {
				t.Errorf("Deployment replicas %d, labels %v: want the patches' 5 and tier=frontend", r, u.GetLabels())
			}
			if !hasStep(ko, "post/kustomization.yaml", "PatchTransformer") || !hasStep(ko, "post/kustomization.yaml", "ImageTagTransformer") {
				t.Errorf("Deployment transformers %+v lack the post-render's patch and image steps", ko.Transformers)
			}
		case "Service/podinfo":
			if o.Origin.File != "chart/templates/service.yaml" {
				t.Errorf("Service origin %+v, want its template", o.Origin)
			}
		case "ConfigMap/podinfo-extra":
			if o.Origin.File != "post/extra.yaml" {
				t.Errorf("the kustomization's own ConfigMap has origin %+v, want post/extra.yaml", o.Origin)
			}
		}
	}
	for _, k := range []string{"Deployment/podinfo", "Service/podinfo", "HorizontalPodAutoscaler/podinfo", "ConfigMap/podinfo-extra"} {
		if !found[k] {
			t.Errorf("%s missing from the post-rendered objects", k)
		}
	}
	if len(res.Hooks) == 0 {
		t.Error("podinfo's test hooks are not reported as set aside")
	}
}

func unstructuredInt(m map[string]any, fields ...string) (int64, bool, error) {
	var v any = m
	for _, f := range fields {
		mm, _ := v.(map[string]any)
		v = mm[f]
	}
	switch n := v.(type) {
	case int64:
		return n, true, nil
	case float64:
		return int64(n), true, nil
	}
	return 0, false, nil
}

func hasStep(ko render.KustomizeOrigin, file, kind string) bool {
	for _, s := range ko.Transformers {
		if s.ConfiguredIn == file && s.Kind == kind {
			return true
		}
	}
	return false
}

// TestHelmPostRenderErrors: a missing or malformed post-render fails the
// render with the kind of error and what to do.
func TestHelmPostRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(sources.Files)
		opt    render.Options
		kind   error
		substr string
	}{
		{"no kustomization", func(f sources.Files) { delete(f, "post/kustomization.yaml") }, render.Options{},
			render.ErrNotFound, "post: no kustomization.yaml"},
		{"lists the chart output", func(f sources.Files) {
			f["post/kustomization.yaml"] = []byte("resources: [helm-output.yaml]\n")
		}, render.Options{}, render.ErrInvalid, "resources lists helm-output.yaml"},
		{"a file takes the chart output's name", func(f sources.Files) { f["post/helm-output.yaml"] = []byte("{}\n") }, render.Options{},
			render.ErrInvalid, "post/helm-output.yaml: the post-render adds the chart's objects as helm-output.yaml"},
		{"a remote resource", func(f sources.Files) {
			f["post/kustomization.yaml"] = []byte("resources: [https://example.com/x.yaml]\n")
		}, render.Options{}, render.ErrRemote, "remote references are not allowed"},
		{"a patch that matches nothing", func(f sources.Files) {
			f["post/kustomization.yaml"] = []byte("patches: [{path: missing.yaml}]\n")
		}, render.Options{}, render.ErrNotFound, "missing.yaml"},
		// 6 chart objects and 3 test hooks pass the chart render; the
		// kustomization's ConfigMap is one too many.
		{"more objects than the limit", func(sources.Files) {}, render.Options{MaxObjects: 9},
			render.ErrLimit, "more than 9 objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := postRenderTree()
			tt.edit(files)
			_, err := renderPostRendered(t, files, tt.opt)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.substr) || !strings.HasPrefix(err.Error(), "post-render chart chart: ") {
				t.Fatalf("error %v: want %v with %q", err, tt.kind, tt.substr)
			}
		})
	}
}

// TestHelmPostRenderOriginsSurviveRenamesAndDroppedAnnotations: a name
// prefix renames the chart's objects and a patch replaces the Service's
// annotations (dropping the origin mark): both keep their template.
func TestHelmPostRenderOriginsSurviveRenamesAndDroppedAnnotations(t *testing.T) {
	files := postRenderTree()
	files["post/kustomization.yaml"] = []byte(`namePrefix: prod-
patches:
  - target: {kind: Service}
    patch: |-
      - {op: replace, path: /metadata/annotations, value: {owner: web}}
`)
	res, err := renderPostRendered(t, files, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Deployment/prod-podinfo": "chart/templates/deployment.yaml",
		"Service/prod-podinfo":    "chart/templates/service.yaml",
	}
	for _, o := range res.Objects {
		k := o.Object.GetKind() + "/" + o.Object.GetName()
		if f, ok := want[k]; ok {
			if o.Origin.File != f {
				t.Errorf("%s: origin %+v, want %s", k, o.Origin, f)
			}
			delete(want, k)
		}
	}
	if len(want) != 0 {
		t.Errorf("not rendered: %v", want)
	}
}

// TestHelmPostRenderSetsHooksAside: a hook among the kustomization's own
// resources is set aside like the chart's, unless hooks are applied.
func TestHelmPostRenderSetsHooksAside(t *testing.T) {
	files := postRenderTree()
	files["post/kustomization.yaml"] = []byte("resources: [job.yaml]\n")
	files["post/job.yaml"] = []byte("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-upgrade}\n" +
		"spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}\n")
	for _, apply := range []bool{false, true} {
		h := podinfoProd(t)
		h.ApplyHooks = apply
		h.PostRender = &render.PostRender{Files: files, Kustomization: "post"}
		res, err := render.RenderHelm(t.Context(), files, h, render.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		applied, setAside := false, false
		for _, o := range res.Objects {
			applied = applied || o.Object.GetName() == "migrate"
		}
		for _, hk := range res.Hooks {
			setAside = setAside || (hk.Object == "Job/batch migrate" && hk.Events == "pre-upgrade" && hk.Origin.File == "post/job.yaml")
		}
		if applied != apply || setAside == apply {
			t.Errorf("applyHooks %v: the kustomization's hook Job applied %v, set aside %v (hooks %+v)", apply, applied, setAside, res.Hooks)
		}
	}
}
