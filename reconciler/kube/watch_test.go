package kube

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trueup-dev/trueup/drift"
)

// recorder collects watch events of one namespace.
type recorder struct {
	ns string
	mu sync.Mutex
	ev []WatchEvent
}

func (r *recorder) on(e WatchEvent) {
	if e.Type != WatchError && e.Ref.Namespace != r.ns && e.Ref.Name != InventoryName(r.ns) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, e)
}

// await polls for an event matching match, up to 10s.
func (r *recorder) await(t *testing.T, what string, match func(WatchEvent) bool) WatchEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, e := range r.ev {
			if match(e) {
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event within 10s", what)
	return WatchEvent{}
}

func (r *recorder) none(t *testing.T, what string, match func(WatchEvent) bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.ev {
		if match(e) {
			t.Errorf("unexpected %s event: %+v", what, e)
		}
	}
}

func TestWatch(t *testing.T) {
	f := newFixture(t)
	f.mustApply(f.ns, configMaps("1", "a"), testOptions())
	ref := drift.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: "a"}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rec := &recorder{ns: f.ns}
	w, err := f.cluster.Watch(ctx, []schema.GroupVersionKind{{Version: "v1", Kind: "ConfigMap"}}, rec.on)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("initial list fills the cache", func(t *testing.T) {
		e := rec.await(t, "initial add", func(e WatchEvent) bool { return e.Ref == ref && e.Type == WatchAdded })
		if !e.Initial || e.Target != f.ns || e.ResourceVersion == "" || e.Object == nil {
			t.Errorf("event %+v", e)
		}
		live, ok := w.Live(ref)
		if !ok {
			t.Fatal("Live: not cached")
		}
		if got, _, _ := unstructuredString(live, "data", "v"); got != "1" {
			t.Errorf("cached data.v %q", got)
		}
	})

	t.Run("an out-of-band kubectl change is seen", func(t *testing.T) {
		before := f.configMap("a").GetResourceVersion()
		f.kubectl("patch", "configmap", "-n", f.ns, "a", "--type=merge", "-p", `{"data":{"v":"edited"}}`)
		e := rec.await(t, "update", func(e WatchEvent) bool {
			return e.Ref == ref && e.Type == WatchUpdated && e.ResourceVersion != before
		})
		if e.Target != f.ns {
			t.Errorf("target %q", e.Target)
		}
		live, _ := w.Live(ref)
		if got, _, _ := unstructuredString(live, "data", "v"); got != "edited" {
			t.Errorf("cached data.v %q, want edited", got)
		}
	})

	t.Run("a kind added later is watched", func(t *testing.T) {
		svc := schema.GroupVersionKind{Version: "v1", Kind: "Service"}
		if err := w.Add(t.Context(), svc); err != nil {
			t.Fatal(err)
		}
		if !w.Watching(svc) || len(w.Kinds()) != 2 {
			t.Errorf("kinds %v", w.Kinds())
		}
		f.mustApply(f.ns, configMaps("edited", "a")+"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{port: 80}]\n", testOptions())
		rec.await(t, "service add", func(e WatchEvent) bool { return e.Ref.Kind == "Service" && e.Ref.Name == "web" && e.Type == WatchAdded })
	})

	t.Run("deletions are seen and leave the cache", func(t *testing.T) {
		f.kubectl("delete", "configmap", "-n", f.ns, "a")
		rec.await(t, "delete", func(e WatchEvent) bool { return e.Ref == ref && e.Type == WatchDeleted })
		if _, ok := w.Live(ref); ok {
			t.Error("deleted object still cached")
		}
	})

	t.Run("unmanaged objects and inventories are not watched", func(t *testing.T) {
		f.kubectl("create", "configmap", "-n", f.ns, "unmanaged", "--from-literal=v=1")
		// Rewrites the inventory, then a managed change: one informer
		// delivers a kind's events in order, so once the last one is seen
		// any event for the others would have been too.
		f.mustApply(f.ns, configMaps("1", "b")+"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{port: 80}]\n", testOptions())
		f.kubectl("annotate", "configmap", "-n", f.ns, "b", "touched=yes")
		rec.await(t, "update of b", func(e WatchEvent) bool {
			return e.Ref.Name == "b" && e.Type == WatchUpdated && e.Object.GetAnnotations()["touched"] == "yes"
		})
		rec.none(t, "unmanaged", func(e WatchEvent) bool { return e.Ref.Name == "unmanaged" })
		rec.none(t, "inventory", func(e WatchEvent) bool { return e.Ref.Name == InventoryName(f.ns) })
	})

	cancel()
	select {
	case <-w.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("watcher did not stop")
	}
	if err := w.Add(t.Context(), schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}); err == nil {
		t.Error("Add after stop succeeded")
	}
}
