package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/sources"
)

const (
	cmA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	cmB = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"
)

// got is an object as a test compares it: identity and origin.
type got struct {
	ID   string // Kind ns/name
	File string
	Doc  int
}

func summarize(res *Result) []got {
	out := make([]got, 0, len(res.Objects))
	for _, o := range res.Objects {
		id := o.Object.GetKind() + " " + o.Object.GetName()
		if ns := o.Object.GetNamespace(); ns != "" {
			id = o.Object.GetKind() + " " + ns + "/" + o.Object.GetName()
		}
		out = append(out, got{ID: id, File: o.Origin.File, Doc: o.Origin.Index})
	}
	return out
}

func equalGot(a, b []got) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRenderPlain(t *testing.T) {
	tests := []struct {
		name  string
		files sources.Files
		path  string
		want  []got
	}{
		{
			name:  "multi-document file",
			files: sources.Files{"app.yaml": []byte(cmA + "---\n" + cmB)},
			want:  []got{{"ConfigMap a", "app.yaml", 0}, {"ConfigMap b", "app.yaml", 1}},
		},
		{
			name: "empty and comment-only documents are skipped but counted",
			files: sources.Files{"app.yaml": []byte("# header comment\n---\n" + cmA +
				"---\n---\n# only a comment\n---   # separator with a comment\n\n" + cmB + "---\n")},
			want: []got{{"ConfigMap a", "app.yaml", 0}, {"ConfigMap b", "app.yaml", 3}},
		},
		{
			name:  "leading separator does not start a document",
			files: sources.Files{"app.yaml": []byte("---\n" + cmA)},
			want:  []got{{"ConfigMap a", "app.yaml", 0}},
		},
		{
			name:  "empty file",
			files: sources.Files{"empty.yaml": nil, "b.yaml": []byte(cmB)},
			want:  []got{{"ConfigMap b", "b.yaml", 0}},
		},
		{
			name: "json object",
			files: sources.Files{"cm.json": []byte(`{
	"apiVersion": "v1", "kind": "ConfigMap",
	"metadata": {"name": "a", "namespace": "x"},
	"data": {"k": "v"}
}`)},
			want: []got{{"ConfigMap x/a", "cm.json", 0}},
		},
		{
			name: "list items are expanded",
			files: sources.Files{"list.yaml": []byte(cmA + "---\napiVersion: v1\nkind: List\nitems:\n" +
				"- apiVersion: v1\n  kind: Secret\n  metadata: {name: s1}\n" +
				"- apiVersion: v1\n  kind: Secret\n  metadata: {name: s2}\n")},
			want: []got{{"ConfigMap a", "list.yaml", 0}, {"Secret s1", "list.yaml", 1}, {"Secret s2", "list.yaml", 1}},
		},
		{
			name: "typed list items inherit their kind",
			files: sources.Files{"list.json": []byte(`{"apiVersion": "v1", "kind": "ConfigMapList",
				"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}`)},
			want: []got{{"ConfigMap a", "list.json", 0}, {"ConfigMap b", "list.json", 0}},
		},
		{
			name: "nested directories in lexical path order",
			files: sources.Files{
				"z.yaml":       []byte(strings.Replace(cmA, "name: a", "name: z", 1)),
				"a/b/c.yml":    []byte(strings.Replace(cmA, "name: a", "name: abc", 1)),
				"a/x.yaml":     []byte(strings.Replace(cmA, "name: a", "name: ax", 1)),
				"A.json":       []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"upper"}}`),
				"a-b/c.yaml":   []byte(strings.Replace(cmA, "name: a", "name: a-b", 1)),
				"README.md":    []byte("# not a manifest"),
				"values.txt":   []byte("key: value"),
				"charts/x.tgz": []byte{0x1f, 0x8b},
			},
			want: []got{
				{"ConfigMap upper", "A.json", 0},
				{"ConfigMap a-b", "a-b/c.yaml", 0},
				{"ConfigMap abc", "a/b/c.yml", 0},
				{"ConfigMap ax", "a/x.yaml", 0},
				{"ConfigMap z", "z.yaml", 0},
			},
		},
		{
			name: "hidden files and directories are skipped",
			files: sources.Files{
				".github/workflows/ci.yaml": []byte("on: push\njobs: {}\n"),
				".pre-commit-config.yaml":   []byte("repos: []\n"),
				"deploy/.secret/x.yaml":     []byte("not: a manifest\n"),
				"deploy/app.yaml":           []byte(cmA),
			},
			want: []got{{"ConfigMap a", "deploy/app.yaml", 0}},
		},
		{
			name: "a subdirectory renders alone",
			files: sources.Files{
				"other/bad.yaml":  []byte("not: a manifest\n"),
				"deploy/app.yaml": []byte(cmA),
				"deploy2/b.yaml":  []byte(cmB),
			},
			path: "./deploy/",
			want: []got{{"ConfigMap a", "deploy/app.yaml", 0}},
		},
		{
			name:  "a file path renders that file",
			files: sources.Files{"deploy/app.yaml": []byte(cmA), "deploy/b.yaml": []byte(cmB)},
			path:  "deploy/b.yaml",
			want:  []got{{"ConfigMap b", "deploy/b.yaml", 0}},
		},
		{
			name:  "same name in another namespace, kind or group is no duplicate",
			files: sources.Files{"a.yaml": []byte(cmA + "---\n" + strings.Replace(cmA, "name: a", "name: a\n  namespace: x", 1) + "---\n" + strings.Replace(cmA, "ConfigMap", "Secret", 1) + "---\n" + strings.Replace(cmA, "apiVersion: v1", "apiVersion: example.com/v1", 1))},
			want:  []got{{"ConfigMap a", "a.yaml", 0}, {"ConfigMap x/a", "a.yaml", 1}, {"Secret a", "a.yaml", 2}, {"ConfigMap a", "a.yaml", 3}},
		},
		{
			name:  "a directory without manifests renders nothing",
			files: sources.Files{"docs/README.md": []byte("hi")},
			path:  "docs",
			want:  []got{},
		},
		{
			name:  "yaml 1.1 scalars read as kubectl reads them",
			files: sources.Files{"a.yaml": []byte(cmA + "data:\n  flag: \"yes\"\n")},
			want:  []got{{"ConfigMap a", "a.yaml", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Render(tt.files, tt.path, DefaultOptions())
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if res.Mode != ModePlain || res.Kustomize != nil {
				t.Errorf("mode %q, kustomize origins %v; want plain, none", res.Mode, res.Kustomize)
			}
			if g := summarize(res); !equalGot(g, tt.want) {
				t.Errorf("objects:\n got %v\nwant %v", g, tt.want)
			}
		})
	}
}

func TestRenderPlainValues(t *testing.T) {
	files := sources.Files{"a.yaml": []byte(cmA + "data:\n  count: \"1\"\n  enabled: yes\n  on: x\n  list: [1, 2.5]\n")}
	res, err := Render(files, "", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	data := res.Objects[0].Object.Object["data"].(map[string]any)
	// kubectl reads YAML 1.1 booleans (yes, and the key on) and keeps quoted
	// numbers strings; numbers are int64 or float64 as in unstructured objects.
	if data["count"] != "1" || data["enabled"] != true || data["true"] != "x" {
		t.Errorf("data = %#v", data)
	}
	if l := data["list"].([]any); l[0] != int64(1) || l[1] != 2.5 {
		t.Errorf("list = %#v", l)
	}
	// Objects are deep-copyable (only JSON types inside).
	_ = res.Objects[0].Object.DeepCopy()
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		files sources.Files
		path  string
		kind  error
		msg   string
	}{
		{
			name:  "missing name",
			files: sources.Files{"deploy/app.yaml": []byte(cmA + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")},
			kind:  ErrInvalid,
			msg:   `render ".": deploy/app.yaml[1]: missing metadata.name`,
		},
		{
			name:  "missing kind",
			files: sources.Files{"a.yaml": []byte("apiVersion: v1\nmetadata: {name: a}\n")},
			kind:  ErrInvalid,
			msg:   `render ".": a.yaml[0]: missing kind`,
		},
		{
			name:  "missing apiVersion in json",
			files: sources.Files{"a.json": []byte(`{"kind": "ConfigMap", "metadata": {"name": "a"}}`)},
			kind:  ErrInvalid,
			msg:   `render ".": a.json[0]: missing apiVersion`,
		},
		{
			name:  "list item without name",
			files: sources.Files{"l.yaml": []byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {}\n")},
			kind:  ErrInvalid,
			msg:   `render ".": l.yaml[0]: items[0]: missing metadata.name`,
		},
		{
			name:  "scalar document",
			files: sources.Files{"a.yaml": []byte(cmA + "---\njust a string\n")},
			kind:  ErrInvalid,
			msg:   `render ".": a.yaml[1]: document is a string, not an object`,
		},
		{
			name:  "invalid yaml",
			files: sources.Files{"a.yaml": []byte(cmA + "---\nkey: [unclosed\n")},
			kind:  ErrInvalid,
			msg:   `render ".": a.yaml[1]: `,
		},
		{
			name:  "invalid json",
			files: sources.Files{"a.json": []byte(`{"apiVersion": "v1",}`)},
			kind:  ErrInvalid,
			msg:   `render ".": a.json[0]: `,
		},
		{
			name:  "namespace not a string",
			files: sources.Files{"a.yaml": []byte(cmA + "  namespace: [x]\n")},
			kind:  ErrInvalid,
			msg:   `render ".": a.yaml[0]: metadata.namespace is a list, not a string`,
		},
		{
			name: "duplicate names both files",
			files: sources.Files{
				"a/one.yaml": []byte(cmB + "---\n" + cmA),
				"b/two.yaml": []byte(cmA),
			},
			kind: ErrDuplicate,
			msg:  `render ".": b/two.yaml[0]: ConfigMap a is also defined in a/one.yaml[1]`,
		},
		{
			name: "duplicate across api versions of one group",
			files: sources.Files{
				"a.yaml": []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: x}\n"),
				"b.yaml": []byte("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: web, namespace: x}\n"),
			},
			kind: ErrDuplicate,
			msg:  `render ".": b.yaml[0]: Deployment/apps x/web is also defined in a.yaml[0]`,
		},
		{
			name:  "missing path",
			files: sources.Files{"a.yaml": []byte(cmA)},
			path:  "deploy",
			kind:  ErrNotFound,
			msg:   `render "deploy": no such file or directory in the repository`,
		},
		{
			name:  "empty repository",
			files: sources.Files{},
			kind:  ErrNotFound,
			msg:   `render ".": no such file or directory in the repository`,
		},
		{
			name:  "path above the root",
			files: sources.Files{"a.yaml": []byte(cmA)},
			path:  "deploy/../../x",
			kind:  ErrInvalid,
			msg:   `render "deploy/../../x": path leaves the repository`,
		},
		{
			name:  "absolute path",
			files: sources.Files{"a.yaml": []byte(cmA)},
			path:  "/etc",
			kind:  ErrInvalid,
			msg:   `render "/etc": path must be relative to the repository root`,
		},
		{
			name:  "non-manifest yaml in plain mode",
			files: sources.Files{"values.yaml": []byte("replicas: 3\n")},
			kind:  ErrInvalid,
			msg:   `render ".": values.yaml[0]: missing apiVersion`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Render(tt.files, tt.path, DefaultOptions())
			checkErr(t, res, err, tt.kind, tt.msg)
		})
	}
}

// checkErr asserts that a render failed with an error of kind whose message
// starts with msg.
func checkErr(t *testing.T, res *Result, err error, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Render succeeded with %d objects; want error %q", len(res.Objects), msg)
	}
	if res != nil {
		t.Errorf("Render returned a result with its error")
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	if !strings.HasPrefix(err.Error(), msg) {
		t.Errorf("error:\n got %q\nwant prefix %q", err, msg)
	}
}

func TestRenderNestedKustomization(t *testing.T) {
	files := sources.Files{
		"a.yaml":                        []byte(cmA),
		"apps/kustomization.yaml":       []byte("resources: [web.yaml]\nnamePrefix: p-\n"),
		"apps/web.yaml":                 []byte(cmB),
		"apps/sub/ignored.yaml":         []byte("not: read, the kustomization decides\n"),
		"apps/sub/kustomization.yaml":   []byte("resources: [missing.yaml]\n"),
		"z/c.yaml":                      []byte(strings.Replace(cmA, "name: a", "name: c", 1)),
		"z/.hidden/kustomization.yaml":  []byte("resources: [https://example.com/x.yaml]\n"),
		"apps-later/kustomization.yaml": []byte("configMapGenerator:\n- name: gen\n  literals: [k=v]\n"),
	}
	res, err := Render(files, ".", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		{"ConfigMap a", "a.yaml", 0},
		{"ConfigMap gen-7hhtdcf4d8", "apps-later/kustomization.yaml", 0},
		{"ConfigMap p-b", "apps/web.yaml", 0},
		{"ConfigMap c", "z/c.yaml", 0},
	}
	g := summarize(res)
	if len(g) == len(want) {
		want[1].ID = g[1].ID // the generated name carries a content hash
	}
	if !equalGot(g, want) || !strings.HasPrefix(g[1].ID, "ConfigMap gen-") {
		t.Errorf("objects:\n got %v\nwant %v", g, want)
	}
	if res.Mode != ModePlain || len(res.Kustomize) != len(res.Objects) {
		t.Fatalf("mode %q with %d kustomize origins for %d objects", res.Mode, len(res.Kustomize), len(res.Objects))
	}
	if res.Kustomize[0].File != "" || res.Kustomize[2].File != "apps/web.yaml" || res.Kustomize[1].GeneratedBy == nil {
		t.Errorf("kustomize origins = %+v", res.Kustomize)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
