package kube_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/drift/kube"
)

// dryRunCounter counts the dry-run requests a client sends.
type dryRunCounter struct{ n atomic.Int64 }

func (c *dryRunCounter) take() int64 { return c.n.Swap(0) }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// countingDetector is a Detector on a client of its own whose dry-runs
// are counted.
func countingDetector(t *testing.T, c cluster) (*kube.Detector, *dryRunCounter) {
	t.Helper()
	counter := &dryRunCounter{}
	cfg := rest.CopyConfig(c.env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.URL.Query().Get("dryRun") == "All" {
				counter.n.Add(1)
			}
			return rt.RoundTrip(req)
		})
	})
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return kube.New(cl), counter
}

// TestCompareWithoutDryRun checks when CompareAll trusts the live object
// without a dry-run: only when trueup's own apply holds exactly Git's
// fields at Git's values. Everything else (a value the server normalises,
// a field changed or taken over by another manager, a field Git dropped)
// is still dry-run and reported as the server says.
func TestCompareWithoutDryRun(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d, dryRuns := countingDetector(t, c)
	deploy := object(t, ns, deploymentManifest("nginx:1.27")) // ports without protocol: a defaulted list key
	cm := object(t, ns, configMapManifest)
	secret := object(t, ns, secretManifest())
	for _, obj := range []*unstructured.Unstructured{deploy, cm, secret} {
		c.apply(t, obj)
	}
	compareCounted := func(t *testing.T, desired *unstructured.Unstructured, wantDryRuns int64) drift.ObjectReport {
		t.Helper()
		dryRuns.take()
		reports, err := d.CompareAll(t.Context(), []*unstructured.Unstructured{desired}, nil, 1)
		if err != nil {
			t.Fatalf("CompareAll: %v", err)
		}
		r := reports[0]
		if got := dryRuns.take(); got != wantDryRuns {
			t.Errorf("%s: %d dry-runs, want %d", kube.Ref(desired), got, wantDryRuns)
		}
		return r
	}

	t.Run("in sync as applied: no dry-run", func(t *testing.T) {
		for _, obj := range []*unstructured.Unstructured{deploy, cm, secret} {
			wantInSync(t, compareCounted(t, obj, 0))
		}
	})

	t.Run("a quantity the server normalises is dry-run, in sync", func(t *testing.T) {
		withCPU := deploy.DeepCopy()
		containers, _, _ := unstructured.NestedSlice(withCPU.Object, "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["resources"] = map[string]any{"requests": map[string]any{"cpu": "0.5"}}
		if err := unstructured.SetNestedSlice(withCPU.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			t.Fatal(err)
		}
		c.apply(t, withCPU)
		live, err := d.Get(t.Context(), withCPU)
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers")
		if cpu := got[0].(map[string]any)["resources"].(map[string]any)["requests"].(map[string]any)["cpu"]; cpu != "500m" {
			t.Fatalf("live cpu %v, want the server's 500m: the test would prove nothing", cpu)
		}
		wantInSync(t, compareCounted(t, withCPU, 1))
		c.apply(t, deploy)
	})

	t.Run("a field changed by another manager is dry-run and reported", func(t *testing.T) {
		start := time.Now()
		c.kubectl(t, nil, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"key":"by-hand"}}`)
		f := wantOneField(t, compareCounted(t, cm, 1), "/data/key")
		wantActor(t, f, "kubectl-patch", "Update", true, start)
	})

	t.Run("a field another manager took over at Git's value is dry-run, in sync", func(t *testing.T) {
		c.kubectl(t, nil, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"key":"value"}}`)
		wantInSync(t, compareCounted(t, cm, 1))
	})

	t.Run("a field Git dropped is dry-run and reported", func(t *testing.T) {
		c.apply(t, cm)
		wantInSync(t, compareCounted(t, cm, 0))
		dropped := cm.DeepCopy()
		unstructured.RemoveNestedField(dropped.Object, "data", "other")
		wantOneField(t, compareCounted(t, dropped, 1), "/data/other")
	})

	t.Run("a container added out of band is dry-run, in sync", func(t *testing.T) {
		c.kubectl(t, nil, "-n", ns, "patch", "deployment", "web", "--type=strategic",
			"-p", `{"spec":{"template":{"spec":{"containers":[{"name":"debug","image":"busybox:1.36"}]}}}}`)
		wantInSync(t, compareCounted(t, deploy, 1))
	})
}
