package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	fixture "github.com/trueup-dev/trueup/fixtures/kustomize"
	"github.com/trueup-dev/trueup/sources"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

const fixtureDir = "../../fixtures/kustomize"

// kubectlKustomize runs `kubectl kustomize` on a directory. The machine
// image ships kubectl; without it the comparison cannot be made, and that
// is a failure, not a skip.
func kubectlKustomize(t *testing.T, dir string) []byte {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl not found on PATH (%v): it is needed to check the kustomize build against `kubectl kustomize`; install kubectl (v1.32 with kustomize v5.5 on the machine image)", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v: %s", dir, err, stderr.String())
	}
	return out
}

// decodeStream decodes a YAML stream into objects keyed by
// apiVersion/kind/namespace/name.
func decodeStream(t *testing.T, data []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("decode: %v", err)
		}
		m := u.Object
		if m == nil {
			continue
		}
		meta, _ := m["metadata"].(map[string]any)
		key := fmt.Sprintf("%v/%v/%v/%v", m["apiVersion"], m["kind"], meta["namespace"], meta["name"])
		if _, dup := out[key]; dup {
			t.Fatalf("duplicate %s", key)
		}
		out[key] = m
	}
}

// renderedStream returns the objects of a result as decodeStream would.
func renderedStream(t *testing.T, objs []sources.Object) ([]byte, map[string]map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteYAML(&buf, objs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), decodeStream(t, buf.Bytes())
}

func TestKustomizeMatchesKubectl(t *testing.T) {
	want := kubectlKustomize(t, fixtureDir+"/"+fixture.Overlay)
	res, err := Render(sources.Files(fixture.Files()), fixture.Overlay, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != ModeKustomize {
		t.Errorf("mode = %q", res.Mode)
	}
	out, got := renderedStream(t, res.Objects)
	wantObjs := decodeStream(t, want)
	if len(wantObjs) != 5 {
		t.Fatalf("kubectl built %d objects, the fixture has 5", len(wantObjs))
	}
	for key, w := range wantObjs {
		g, ok := got[key]
		if !ok {
			t.Errorf("missing %s", key)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs:\n got %v\nwant %v", key, g, w)
		}
	}
	for key := range got {
		if _, ok := wantObjs[key]; !ok {
			t.Errorf("unexpected %s", key)
		}
	}
	// The objects themselves (not only their YAML) match kubectl's.
	for _, o := range res.Objects {
		key := fmt.Sprintf("%s/%s/%s/%s", o.Object.GetAPIVersion(), o.Object.GetKind(), nilIfEmpty(o.Object.GetNamespace()), o.Object.GetName())
		if w, ok := wantObjs[key]; !ok || !reflect.DeepEqual(o.Object.Object, w) {
			t.Errorf("object %s differs from kubectl's", key)
		}
	}
	t.Run("WriteYAML prints what kustomize build prints", func(t *testing.T) {
		if !bytes.Equal(out, want) {
			t.Errorf("WriteYAML:\n%s\nkubectl kustomize:\n%s", out, want)
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestKustomizeOrigins(t *testing.T) {
	res, err := Render(sources.Files(fixture.Files()), fixture.Overlay, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, o := range res.Objects {
		byName[o.Object.GetKind()+"/"+o.Object.GetName()] = i
	}
	gen := ""
	for k := range byName {
		if strings.HasPrefix(k, "ConfigMap/prod-app-config-") {
			gen = k
		}
	}
	tests := []struct {
		object string
		origin sources.Origin
		file   string // KustomizeOrigin.File
		genBy  *KustomizeStep
	}{
		{"ServiceAccount/prod-web", sources.Origin{File: "base/deployment.yaml", Index: 0}, "base/deployment.yaml", nil},
		{"Deployment/prod-web", sources.Origin{File: "base/deployment.yaml", Index: 1}, "base/deployment.yaml", nil},
		{"ConfigMap/prod-web-settings", sources.Origin{File: "base/configmap.yaml", Index: 0}, "base/configmap.yaml", nil},
		// The JSON patch replaces the Service's annotations, and with them
		// kustomize's origin record; the file is found by kind and name.
		{"Service/prod-web", sources.Origin{File: "base/service.yaml", Index: 0}, "base/service.yaml", nil},
		{gen, sources.Origin{File: "overlays/prod/kustomization.yaml"}, "", &KustomizeStep{ConfiguredIn: "overlays/prod/kustomization.yaml", Kind: "ConfigMapGenerator"}},
	}
	for _, tt := range tests {
		t.Run(tt.object, func(t *testing.T) {
			i, ok := byName[tt.object]
			if !ok {
				t.Fatalf("no object %s in %v", tt.object, byName)
			}
			if got := res.Objects[i].Origin; got != tt.origin {
				t.Errorf("origin = %+v, want %+v", got, tt.origin)
			}
			ko := res.Kustomize[i]
			if ko.File != tt.file || !reflect.DeepEqual(ko.GeneratedBy, tt.genBy) {
				t.Errorf("kustomize origin = %+v", ko)
			}
		})
	}
	// The Deployment passed the base's label transformer, then the
	// overlay's patches: enough to tell a base field from an overlay patch.
	steps := res.Kustomize[byName["Deployment/prod-web"]].Transformers
	want := []KustomizeStep{
		{"base/kustomization.yaml", "LabelTransformer"},
		{"overlays/prod/kustomization.yaml", "PatchTransformer"},
		{"overlays/prod/kustomization.yaml", "NamespaceTransformer"},
		{"overlays/prod/kustomization.yaml", "PrefixTransformer"},
		{"overlays/prod/kustomization.yaml", "LabelTransformer"},
		{"overlays/prod/kustomization.yaml", "ImageTagTransformer"},
	}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("transformers:\n got %v\nwant %v", steps, want)
	}
	// No tracking annotation leaks into the objects.
	for _, o := range res.Objects {
		for k := range o.Object.GetAnnotations() {
			if strings.Contains(k, "config.kubernetes.io") {
				t.Errorf("%s keeps annotation %s", o.Object.GetName(), k)
			}
		}
	}
}

// kustomizeRepo is a small repository: a base, and an app kustomization
// whose content each test chooses.
func kustomizeRepo(app string, extra ...string) sources.Files {
	files := sources.Files{
		"base/kustomization.yaml": []byte("resources: [cm.yaml]\n"),
		"base/cm.yaml":            []byte(cmA),
		"app/kustomization.yaml":  []byte(app),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		files[extra[i]] = []byte(extra[i+1])
	}
	return files
}

func TestKustomizeRefusals(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, cmB)
	}))
	defer srv.Close()
	tests := []struct {
		name  string
		files sources.Files
		kind  error
		msg   string
	}{
		{"remote base over https", kustomizeRepo("resources:\n- https://github.com/org/repo//deploy?ref=v1\n"), ErrRemote,
			`render "app": app/kustomization.yaml: resources[0] "https://github.com/org/repo//deploy?ref=v1": remote references are not allowed`},
		{"remote resource file", kustomizeRepo("resources:\n- ../base\n- " + srv.URL + "/cm.yaml\n"), ErrRemote,
			`render "app": app/kustomization.yaml: resources[1] "` + srv.URL + `/cm.yaml": remote references are not allowed`},
		{"github shorthand", kustomizeRepo("resources: [github.com/org/repo/deploy]\n"), ErrRemote, `render "app": app/kustomization.yaml: resources[0] "github.com/org/repo/deploy": remote`},
		{"scp-style git", kustomizeRepo("bases: [git@example.com:org/repo.git]\n"), ErrRemote, `render "app": app/kustomization.yaml: bases[0] "git@example.com:org/repo.git": remote`},
		{"forced git protocol", kustomizeRepo("components: [git::https://example.com/org/repo]\n"), ErrRemote, `render "app": app/kustomization.yaml: components[0] `},
		{"remote in a base", kustomizeRepo("resources: [../base]\n", "base/kustomization.yaml", "resources: [cm.yaml, 'ssh://git@example.com/org/repo']\n"), ErrRemote,
			`render "app": base/kustomization.yaml: resources[1] "ssh://git@example.com/org/repo": remote`},
		{"remote patch", kustomizeRepo("resources: [../base]\npatches:\n- path: " + srv.URL + "/p.yaml\n"), ErrRemote, `render "app": app/kustomization.yaml: patches[0].path "http://`},
		{"remote generator file", kustomizeRepo("configMapGenerator:\n- name: x\n  files: [key=" + srv.URL + "/f]\n"), ErrRemote, `render "app": app/kustomization.yaml: configMapGenerator[0].files[0] "http://`},
		{"remote openapi schema", kustomizeRepo("resources: [../base]\nopenapi:\n  path: " + srv.URL + "/schema.json\n"), ErrRemote, `render "app": app/kustomization.yaml: openapi.path "http://`},
		{"path above the repository", kustomizeRepo("resources: [../../outside]\n"), ErrRemote, `render "app": app/kustomization.yaml: resources[0] "../../outside": path leaves the repository`},
		{"absolute path", kustomizeRepo("resources: [/etc/passwd]\n"), ErrRemote, `render "app": app/kustomization.yaml: resources[0] "/etc/passwd": absolute paths are not allowed`},
		{"helm chart", kustomizeRepo("helmCharts:\n- name: nginx\n  repo: https://charts.example.com\n"), ErrUnsupported, `render "app": app/kustomization.yaml: helmCharts: helm charts are not supported`},
		{"exec plugin", kustomizeRepo("resources: [../base]\ntransformers: [plugin.yaml]\n", "app/plugin.yaml",
			"apiVersion: someteam.example.com/v1\nkind: SedTransformer\nmetadata: {name: sed}\nargsOneLiner: s/a/b/\n"), ErrUnsupported,
			`render "app": app/plugin.yaml[0]: plugin someteam.example.com/v1/SedTransformer: only builtin plugins are allowed`},
		{"function plugin inline", kustomizeRepo("resources: [../base]\ngenerators:\n- |\n  apiVersion: example.com/v1\n  kind: Gen\n  metadata:\n    name: g\n    annotations:\n      config.kubernetes.io/function: |\n        exec:\n          path: /bin/sh\n"), ErrUnsupported,
			`render "app": app/kustomization.yaml: generators[0][0]: plugin example.com/v1/Gen: only builtin plugins are allowed`},
		{"plugin directory", kustomizeRepo("resources: [../base]\ntransformers: [../plugins]\n", "plugins/kustomization.yaml", "resources: [t.yaml]\n", "plugins/t.yaml",
			"apiVersion: example.com/v1\nkind: X\nmetadata: {name: x}\n"), ErrUnsupported, `render "app": plugins/t.yaml[0]: plugin example.com/v1/X`},
		{"builtin plugin with a remote file", kustomizeRepo("resources: [../base]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: " + srv.URL + "/p.yaml\n"), ErrRemote, `render "app": app/kustomization.yaml: transformers[0][0]: path "http://`},
		{"missing resource", kustomizeRepo("resources: [../base, nope.yaml]\n"), ErrNotFound, `render "app": app/kustomization.yaml: resources[1] "nope.yaml": no such file or directory in the repository`},
		{"base without kustomization", kustomizeRepo("resources: [../docs]\n", "docs/a.md", "x"), ErrNotFound, `render "app": app/kustomization.yaml: resources[0] "../docs": directory has no kustomization file`},
		{"missing patch", kustomizeRepo("resources: [../base]\npatches: [{path: p.yaml}]\n"), ErrNotFound, `render "app": app/kustomization.yaml: patches[0].path "p.yaml": no such file`},
		{"kustomize build error", kustomizeRepo("resources: [../base]\npatches:\n- target: {kind: ConfigMap}\n  patch: '[{\"op\": \"replace\", \"path\": \"/nope/x\", \"value\": 1}]'\n"), ErrKustomize,
			`render "app": app/kustomization.yaml: kustomize build: `},
		{"bomb in a base resource", kustomizeRepo("resources: [../base]\n", "base/cm.yaml", billionLaughs()), ErrLimit, `render "app": base/cm.yaml[0]: document expands to more than`},
		{"bomb in an inline patch", kustomizeRepo("resources: [../base]\npatches:\n- patch: |\n" + indent(billionLaughs(), "    ")), ErrLimit, `render "app": app/kustomization.yaml: patches[0].patch[0]: document expands`},
		{"bomb in the kustomization", kustomizeRepo("resources: [../base]\n" + strings.Replace(billionLaughs(), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n", "commonAnnotations:\n", 1)), ErrLimit, `render "app": app/kustomization.yaml[0]: document expands`},
		{"recursive alias in an inline patch", kustomizeRepo("resources: [../base]\npatches:\n- patch: |\n    a: &x [*x]\n"), ErrLimit, `render "app": app/kustomization.yaml: patches[0].patch[0]: YAML anchor "x" contains an alias to itself`},
		{"recursive alias in an inline generator", kustomizeRepo("generators:\n- |\n  a: &x [*x]\n"), ErrLimit, `render "app": app/kustomization.yaml: generators[0][0]: YAML anchor "x"`},
		{"duplicate objects", kustomizeRepo("resources: [../base, cm.yaml]\n", "app/cm.yaml", cmA), ErrKustomize, `render "app": app/kustomization.yaml: kustomize build: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Render(tt.files, "app", DefaultOptions())
			checkErr(t, res, err, tt.kind, tt.msg)
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the renderer made %d HTTP requests", n)
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}

func TestKustomizeFeatures(t *testing.T) {
	tests := []struct {
		name  string
		files sources.Files
		want  []got
	}{
		{"builtin transformer plugin", kustomizeRepo("resources: [../base]\ntransformers: [prefix.yaml]\n", "app/prefix.yaml",
			"apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata: {name: p}\nprefix: x-\nfieldSpecs: [{path: metadata/name}]\n"),
			[]got{{"ConfigMap x-a", "base/cm.yaml", 0}}},
		{"loading a file from another directory of the repository", kustomizeRepo("resources: [../base/cm.yaml, ../shared/b.yaml]\n", "shared/b.yaml", cmB),
			[]got{{"ConfigMap a", "base/cm.yaml", 0}, {"ConfigMap b", "shared/b.yaml", 0}}},
		{"component", kustomizeRepo("resources: [../base]\ncomponents: [../comp]\n", "comp/kustomization.yaml",
			"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [b.yaml]\n", "comp/b.yaml", cmB),
			[]got{{"ConfigMap a", "base/cm.yaml", 0}, {"ConfigMap b", "comp/b.yaml", 0}}},
		{"multi-document resource file keeps document indexes", kustomizeRepo("resources: [all.yaml]\nnameSuffix: -s\n", "app/all.yaml", cmA+"---\n---\n"+cmB),
			[]got{{"ConfigMap a-s", "app/all.yaml", 0}, {"ConfigMap b-s", "app/all.yaml", 2}}},
		{"secret generator from an env file", kustomizeRepo("secretGenerator:\n- name: s\n  envs: [s.env]\ngeneratorOptions: {disableNameSuffixHash: true}\n", "app/s.env", "K=V\n"),
			[]got{{"Secret s", "app/kustomization.yaml", 0}}},
		{"kustomization.yml and the root directory", sources.Files{"kustomization.yml": []byte("resources: [a.yaml]\n"), "a.yaml": []byte(cmA)},
			[]got{{"ConfigMap a", "a.yaml", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := "app"
			if _, ok := tt.files["app/kustomization.yaml"]; !ok {
				p = ""
			}
			res, err := Render(tt.files, p, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if g := summarize(res); !equalGot(g, tt.want) {
				t.Errorf("objects:\n got %v\nwant %v", g, tt.want)
			}
		})
	}
}

// TestKustomizeKeepsRequestedOrigins: a kustomization that asks for origin
// annotations gets them, as from kubectl kustomize.
func TestKustomizeKeepsRequestedOrigins(t *testing.T) {
	res, err := Render(kustomizeRepo("resources: [../base]\nbuildMetadata: [originAnnotations]\n"), "app", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	o := res.Objects[0]
	if got := o.Object.GetAnnotations()["config.kubernetes.io/origin"]; got != "path: ../base/cm.yaml\n" {
		t.Errorf("origin annotation = %q", got)
	}
	if o.Origin != (sources.Origin{File: "base/cm.yaml"}) {
		t.Errorf("origin = %+v", o.Origin)
	}
}

func TestKustomizeLimits(t *testing.T) {
	files := kustomizeRepo("resources: [../base, b.yaml]\n", "app/b.yaml", cmB)
	_, err := Render(files, "app", Options{MaxObjects: 1})
	if !errors.Is(err, ErrLimit) || !strings.HasPrefix(err.Error(), `render "app": app/kustomization.yaml: would build more than 1 objects`) {
		t.Errorf("MaxObjects: %v", err)
	}
	_, err = Render(files, "app", Options{MaxBytes: 40})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("MaxBytes: %v", err)
	}
}

// TestKustomizeConcurrent renders in parallel: kustomize's global state is
// guarded (run with -race).
func TestKustomizeConcurrent(t *testing.T) {
	files := sources.Files(fixture.Files())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			res, err := Render(files, fixture.Overlay, DefaultOptions())
			if err == nil && len(res.Objects) != 5 {
				err = fmt.Errorf("%d objects", len(res.Objects))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestWriteYAML(t *testing.T) {
	res, err := Render(sources.Files{"a.yaml": []byte(cmA + "data: {z: \"1\", a: b}\n---\n" + cmB)}, "", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, res.Objects); err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: v1\ndata:\n  a: b\n  z: \"1\"\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"
	if buf.String() != want {
		t.Errorf("WriteYAML:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := WriteYAML(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("no objects: %q, %v", buf.String(), err)
	}
}

func TestKustomizeTargetIsKustomizationFile(t *testing.T) {
	res, err := Render(kustomizeRepo("resources: [../base]\n"), "app/kustomization.yaml", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if g := summarize(res); res.Mode != ModeKustomize || !equalGot(g, []got{{"ConfigMap a", "base/cm.yaml", 0}}) {
		t.Errorf("mode %s, objects %v", res.Mode, g)
	}
}

func BenchmarkRenderKustomize(b *testing.B) {
	files := sources.Files(fixture.Files())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(files, fixture.Overlay, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestKustomizeOpenAPISchemaDoesNotLeak: kustomize keeps a custom OpenAPI
// schema process-wide; it must not apply to the next render, and an invalid
// one (on which kustomize panics) is an error that leaves kustomize usable.
func TestKustomizeOpenAPISchemaDoesNotLeak(t *testing.T) {
	schema := `{"definitions": {"io.k8s.api.core.v1.ConfigMap": {"type": "object",
		"x-kubernetes-group-version-kind": [{"group": "", "kind": "ConfigMap", "version": "v1"}]}}}`
	app := "resources: [../base]\nopenapi: {path: schema.json}\npatches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n    data: {k: v}\n"
	if _, err := Render(kustomizeRepo(app, "app/schema.json", schema), "app", DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if v := openapi.GetSchemaVersion(); v != openapi.DefaultOpenAPI {
		t.Errorf("after a render with a custom schema kustomize uses %q", v)
	}
	res, err := Render(kustomizeRepo(app, "app/schema.json", `{"definitions": 5}`), "app", DefaultOptions())
	checkErr(t, res, err, ErrKustomize, `render "app": app/kustomization.yaml: kustomize build: `)
	TestKustomizeMatchesKubectl(t)
}

// diamond is a repository whose kustomizations double the objects at each
// of n levels: a few hundred bytes that build 2^n objects.
func diamond(n int) sources.Files {
	files := sources.Files{"l0/kustomization.yaml": []byte("resources: [cm.yaml]\n"), "l0/cm.yaml": []byte(cmA)}
	for i := 1; i <= n; i++ {
		l := fmt.Sprintf("l%d", i)
		files[l+"/kustomization.yaml"] = []byte("resources: [a, b]\n")
		for _, side := range []string{"a", "b"} {
			files[l+"/"+side+"/kustomization.yaml"] = []byte(fmt.Sprintf("resources: [../../l%d]\nnamePrefix: %s-\n", i-1, side))
		}
	}
	return files
}

func TestKustomizeRejectsAmplification(t *testing.T) {
	res, err := Render(diamond(3), "l3", DefaultOptions())
	if err != nil || len(res.Objects) != 8 {
		t.Fatalf("3 levels: %v objects, %v", res, err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err = Render(diamond(40), "l40", DefaultOptions())
	runtime.ReadMemStats(&after)
	checkErr(t, res, err, ErrLimit, `render "l40": l40/kustomization.yaml: would build more than 10000 objects`)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("rejecting the diamond allocated %d MiB", alloc>>20)
	}
	// Few objects, but each a large document copied many times.
	files := diamond(12)
	files["l0/cm.yaml"] = []byte(cmA + "data:\n  big: " + strings.Repeat("x", 64<<10) + "\n")
	res, err = Render(files, "l12", DefaultOptions())
	checkErr(t, res, err, ErrLimit, `render "l12": l12/kustomization.yaml: would build more than 67108864 bytes`)
}
