package reconciler_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/sources/git"
)

// countingConfig returns a copy of cfg whose requests are counted.
func countingConfig(cfg *rest.Config, n *atomic.Int64) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return rt.RoundTrip(r)
		})
	}
	return c
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const benchObjects = 1000

// BenchmarkSteadyState measures, side by side on one control plane with
// 1,000 ConfigMaps: trueup's no-change reconcile (watch cache, comparison
// cache) against fluxcd/pkg/ssa's ApplyAll with concurrency 4 on the same
// objects, in time and API requests, and the delay from a live edit to the
// drift being recorded. It reports the ratios as metrics.
func BenchmarkSteadyState(b *testing.B) {
	env := kubeenv.Shared(b)
	ns := env.Namespace(b)
	dir := b.TempDir()
	repo := gitrepo.Init(b, filepath.Join(dir, "repo.git"))
	files := map[string]gitrepo.Entry{}
	for i := range benchObjects {
		files[fmt.Sprintf("app/cm-%04d.yaml", i)] = gitrepo.File(configMap(fmt.Sprintf("cm-%04d", i), "v"))
	}
	repo.Commit(b, files, gitrepo.CommitOptions{Message: "1000 configmaps"})

	var trueupReqs, ssaReqs atomic.Int64
	rec, observed := benchReconciler(b, env, ns, repo, dir, &trueupReqs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if out := rec.Reconcile(ctx, ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{}); out.Err != nil {
		b.Fatalf("initial apply: %v", out.Err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = rec.Run(ctx, reconciler.DefaultRunOptions()) }()
	defer func() { cancel(); <-done }()
	waitForInSync(b, observed)

	mgr, objs := benchSSA(b, env, ns, &ssaReqs)
	// Warm up both sides: ssa's first ApplyAll adds its field manager to
	// every object (new resourceVersions), which trueup then compares once.
	if _, err := mgr.ApplyAll(ctx, objs, ssa.DefaultApplyOptions()); err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Second) // let the watch deliver those updates
	if out := rec.Reconcile(ctx, ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{}); out.Err != nil {
		b.Fatal(out.Err)
	}
	var trueupTime, ssaTime time.Duration
	var trueupN, ssaN int64
	for b.Loop() {
		trueupN -= trueupReqs.Load()
		start := time.Now()
		out := rec.Reconcile(ctx, ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
		trueupTime += time.Since(start)
		trueupN += trueupReqs.Load()
		if out.Err != nil || out.Action != reconciler.ActionInSync {
			b.Fatalf("no-change reconcile: %s %v, %d objects not in sync", out.Action, out.Err, len(driftedOnly(out.Report)))
		}
		ssaN -= ssaReqs.Load()
		start = time.Now()
		if _, err := mgr.ApplyAll(ctx, objs, ssa.DefaultApplyOptions()); err != nil {
			b.Fatal(err)
		}
		ssaTime += time.Since(start)
		ssaN += ssaReqs.Load()
	}
	n := float64(b.N)
	b.ReportMetric(float64(trueupTime.Microseconds())/1000/n, "trueup-ms/op")
	b.ReportMetric(float64(ssaTime.Microseconds())/1000/n, "ssa-ms/op")
	b.ReportMetric(float64(trueupTime)/float64(ssaTime), "time-ratio")
	b.ReportMetric(float64(trueupN)/n, "trueup-reqs/op")
	b.ReportMetric(float64(ssaN)/n, "ssa-reqs/op")
	b.ReportMetric(float64(trueupN)/float64(ssaN), "reqs-ratio")
	b.ReportMetric(editToDetection(b, env, ns, observed).Seconds()*1000, "edit-to-drift-ms")
}

// benchReconciler builds an alert-mode reconciler whose outcomes go to the
// returned channel.
func benchReconciler(b *testing.B, env *kubeenv.Env, ns string, repo *gitrepo.Repo, dir string, reqs *atomic.Int64) (*reconciler.Reconciler, chan *reconciler.Outcome) {
	yaml := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
sources: [{name: repo, url: %s}]
clusters: [{name: test, kubeconfig: {path: %s}}]
targets:
  - {name: %s, source: repo, path: app, cluster: test, namespace: %s, interval: 1h, wait: false, concurrency: 8, remediation: {drift: alert}}
`, repo.URL(), env.Kubeconfig, ns, ns)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	srcs := map[string]git.Source{"repo": {Name: "repo", URL: repo.URL(), Ref: git.RefSpec{Branch: "main"}}}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "sources")), srcs)
	cluster, err := kube.NewCluster("test", countingConfig(env.Config, reqs))
	if err != nil {
		b.Fatal(err)
	}
	observed := make(chan *reconciler.Outcome, 64)
	rec, err := reconciler.New(cfg, loader, map[string]*reconciler.Destination{"test": reconciler.NewDestination(cluster, "trueup-system")},
		reconciler.WithObserver(func(o *reconciler.Outcome) {
			select {
			case observed <- o:
			default:
			}
		}))
	if err != nil {
		b.Fatal(err)
	}
	return rec, observed
}

// benchSSA returns an ssa manager on its own counted client and the same
// objects trueup applies.
func benchSSA(b *testing.B, env *kubeenv.Env, ns string, reqs *atomic.Int64) (*ssa.ResourceManager, []*unstructured.Unstructured) {
	cfg := countingConfig(env.Config, reqs)
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	mgr := ssa.NewResourceManager(c, polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{}), ssa.Owner{Field: "ssa-bench", Group: "trueup.dev"})
	mgr.SetConcurrency(4)
	objs := make([]*unstructured.Unstructured, benchObjects)
	for i := range objs {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("ConfigMap")
		o.SetName(fmt.Sprintf("cm-%04d", i))
		o.SetNamespace(ns)
		o.SetLabels(map[string]string{"trueup.dev/target": ns})
		_ = unstructured.SetNestedStringMap(o.Object, map[string]string{"mode": "v"}, "data")
		objs[i] = o
	}
	return mgr, objs
}

func waitForInSync(b *testing.B, observed chan *reconciler.Outcome) {
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case o := <-observed:
			if o.Err == nil && o.Action == reconciler.ActionInSync {
				return
			}
		case <-deadline:
			b.Fatal("the target never reached in-sync")
		}
	}
}

// editToDetection edits one object out of band and returns how long until
// a reconcile recorded its drift.
func editToDetection(b *testing.B, env *kubeenv.Env, ns string, observed chan *reconciler.Outcome) time.Duration {
	for len(observed) > 0 {
		<-observed
	}
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetNamespace(ns)
	cm.SetName("cm-0500")
	start := time.Now()
	if err := c.Patch(context.Background(), cm, client.RawPatch("application/merge-patch+json", []byte(`{"data":{"mode":"edited"}}`))); err != nil {
		b.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case o := <-observed:
			if o.Report.Counts()[drift.Drifted] > 0 {
				return time.Since(start)
			}
		case <-deadline:
			b.Fatal("the edit was not detected within 30s")
		}
	}
}

func driftedOnly(r drift.Report) []drift.ObjectReport {
	var out []drift.ObjectReport
	for _, o := range r.Objects {
		if o.Status != drift.InSync {
			out = append(out, o)
		}
	}
	return out
}
