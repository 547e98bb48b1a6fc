package drift

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// deployment returns a small Deployment document with the given replicas
// and container images.
func deployment(replicas any, images ...string) map[string]any {
	containers := make([]any, len(images))
	for i, img := range images {
		containers[i] = map[string]any{"name": "c" + string(rune('0'+i)), "image": img}
	}
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{
			"replicas": replicas,
			"template": map[string]any{"spec": map[string]any{"containers": containers}},
		},
	}
}

func TestDiffFields(t *testing.T) {
	tests := []struct {
		name          string
		live, desired map[string]any
		ignore        []string
		want          []FieldDiff
	}{
		{
			name: "equal",
			live: deployment(int64(2), "nginx:1"), desired: deployment(int64(2), "nginx:1"),
		},
		{
			name: "numbers compare by value across Go types",
			live: deployment(int64(2), "nginx:1"), desired: deployment(float64(2), "nginx:1"),
		},
		{
			name: "scalar change, numbers normalized to int64",
			live: deployment(int64(5), "nginx:1"), desired: deployment(2, "nginx:1"),
			want: []FieldDiff{{Path: "/spec/replicas", Live: int64(5), Desired: int64(2)}},
		},
		{
			name: "non-integral numbers stay float64",
			live: map[string]any{"x": 0.5}, desired: map[string]any{"x": json.Number("1.5")},
			want: []FieldDiff{{Path: "/x", Live: 0.5, Desired: 1.5}},
		},
		{
			name: "list element compared by index",
			live: deployment(int64(2), "nginx:1", "sidecar:1"), desired: deployment(int64(2), "nginx:1", "sidecar:2"),
			want: []FieldDiff{{Path: "/spec/template/spec/containers/1/image", Live: "sidecar:1", Desired: "sidecar:2"}},
		},
		{
			name: "element added live",
			live: deployment(int64(2), "nginx:1", "debug:1"), desired: deployment(int64(2), "nginx:1"),
			want: []FieldDiff{{Path: "/spec/template/spec/containers/1",
				Live: map[string]any{"name": "c1", "image": "debug:1"}, Desired: nil}},
		},
		{
			name: "element removed live",
			live: deployment(int64(2), "nginx:1"), desired: deployment(int64(2), "nginx:1", "sidecar:1", "log:1"),
			want: []FieldDiff{
				{Path: "/spec/template/spec/containers/1", Live: nil, Desired: map[string]any{"name": "c1", "image": "sidecar:1"}},
				{Path: "/spec/template/spec/containers/2", Live: nil, Desired: map[string]any{"name": "c2", "image": "log:1"}},
			},
		},
		{
			name:    "member on one side only carries its whole value",
			live:    map[string]any{"metadata": map[string]any{"name": "a"}},
			desired: map[string]any{"metadata": map[string]any{"name": "a", "labels": map[string]any{"app": "web"}}},
			want:    []FieldDiff{{Path: "/metadata/labels", Live: nil, Desired: map[string]any{"app": "web"}}},
		},
		{
			name:    "null is absent",
			live:    map[string]any{"a": nil, "b": "x"},
			desired: map[string]any{"b": "x"},
		},
		{
			name:    "empty object against absent is a difference",
			live:    map[string]any{"volume": map[string]any{"emptyDir": map[string]any{}}},
			desired: map[string]any{"volume": map[string]any{}},
			want:    []FieldDiff{{Path: "/volume/emptyDir", Live: map[string]any{}, Desired: nil}},
		},
		{
			name:    "type change",
			live:    map[string]any{"port": "80"},
			desired: map[string]any{"port": 80},
			want:    []FieldDiff{{Path: "/port", Live: "80", Desired: int64(80)}},
		},
		{
			name:    "sorted by member name, escaped paths",
			live:    map[string]any{"z": 1, "a/b": "x", "m~n": true},
			desired: map[string]any{"z": 2, "a/b": "y", "m~n": false},
			want: []FieldDiff{
				{Path: "/a~1b", Live: "x", Desired: "y"},
				{Path: "/m~0n", Live: true, Desired: false},
				{Path: "/z", Live: int64(1), Desired: int64(2)},
			},
		},
		{
			name:    "list indexes sort numerically",
			live:    map[string]any{"l": []any{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
			desired: map[string]any{"l": []any{0, 1, 9, 3, 4, 5, 6, 7, 8, 9, 99, 11}},
			want: []FieldDiff{
				{Path: "/l/2", Live: int64(2), Desired: int64(9)},
				{Path: "/l/10", Live: int64(10), Desired: int64(99)},
			},
		},
		{
			name: "ignore drops the path",
			live: deployment(int64(5), "nginx:1"), desired: deployment(int64(2), "nginx:1"),
			ignore: []string{"/spec/replicas"},
		},
		{
			name: "ignore drops everything under the path",
			live: deployment(int64(5), "nginx:2"), desired: deployment(int64(2), "nginx:1"),
			ignore: []string{"/spec/template"},
			want:   []FieldDiff{{Path: "/spec/replicas", Live: int64(5), Desired: int64(2)}},
		},
		{
			name: "ignore an element",
			live: deployment(int64(2), "nginx:2", "debug:1"), desired: deployment(int64(2), "nginx:1"),
			ignore: []string{"/spec/template/spec/containers/1"},
			want:   []FieldDiff{{Path: "/spec/template/spec/containers/0/image", Live: "nginx:2", Desired: "nginx:1"}},
		},
		{
			name:    "ignored field inside a reported value is removed from it",
			live:    map[string]any{"metadata": map[string]any{}},
			desired: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"a": "1", "b": "2"}}},
			ignore:  []string{"/metadata/annotations/a"},
			want:    []FieldDiff{{Path: "/metadata/annotations", Live: nil, Desired: map[string]any{"b": "2"}}},
		},
		{
			name:    "reported value that only held ignored fields is dropped",
			live:    map[string]any{"metadata": map[string]any{}},
			desired: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"a": "1"}}},
			ignore:  []string{"/metadata/annotations/a"},
		},
		{
			name: "ignore paths that do not parse are skipped",
			live: deployment(int64(5), "nginx:1"), desired: deployment(int64(2), "nginx:1"),
			ignore: []string{"spec/replicas", "", "/a~9"},
			want:   []FieldDiff{{Path: "/spec/replicas", Live: int64(5), Desired: int64(2)}},
		},
		{
			name: "absent live document",
			live: nil, desired: map[string]any{"kind": "ConfigMap"},
			want: []FieldDiff{{Path: "", Live: nil, Desired: map[string]any{"kind": "ConfigMap"}}},
		},
		{
			name: "typed values go through JSON",
			live: map[string]any{"labels": map[string]string{"a": "1"}, "ports": []int32{80}},
			desired: map[string]any{"labels": map[string]any{"a": "1"},
				"ports": []any{int64(8080)}},
			want: []FieldDiff{{Path: "/ports/0", Live: int64(80), Desired: int64(8080)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DiffFields(tt.live, tt.desired, tt.ignore)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DiffFields =\n%s\nwant\n%s", asJSON(t, got), asJSON(t, tt.want))
			}
		})
	}
}

func TestDiffFieldsDoesNotAliasInputs(t *testing.T) {
	live := map[string]any{"spec": map[string]any{"template": map[string]any{"a": "1"}}}
	desired := map[string]any{"spec": map[string]any{}}
	got := DiffFields(live, desired, []string{"/spec/template/b"})
	if len(got) != 1 {
		t.Fatalf("got %d diffs, want 1", len(got))
	}
	got[0].Live.(map[string]any)["a"] = "changed"
	if live["spec"].(map[string]any)["template"].(map[string]any)["a"] != "1" {
		t.Fatal("changing a reported value changed the input")
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(raw)
}

// TestFieldDiffJSONIsGitThenLive: the JSON of a field (diff -o json, the
// API, the history) names Git's value "git" and puts it before live, and a
// field encoded before ("desired") still reads back.
func TestFieldDiffJSONIsGitThenLive(t *testing.T) {
	b, err := json.Marshal(FieldDiff{Path: "/spec/replicas", Desired: 1, Live: 3, LiveDigest: "kept in memory only"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"path":"/spec/replicas","git":1,"live":3}`; string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	for _, in := range []string{string(b), `{"path":"/spec/replicas","live":3,"desired":1}`} {
		var f FieldDiff
		if err := json.Unmarshal([]byte(in), &f); err != nil {
			t.Fatal(err)
		}
		if f.Path != "/spec/replicas" || f.Desired != 1.0 || f.Live != 3.0 {
			t.Errorf("%s read back as %+v", in, f)
		}
	}
}

// TestMaskedLiveDigestTellsValuesApart: two live values of a Secret key
// give the same markers but different digests; the same value gives the
// same digest; the digest never reaches JSON.
func TestMaskedLiveDigestTellsValuesApart(t *testing.T) {
	secret := func(v string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Secret", "data": map[string]any{"password": v}}
	}
	one := MaskSecret(secret("aHVudGVyMw=="), secret("Z2l0"), nil)
	two := MaskSecret(secret("aHVudGVyNA=="), secret("Z2l0"), nil)
	again := MaskSecret(secret("aHVudGVyMw=="), secret("Z2l0"), nil)
	if len(one) != 1 || len(two) != 1 || len(again) != 1 {
		t.Fatalf("diffs %+v %+v %+v", one, two, again)
	}
	if one[0].Live != two[0].Live || one[0].LiveDigest == "" || one[0].LiveDigest == two[0].LiveDigest || one[0].LiveDigest != again[0].LiveDigest {
		t.Fatalf("digests %q %q %q: want equal markers, distinct digests for distinct values", one[0].LiveDigest, two[0].LiveDigest, again[0].LiveDigest)
	}
	b, _ := json.Marshal(one)
	if bytes.Contains(b, []byte(one[0].LiveDigest)) || bytes.Contains(b, []byte("aHVudGVy")) {
		t.Fatalf("json carries the digest or the value: %s", b)
	}
}
