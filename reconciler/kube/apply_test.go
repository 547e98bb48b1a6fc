package kube

import (
	"slices"
	"strings"
	"testing"
)

func TestApplyScenario(t *testing.T) {
	f := newFixture(t)
	target := f.ns
	const service = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
`
	docs := configMaps("1", "a", "b") + service
	t.Run("first apply creates labelled objects and the inventory", func(t *testing.T) {
		if inv := f.inventory(target); inv.Found {
			t.Fatalf("inventory exists before the first apply: %+v", inv)
		}
		var events []Event
		opts := testOptions()
		opts.Revision = "abc123"
		opts.Progress = func(e Event) { events = append(events, e) }
		res := f.mustApply(target, docs, opts)
		if got, want := res.Summary(), "3 created"; got != want {
			t.Errorf("summary %q, want %q", got, want)
		}
		for _, name := range []string{"a", "b"} {
			live := f.configMap(name)
			if live == nil {
				t.Fatalf("ConfigMap %s not created", name)
			}
			if got := live.GetLabels()[LabelTarget]; got != target {
				t.Errorf("ConfigMap %s label %s = %q, want %q", name, LabelTarget, got, target)
			}
		}
		if f.get("v1", "Service", f.ns, "web") == nil {
			t.Fatal("Service not created")
		}
		inv := f.inventory(target)
		if !inv.Found || inv.Revision != "abc123" || !slices.Equal(refNames(inv.Objects), []string{"a", "b", "web"}) {
			t.Errorf("inventory %+v, want a, b, web at abc123", inv)
		}
		if !res.InventoryWritten {
			t.Error("InventoryWritten false")
		}
		cm := f.get("v1", "ConfigMap", DefaultInventoryNamespace, InventoryName(target))
		if cm == nil || cm.GetLabels()[LabelTarget] != target {
			t.Errorf("inventory ConfigMap missing or unlabelled: %v", cm)
		}
		var types []EventType
		for _, e := range events {
			types = append(types, e.Type)
		}
		if want := []EventType{EventStageStarted, EventStageApplied, EventWaiting, EventInventory}; !slices.Equal(types, want) {
			t.Errorf("events %v, want %v", types, want)
		}
	})

	t.Run("a changed field is configured, the rest unchanged", func(t *testing.T) {
		before := f.configMap("b").GetResourceVersion()
		res := f.mustApply(target, strings.Replace(docs, `v: "1"`, `v: "2"`, 1), testOptions())
		if got, want := res.Summary(), "1 configured, 2 unchanged"; got != want {
			t.Errorf("summary %q, want %q", got, want)
		}
		wantAction(t, res, "ConfigMap", "a", ActionConfigured)
		if got, _, _ := unstructuredString(f.configMap("a"), "data", "v"); got != "2" {
			t.Errorf("a data.v = %q, want 2", got)
		}
		if after := f.configMap("b").GetResourceVersion(); after != before {
			t.Errorf("unchanged object was written: resourceVersion %s -> %s", before, after)
		}
	})

	t.Run("an object removed from the render is pruned", func(t *testing.T) {
		res := f.mustApply(target, configMaps("2", "a")+service, testOptions())
		wantAction(t, res, "ConfigMap", "b", ActionDeleted)
		if f.configMap("b") != nil {
			t.Error("b still exists")
		}
		if got := f.inventoryNames(target); !slices.Equal(got, []string{"a", "web"}) {
			t.Errorf("inventory %v, want [a web]", got)
		}
	})
}

func unstructuredString(obj interface{ UnstructuredContent() map[string]any }, path ...string) (string, bool, error) {
	m := obj.UnstructuredContent()
	for i, p := range path {
		v, ok := m[p]
		if !ok {
			return "", false, nil
		}
		if i == len(path)-1 {
			s, ok := v.(string)
			return s, ok, nil
		}
		if m, ok = v.(map[string]any); !ok {
			return "", false, nil
		}
	}
	return "", false, nil
}

func TestPruneSafety(t *testing.T) {
	t.Run("empty render prunes nothing and says why; allowEmpty prunes all", func(t *testing.T) {
		f := newFixture(t)
		f.mustApply(f.ns, configMaps("1", "a", "b"), testOptions())

		res := f.mustApply(f.ns, "", testOptions())
		want := "render is empty: refusing to prune 2 objects; set prune.allowEmpty: true if this is intended"
		if res.PruneBlocked != want {
			t.Errorf("PruneBlocked %q, want %q", res.PruneBlocked, want)
		}
		if f.configMap("a") == nil || f.configMap("b") == nil {
			t.Fatal("an empty render deleted objects")
		}
		if got := f.inventoryNames(f.ns); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("inventory %v, want [a b]", got)
		}

		opts := testOptions()
		opts.Prune.AllowEmpty = true
		res = f.mustApply(f.ns, "", opts)
		if got := res.Summary(); got != "2 deleted" {
			t.Errorf("summary %q, want 2 deleted", got)
		}
		if f.configMap("a") != nil || f.configMap("b") != nil {
			t.Error("allowEmpty left objects behind")
		}
		if inv := f.inventory(f.ns); !inv.Found || len(inv.Objects) != 0 {
			t.Errorf("inventory %+v, want found and empty", inv)
		}
	})

	t.Run("max blocks a mass deletion", func(t *testing.T) {
		f := newFixture(t)
		f.mustApply(f.ns, configMaps("1", "a", "b", "c", "d", "e"), testOptions())
		opts := testOptions()
		opts.Prune.Max = 2
		res := f.mustApply(f.ns, configMaps("1", "a"), opts)
		if want := "would delete 4 objects, limit 2 (prune.max): raise prune.max and run trueup apply, or delete them by hand"; res.PruneBlocked != want {
			t.Errorf("PruneBlocked %q, want %q", res.PruneBlocked, want)
		}
		for _, n := range []string{"b", "c", "d", "e"} {
			if f.configMap(n) == nil {
				t.Errorf("%s deleted despite the limit", n)
			}
			wantAction(t, res, "ConfigMap", n, ActionSkipped)
		}
		if got := f.inventoryNames(f.ns); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
			t.Errorf("inventory %v, want all five", got)
		}
		if !strings.Contains(res.Summary(), "prune blocked") {
			t.Errorf("summary %q does not say the prune was blocked", res.Summary())
		}
	})

	t.Run("prune disabled annotation keeps the object", func(t *testing.T) {
		f := newFixture(t)
		f.mustApply(f.ns, configMaps("1", "a", "keep"), testOptions())
		f.kubectl("annotate", "configmap", "-n", f.ns, "keep", AnnotationPrune+"="+PruneDisabled)
		res := f.mustApply(f.ns, configMaps("1", "a"), testOptions())
		e := wantAction(t, res, "ConfigMap", "keep", ActionSkipped)
		if !strings.Contains(e.Message, AnnotationPrune) {
			t.Errorf("message %q does not name the annotation", e.Message)
		}
		if f.configMap("keep") == nil {
			t.Fatal("protected object deleted")
		}
		if got := f.inventoryNames(f.ns); !slices.Equal(got, []string{"a"}) {
			t.Errorf("inventory %v, want [a]", got)
		}
	})

	t.Run("pruning off keeps objects in the inventory", func(t *testing.T) {
		f := newFixture(t)
		f.mustApply(f.ns, configMaps("1", "a", "b"), testOptions())
		opts := testOptions()
		opts.Prune.Enabled = false
		res := f.mustApply(f.ns, configMaps("1", "a"), opts)
		wantAction(t, res, "ConfigMap", "b", ActionSkipped)
		if f.configMap("b") == nil {
			t.Fatal("b deleted with pruning off")
		}
		if got := f.inventoryNames(f.ns); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("inventory %v, want [a b]", got)
		}
	})
}

func TestTwoTargetsShareANamespace(t *testing.T) {
	f := newFixture(t)
	blue, green := f.ns+"-blue", f.ns+"-green"
	f.mustApply(blue, configMaps("1", "blue-1", "blue-2"), testOptions())
	f.mustApply(green, configMaps("1", "green-1"), testOptions())

	t.Run("a target cannot take over another's object", func(t *testing.T) {
		res, err := f.apply(green, configMaps("1", "green-1", "blue-1"), testOptions())
		wantErrorIs(t, err, ErrOwnedByOtherTarget)
		if !strings.HasPrefix(err.Error(), `target "`+green+`": ConfigMap/`+f.ns+`/blue-1: apply: `) {
			t.Errorf("error does not start with the identity: %v", err)
		}
		if IsRetryable(err) {
			t.Error("ownership clash is retryable")
		}
		wantAction(t, res, "ConfigMap", "blue-1", ActionFailed)
		if got := f.configMap("blue-1").GetLabels()[LabelTarget]; got != blue {
			t.Errorf("blue-1 now labelled %q", got)
		}
	})

	t.Run("an inventory listing another target's object does not delete it", func(t *testing.T) {
		// Hand-edited or stale: green's inventory claims blue-2.
		inv := f.inventory(green)
		inv.Objects = append(inv.Objects, cm(f.ns, "blue-2"))
		if err := f.cluster.writeInventory(t.Context(), inv); err != nil {
			t.Fatal(err)
		}
		opts := testOptions()
		opts.Prune.AllowEmpty = true
		res := f.mustApply(green, "", opts)
		wantAction(t, res, "ConfigMap", "green-1", ActionDeleted)
		wantAction(t, res, "ConfigMap", "blue-2", ActionSkipped)
		if f.configMap("green-1") != nil {
			t.Error("green-1 not pruned")
		}
		for _, n := range []string{"blue-1", "blue-2"} {
			if f.configMap(n) == nil {
				t.Errorf("green's prune deleted blue's %s", n)
			}
		}
		if got := f.inventoryNames(blue); !slices.Equal(got, []string{"blue-1", "blue-2"}) {
			t.Errorf("blue's inventory %v changed", got)
		}
	})
}

func TestNamespaceUsedByAnotherTargetIsNotPruned(t *testing.T) {
	f := newFixture(t)
	owner, tenant := f.ns+"-owner", f.ns+"-tenant"
	shared := f.ns + "-shared"
	nsDoc := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + shared + "\n---\n"
	f.mustApply(owner, nsDoc+configMaps("1", "owner-cm"), testOptions())
	objs := parse(t, configMaps("1", "tenant-cm"))
	if err := f.cluster.Prepare(objs, tenant, shared); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cluster.Apply(t.Context(), tenant, objs, testOptions()); err != nil {
		t.Fatal(err)
	}

	res := f.mustApply(owner, configMaps("1", "owner-cm"), testOptions())
	e := wantAction(t, res, "Namespace", shared, ActionSkipped)
	if !strings.Contains(e.Message, tenant) {
		t.Errorf("message %q does not name the other target", e.Message)
	}
	if f.get("v1", "Namespace", "", shared) == nil {
		t.Fatal("shared namespace deleted")
	}
	if inv := f.inventory(owner); !slices.Contains(refNames(inv.Objects), shared) {
		t.Errorf("namespace dropped from the inventory: %v", refNames(inv.Objects))
	}
}
