package render

import (
	"bytes"
	"errors"
	"testing"

	fixture "github.com/trueup-dev/trueup/fixtures/kustomize"
	"github.com/trueup-dev/trueup/sources"
)

// Fuzz modes: what the fuzzed bytes are.
const (
	fuzzYAML          = iota // a plain YAML manifest file
	fuzzJSON                 // a plain JSON manifest file
	fuzzKustomization        // the kustomization of an app with a base
	fuzzModes
)

func fuzzFiles(mode uint8, data []byte) (sources.Files, string) {
	switch mode % fuzzModes {
	case fuzzJSON:
		return sources.Files{"deploy/app.json": data, "deploy/z.yaml": []byte(cmB)}, "deploy"
	case fuzzKustomization:
		files := fixture.Files()
		files["app/kustomization.yaml"] = data
		files["app/cm.yaml"] = []byte(cmB)
		files["app/patch.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: v}\n")
		files["app/ops.json"] = []byte(`[{"op": "add", "path": "/data/x", "value": "y"}]`)
		files["app/app.properties"] = []byte("a=b\n")
		return files, "app"
	default:
		return sources.Files{"deploy/app.yaml": data, "deploy/z.yaml": []byte(cmB)}, "deploy"
	}
}

// FuzzRender renders fuzzed manifests and kustomizations. It must never
// panic and never run away: every input is bounded by the options.
func FuzzRender(f *testing.F) {
	seeds := []struct {
		mode uint8
		data string
	}{
		{fuzzYAML, cmA},
		{fuzzYAML, cmA + "---\n---\n# c\n---\n" + cmB},
		{fuzzYAML, "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n"},
		{fuzzYAML, cmA + "data: {a: &v x, b: *v, <<: {c: d}}\n"},
		{fuzzYAML, billionLaughs()},
		{fuzzYAML, "a: &x [*x]\n"},
		{fuzzYAML, "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"},
		{fuzzYAML, "%YAML 1.2\n---\n" + cmA + "...\n"},
		{fuzzYAML, "--- |\n  text\n"},
		{fuzzJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`},
		{fuzzJSON, `{"apiVersion":"v1","kind":"ConfigMapList","items":[{"metadata":{"name":"a"}}]}`},
		{fuzzJSON, `[{"a": "\"[{"}]`},
		{fuzzKustomization, string(fixture.Files()["overlays/prod/kustomization.yaml"])},
		{fuzzKustomization, "resources: [../base, cm.yaml]\nnamePrefix: x-\npatches:\n- path: patch.yaml\n- path: ops.json\n  target: {kind: ConfigMap, name: b}\n"},
		{fuzzKustomization, "resources: [cm.yaml]\nconfigMapGenerator:\n- name: g\n  files: [app.properties]\n  literals: [a=b]\nreplicas: [{name: web, count: 2}]\n"},
		{fuzzKustomization, "resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PrefixSuffixTransformer\n  metadata: {name: p}\n  prefix: p-\n  fieldSpecs: [{path: metadata/name}]\n"},
		{fuzzKustomization, "resources: [cm.yaml]\nreplacements:\n- source: {kind: ConfigMap, name: b, fieldPath: metadata.name}\n  targets: [{select: {kind: ConfigMap}, fieldPaths: [data.n]}]\n"},
		{fuzzKustomization, "resources: [https://example.com/x.yaml]\n"},
		{fuzzKustomization, "resources: [cm.yaml]\nopenapi: {path: ops.json}\npatches: [{path: patch.yaml}]\n"},
		{fuzzKustomization, "resources: [cm.yaml]\nbuildMetadata: [originAnnotations, transformerAnnotations, managedByLabel]\n"},
		{fuzzKustomization, "resources: [cm.yaml]\npatches:\n- patch: |\n    - {op: add, path: /data/z, value: q}\n  target: {kind: ConfigMap}\n"},
	}
	for _, s := range seeds {
		f.Add(s.mode, []byte(s.data))
	}
	opt := Options{MaxObjects: 200, MaxBytes: 1 << 20, MaxDocBytes: 256 << 10, MaxDepth: 64, MaxAliases: 100}
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		files, target := fuzzFiles(mode, data)
		res, err := Render(files, target, opt)
		if err != nil {
			var ke *kindError
			if errors.As(err, &ke) && ke.panicked {
				// A recovered kustomize panic must leave kustomize usable.
				res, err := Render(sources.Files(fixture.Files()), fixture.Overlay, opt)
				if err != nil || len(res.Objects) != 5 {
					t.Fatalf("after a kustomize panic (%v) the fixture renders %v, %v", ke, res, err)
				}
			}
			if res != nil {
				t.Fatal("result with an error")
			}
			return
		}
		checkResult(t, files, res)
	})
}

// checkResult asserts what every successful render guarantees.
func checkResult(t *testing.T, files sources.Files, res *Result) {
	t.Helper()
	if res.Kustomize != nil && len(res.Kustomize) != len(res.Objects) {
		t.Fatalf("%d kustomize origins for %d objects", len(res.Kustomize), len(res.Objects))
	}
	for _, o := range res.Objects {
		u := o.Object
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			t.Fatalf("object without identity: %v", u.Object)
		}
		if _, ok := files[o.Origin.File]; !ok || o.Origin.Index < 0 {
			t.Fatalf("origin %+v is not a file of the commit", o.Origin)
		}
		_ = u.DeepCopy() // panics on non-JSON values
	}
	if err := WriteYAML(&bytes.Buffer{}, res.Objects); err != nil {
		t.Fatalf("WriteYAML: %v", err)
	}
}
