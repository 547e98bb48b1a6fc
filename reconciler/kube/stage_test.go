package kube

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// widgetCRD renders a CRD for kind Widget in group and a Widget without a
// namespace.
func widgetCRD(group, scope string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.` + group + `
spec:
  group: ` + group + `
  scope: ` + scope + `
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
---
apiVersion: ` + group + `/v1
kind: Widget
metadata:
  name: w1
spec:
  size: 3
`
}

func TestCRDAndCustomResourceInOneApply(t *testing.T) {
	f := newFixture(t)
	group := f.ns + ".example.com"
	docs := widgetCRD(group, "Namespaced")

	t.Run("dry-run defers the custom resource", func(t *testing.T) {
		opts := testOptions()
		opts.DryRun = true
		res := f.mustApply(f.ns, docs, opts)
		wantAction(t, res, "CustomResourceDefinition", "widgets."+group, ActionCreated)
		e := wantAction(t, res, "Widget", "w1", ActionCreated)
		if !strings.Contains(e.Message, "not validated") {
			t.Errorf("message %q does not say the object was not validated", e.Message)
		}
		if f.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets."+group) != nil {
			t.Fatal("dry-run created the CRD")
		}
	})

	t.Run("staged apply creates both", func(t *testing.T) {
		res := f.mustApply(f.ns, docs, testOptions())
		if got := res.Summary(); got != "2 created" {
			t.Errorf("summary %q, want 2 created", got)
		}
		w := f.get(group+"/v1", "Widget", f.ns, "w1")
		if w == nil {
			t.Fatal("widget not created")
		}
		if w.GetLabels()[LabelTarget] != f.ns {
			t.Errorf("widget labels %v", w.GetLabels())
		}
	})

	t.Run("second apply is unchanged", func(t *testing.T) {
		res := f.mustApply(f.ns, docs, testOptions())
		if got := res.Summary(); got != "2 unchanged" {
			t.Errorf("summary %q, want 2 unchanged", got)
		}
	})
}

const jobDoc = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: m
        image: IMAGE
`

func job(image string) string { return strings.Replace(jobDoc, "IMAGE", image, 1) }

func jobImage(t *testing.T, f *fixture) string {
	t.Helper()
	live := f.get("batch/v1", "Job", f.ns, "migrate")
	if live == nil {
		t.Fatal("job missing")
	}
	containers, _, _ := unstructuredSlice(live.Object, "spec", "template", "spec", "containers")
	return containers[0].(map[string]any)["image"].(string)
}

func unstructuredSlice(obj map[string]any, path ...string) ([]any, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[p]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}

func TestImmutableFieldChange(t *testing.T) {
	f := newFixture(t)
	opts := testOptions()
	opts.Wait = false // no job controller in the test environment
	f.mustApply(f.ns, job("busybox:1"), opts)
	uid := f.get("batch/v1", "Job", f.ns, "migrate").GetUID()

	t.Run("without force it fails clearly and applies nothing", func(t *testing.T) {
		res, err := f.apply(f.ns, job("busybox:2")+"---\n"+configMaps("1", "extra"), opts)
		wantErrorIs(t, err, ErrImmutable)
		for _, want := range []string{
			`target "` + f.ns + `": Job.batch/` + f.ns + `/migrate: apply: immutable field changed`,
			"set force: true on the target or annotate the object trueup.dev/force=enabled to recreate it",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if IsRetryable(err) {
			t.Error("immutable error is retryable")
		}
		wantAction(t, res, "Job", "migrate", ActionFailed)
		wantAction(t, res, "ConfigMap", "extra", ActionSkipped)
		if f.configMap("extra") != nil {
			t.Error("the stage applied an object although its dry-run failed")
		}
		if got := jobImage(t, f); got != "busybox:1" {
			t.Errorf("image %q, want busybox:1", got)
		}
		if got := f.inventoryNames(f.ns); !slices.Equal(got, []string{"migrate"}) {
			t.Errorf("inventory %v, want [migrate]", got)
		}
	})

	t.Run("dry-run with force says it would recreate", func(t *testing.T) {
		dry := opts
		dry.Force, dry.DryRun = true, true
		res := f.mustApply(f.ns, job("busybox:2"), dry)
		e := wantAction(t, res, "Job", "migrate", ActionConfigured)
		if !strings.Contains(e.Message, "recreate") {
			t.Errorf("message %q", e.Message)
		}
		if got := f.get("batch/v1", "Job", f.ns, "migrate").GetUID(); got != uid {
			t.Error("dry-run recreated the job")
		}
	})

	t.Run("force recreates", func(t *testing.T) {
		forced := opts
		forced.Force = true
		res := f.mustApply(f.ns, job("busybox:2"), forced)
		e := wantAction(t, res, "Job", "migrate", ActionConfigured)
		if !strings.Contains(e.Message, "recreated") {
			t.Errorf("message %q", e.Message)
		}
		live := f.get("batch/v1", "Job", f.ns, "migrate")
		if live.GetUID() == uid {
			t.Error("job not recreated (same UID)")
		}
		if got := jobImage(t, f); got != "busybox:2" {
			t.Errorf("image %q, want busybox:2", got)
		}
	})

	t.Run("the force annotation recreates", func(t *testing.T) {
		uid := f.get("batch/v1", "Job", f.ns, "migrate").GetUID()
		doc := strings.Replace(job("busybox:3"), "  name: migrate\n", "  name: migrate\n  annotations:\n    trueup.dev/force: enabled\n", 1)
		res := f.mustApply(f.ns, doc, opts)
		wantAction(t, res, "Job", "migrate", ActionConfigured)
		if f.get("batch/v1", "Job", f.ns, "migrate").GetUID() == uid {
			t.Error("job not recreated")
		}
		if got := jobImage(t, f); got != "busybox:3" {
			t.Errorf("image %q, want busybox:3", got)
		}
	})
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.mustApply(f.ns, configMaps("1", "a", "c"), testOptions())
	before := f.get("v1", "ConfigMap", DefaultInventoryNamespace, InventoryName(f.ns)).GetResourceVersion()
	newNS := f.ns + "-new"

	opts := testOptions()
	opts.DryRun = true
	docs := configMaps("2", "a", "b") + "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + newNS + "\n---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: inside\n  namespace: " + newNS + "\n"
	res := f.mustApply(f.ns, docs, opts)

	wantAction(t, res, "ConfigMap", "a", ActionConfigured)
	wantAction(t, res, "ConfigMap", "b", ActionCreated)
	wantAction(t, res, "ConfigMap", "c", ActionDeleted)
	wantAction(t, res, "Namespace", newNS, ActionCreated)
	if e := wantAction(t, res, "ConfigMap", "inside", ActionCreated); !strings.Contains(e.Message, "namespace") {
		t.Errorf("message %q does not explain the skipped validation", e.Message)
	}
	if !strings.HasPrefix(res.Summary(), "dry-run: ") {
		t.Errorf("summary %q", res.Summary())
	}
	if got, _, _ := unstructuredString(f.configMap("a"), "data", "v"); got != "1" {
		t.Errorf("dry-run changed a: %q", got)
	}
	if f.configMap("b") != nil || f.configMap("c") == nil || f.get("v1", "Namespace", "", newNS) != nil {
		t.Error("dry-run created or deleted objects")
	}
	if res.InventoryWritten {
		t.Error("dry-run wrote the inventory")
	}
	if got := refNames(res.Inventory.Objects); !slices.Equal(got, []string{"a", "b", "inside", newNS}) {
		t.Errorf("would-be inventory %v", got)
	}
	if after := f.get("v1", "ConfigMap", DefaultInventoryNamespace, InventoryName(f.ns)).GetResourceVersion(); after != before {
		t.Error("dry-run wrote the inventory ConfigMap")
	}
}

func TestFailedStageKeepsInventory(t *testing.T) {
	f := newFixture(t)
	f.mustApply(f.ns, configMaps("1", "a", "b"), testOptions())
	bad := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  \"not a key!\": x\n"
	res, err := f.apply(f.ns, configMaps("2", "a")+bad, testOptions())
	if err == nil {
		t.Fatal("an invalid object applied")
	}
	if IsRetryable(err) {
		t.Errorf("invalid object is retryable: %v", err)
	}
	if !strings.Contains(err.Error(), `ConfigMap/`+f.ns+`/bad: dry-run: `) {
		t.Errorf("error does not name the object: %v", err)
	}
	wantAction(t, res, "ConfigMap", "bad", ActionFailed)
	if got, _, _ := unstructuredString(f.configMap("a"), "data", "v"); got != "1" {
		t.Errorf("a changed to %q although its stage failed", got)
	}
	if f.configMap("b") == nil {
		t.Error("b pruned although the apply failed")
	}
	if got := f.inventoryNames(f.ns); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("inventory %v, want [a b]", got)
	}
}

func TestUnhealthyApply(t *testing.T) {
	f := newFixture(t)
	deploy := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
`
	opts := testOptions()
	opts.Timeout = 2 * time.Second // no deployment controller: never ready
	res, err := f.apply(f.ns, deploy, opts)
	wantErrorIs(t, err, ErrUnhealthy)
	if res.InventoryWritten || f.inventory(f.ns).Found {
		t.Error("inventory written after a failed health check")
	}

	opts.RecordUnhealthy = true
	opts.Revision = "rev-2"
	res, err = f.apply(f.ns, deploy, opts)
	wantErrorIs(t, err, ErrUnhealthy)
	if !res.InventoryWritten || !slices.Equal(f.inventoryNames(f.ns), []string{"web"}) {
		t.Errorf("RecordUnhealthy: inventory %v", f.inventoryNames(f.ns))
	}
	// The attempt is recorded apart from the last healthy revision (none).
	if inv := f.inventory(f.ns); inv.Revision != "" || inv.Attempted != "rev-2" || inv.Applied("rev-2") {
		t.Errorf("RecordUnhealthy: inventory revision %q attempted %q, want \"\" and rev-2", inv.Revision, inv.Attempted)
	}
}

func TestApplyIgnoreRules(t *testing.T) {
	f := newFixture(t)
	deploy := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
`
	opts := testOptions()
	opts.Wait = false
	f.mustApply(f.ns, deploy, opts)
	f.kubectl("scale", "deployment", "-n", f.ns, "web", "--replicas=3")
	replicas := func() int64 {
		v, _ := f.get("apps/v1", "Deployment", f.ns, "web").Object["spec"].(map[string]any)["replicas"].(int64)
		return v
	}

	opts.Ignore = []drift.IgnoreRule{{Paths: []string{"/spec/replicas"}, Selector: drift.Selector{Kind: "Deployment"}}}
	res := f.mustApply(f.ns, deploy, opts)
	wantAction(t, res, "Deployment", "web", ActionUnchanged)
	if got := replicas(); got != 3 {
		t.Errorf("ignored field reverted: replicas %d, want 3", got)
	}

	opts.Ignore = nil
	res = f.mustApply(f.ns, deploy, opts)
	wantAction(t, res, "Deployment", "web", ActionConfigured)
	if got := replicas(); got != 1 {
		t.Errorf("replicas %d, want 1", got)
	}
}

func TestAPIServerDown(t *testing.T) {
	env := kubeenv.Start(t)
	c, err := NewCluster("own", env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	prepare := func(docs string) []*unstructured.Unstructured {
		objs := parse(t, docs)
		if err := c.Prepare(objs, "web", ns); err != nil {
			t.Fatal(err)
		}
		return objs
	}
	if _, err := c.Apply(t.Context(), "web", prepare(configMaps("1", "a")), testOptions()); err != nil {
		t.Fatal(err)
	}
	objs := prepare(configMaps("1", "a", "b")) // kinds are known: the mapper cached them
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}

	res, err := c.Apply(t.Context(), "web", objs, testOptions())
	if err == nil {
		t.Fatal("apply against a stopped API server succeeded")
	}
	if !IsRetryable(err) {
		t.Errorf("not retryable: %v", err)
	}
	if !strings.HasPrefix(err.Error(), `target "web": `) {
		t.Errorf("error does not start with the target: %v", err)
	}
	if res.InventoryWritten || res.Changed() {
		t.Errorf("result claims writes: %+v", res)
	}

	t.Run("unreachable host", func(t *testing.T) {
		cfg := rest.CopyConfig(env.Config)
		cfg.Host = "https://127.0.0.1:1"
		c, err := NewCluster("nowhere", cfg)
		if err != nil {
			t.Fatalf("NewCluster must not contact the server: %v", err)
		}
		err = c.Prepare(parse(t, configMaps("1", "a")), "web", "default")
		if err == nil || !IsRetryable(err) {
			t.Errorf("prepare: %v, want a retryable error", err)
		}
		_, err = c.ReadInventory(t.Context(), "web", "")
		if err == nil || !IsRetryable(err) {
			t.Errorf("read inventory: %v, want a retryable error (never an empty inventory)", err)
		}
	})
}
