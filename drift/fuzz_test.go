package drift

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzSplitPointer checks that every pointer SplitPointer accepts joins back
// to itself, and that joined tokens split back to the same tokens.
func FuzzSplitPointer(f *testing.F) {
	for _, s := range []string{"", "/", "/spec/replicas", "/a~0b~1c", "/~01", "a", "/~", "/~2", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tokens, err := SplitPointer(p)
		if err != nil {
			return
		}
		if got := JoinPointer(tokens...); got != p {
			t.Fatalf("JoinPointer(SplitPointer(%q)) = %q", p, got)
		}
		again, err := SplitPointer(JoinPointer(tokens...))
		if err != nil || !slices.Equal(again, tokens) {
			t.Fatalf("round trip of %q: %q, %v", tokens, again, err)
		}
	})
}

// FuzzAttribute feeds arbitrary fieldsV1 documents and paths to the
// managedFields parser and the attribution walk: they must never panic, and
// a manager other than self is the only one ever reported.
func FuzzAttribute(f *testing.F) {
	f.Add(`{"f:spec":{"f:replicas":{}}}`, "/spec/replicas")
	f.Add(`{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}}}}}}`,
		"/spec/template/spec/containers/0/image")
	f.Add(`{"f:metadata":{"f:finalizers":{"v:\"a\"":{}, "i:0":{}}}}`, "/metadata/finalizers/0")
	f.Add(`{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{bad":{}}}}}}}`, "/spec/template/spec/containers/0")
	f.Add(`{"f:spec":{}}`, "/spec/selector/matchLabels/app")
	f.Add(`[]`, "/")
	f.Add(`null`, "")
	live := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","finalizers":["a"]},
	  "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
	  "template":{"spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}]}]}}}}`
	f.Fuzz(func(t *testing.T, fieldsV1, path string) {
		if fs, err := parseFieldsV1([]byte(fieldsV1)); err == nil {
			var doc any
			_ = json.Unmarshal([]byte(live), &doc)
			if tokens, err := SplitPointer(path); err == nil {
				fs.lookup(doc, tokens)
			}
		}
		if !json.Valid([]byte(fieldsV1)) {
			return
		}
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(live), &u.Object); err != nil {
			t.Fatal(err)
		}
		u.SetManagedFields([]metav1.ManagedFieldsEntry{
			{Manager: "self", Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1",
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}},
			{Manager: "other", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1",
				FieldsV1: &metav1.FieldsV1{Raw: []byte(fieldsV1)}},
		})
		if a := Attribute(u, path, "self"); a != nil && a.Manager != "other" {
			t.Fatalf("Attribute(%q) = %+v", path, a)
		}
	})
}

// FuzzDiffFields diffs arbitrary JSON documents: no panic, a document
// never differs from itself, and values planted in a Secret's data and
// stringData never appear in the result.
func FuzzDiffFields(f *testing.F) {
	f.Add(`{"spec":{"replicas":2}}`, `{"spec":{"replicas":5}}`, "/spec/replicas")
	f.Add(`{"l":[1,2,{"a":null}]}`, `{"l":[1]}`, "/l/1")
	f.Add(`{"data":{"password":"x"}}`, `{"data":"y","metadata":{}}`, "")
	f.Add(`{"data":{"a":"x","b":"y"},"stringData":{"c":"z"}}`, `{"stringData":{"a":"x"}}`, "/data/a")
	f.Fuzz(func(t *testing.T, a, b, ignore string) {
		const marker = "S3CR3T-"
		if strings.Contains(a+b+ignore, marker) {
			return
		}
		var live, desired map[string]any
		if json.Unmarshal([]byte(a), &live) != nil || json.Unmarshal([]byte(b), &desired) != nil {
			return
		}
		if got := DiffFields(live, live, []string{ignore}); len(got) != 0 {
			t.Fatalf("a document differs from itself: %v", got)
		}
		DiffFields(live, desired, []string{ignore})
		for side, doc := range map[string]map[string]any{"live": live, "desired": desired} {
			if doc == nil {
				continue
			}
			doc["kind"] = "Secret"
			for _, field := range []string{"data", "stringData"} {
				if m, ok := doc[field].(map[string]any); ok {
					for k := range m {
						m[k] = marker + side + "-" + k
					}
				}
			}
		}
		raw, err := json.Marshal(DiffFields(live, desired, []string{ignore}))
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if strings.Contains(string(raw), marker) {
			t.Fatalf("secret value leaked: %s", raw)
		}
	})
}
