package reconciler_test

import (
	"reflect"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources/git"
)

// The loader keeps renders packed as JSON (packedDesired): a render read
// back from its cache must equal the render itself, values of every JSON
// type included, and belong to its caller alone.
func TestCachedRenderEqualsTheRenderAndIsTheCallers(t *testing.T) {
	r := newDesiredRepo(t, map[string]gitrepo.Entry{
		"app/objects.yaml": {Content: []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: values
  labels: {app: web}
data:
  text: "héllo\u00e9 \"quoted\" <tag>"
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: numbers
spec:
  replicas: 3
  ratio: 0.25
  big: 9007199254740993
  huge: 1e30
  negative: -7
  enabled: false
  nothing: null
  empty: {}
  list: [1, "two", 3.5, {nested: [true]}, []]
`)},
	}, git.Limits{})
	first, err := r.load(t, "app")
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.load(t, "app") // from the cache
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Objects) != 2 || len(second.Objects) != 2 {
		t.Fatalf("objects: %d then %d, want 2", len(first.Objects), len(second.Objects))
	}
	for i := range first.Objects {
		a, b := first.Objects[i], second.Objects[i]
		if !reflect.DeepEqual(a.Object.Object, b.Object.Object) {
			t.Errorf("object %d from the cache:\n%#v\nwant\n%#v", i, b.Object.Object, a.Object.Object)
		}
		if a.Origin != b.Origin {
			t.Errorf("object %d origin from the cache: %+v, want %+v", i, b.Origin, a.Origin)
		}
	}
	if second.Revision != first.Revision {
		t.Errorf("revision from the cache: %+v, want %+v", second.Revision, first.Revision)
	}
	// A caller's change stays its own.
	second.Objects[0].Object.SetName("changed")
	third, err := r.load(t, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got := third.Objects[0].Object.GetName(); got != "values" {
		t.Errorf("a change to one load's object reached the next load: name %q", got)
	}
}
