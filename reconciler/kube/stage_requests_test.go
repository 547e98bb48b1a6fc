package kube

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/trueup-dev/trueup/drift"
)

// requestLog records the requests a Cluster sends to the API server, by
// kind of request.
type requestLog struct {
	mu    sync.Mutex
	total int
	count map[string]int
}

// countingCluster is a Cluster of its own on the shared control plane
// whose every request is counted (discovery included).
func (f *fixture) countingCluster() (*Cluster, *requestLog) {
	f.t.Helper()
	log := &requestLog{count: map[string]int{}}
	cfg := rest.CopyConfig(f.env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			log.add(req)
			return rt.RoundTrip(req)
		})
	})
	c, err := NewCluster("counted", cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return c, log
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// add files a request under "<verb> <what>": "get configmap" (one object
// of the test's ConfigMaps), "dry-run configmap", "apply configmap",
// "list configmaps", or its method and path for anything else.
func (l *requestLog) add(req *http.Request) {
	key := req.Method + " " + req.URL.Path
	if rest, ok := strings.CutPrefix(req.URL.Path, "/api/v1/namespaces/"); ok && !strings.HasPrefix(rest, DefaultInventoryNamespace+"/") {
		parts := strings.Split(rest, "/")
		switch {
		case len(parts) == 2 && parts[1] == "configmaps" && req.Method == http.MethodGet:
			key = "list configmaps"
		case len(parts) == 3 && parts[1] == "configmaps" && req.Method == http.MethodGet:
			key = "get configmap"
		case len(parts) == 3 && parts[1] == "configmaps" && req.Method == http.MethodPatch && req.URL.Query().Get("dryRun") == "All":
			key = "dry-run configmap"
		case len(parts) == 3 && parts[1] == "configmaps" && req.Method == http.MethodPatch:
			key = "apply configmap"
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	l.count[key]++
}

// take returns the counts so far and starts over.
func (l *requestLog) take() (total int, count map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	total, count = l.total, l.count
	l.total, l.count = 0, map[string]int{}
	return total, count
}

// TestApplyRequests counts what an Apply of n ConfigMaps costs the API
// server: the first apply lists the namespace's ConfigMaps once and sends
// each object a dry-run and an apply (2n requests and a few for discovery
// and the inventory), never a read per object; an apply with nothing to
// change sends the dry-runs only, and one change one apply more. A heal
// of a few of them reads those one by one rather than list them all.
func TestApplyRequests(t *testing.T) {
	f := newFixture(t)
	c, log := f.countingCluster()
	const n = 40 // at least listMin: the namespace's ConfigMaps are listed
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("cm-%02d", i)
	}
	apply := func(value string, some int) *Result {
		t.Helper()
		objs := parse(t, configMaps("1", names[:some]...))
		objs[0] = parse(t, configMaps(value, names[0]))[0]
		if err := c.Prepare(objs, f.ns, f.ns); err != nil {
			t.Fatal(err)
		}
		opts := testOptions()
		opts.Wait = false
		for _, name := range names[some:] { // a heal keeps the rest as it is
			opts.Retain = append(opts.Retain, drift.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: f.ns, Name: name})
		}
		res, err := c.Apply(t.Context(), f.ns, objs, opts)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		return res
	}
	const constant = 12 // discovery, the inventory (read, namespace, write), the lists
	const some = 16     // a heal of fewer than half of them: read one by one
	for _, step := range []struct {
		name, value, summary string
		objects              int
		lists, gets          int
		dryRuns, applies     int
	}{
		{"first apply", "1", fmt.Sprintf("%d created", n), n, 1, 0, n, n},
		{"nothing changed", "1", fmt.Sprintf("%d unchanged", n), n, 1, 0, n, 0},
		{"one change", "2", fmt.Sprintf("1 configured, %d unchanged", n-1), n, 1, 0, n, 1},
		{"a heal of a few", "3", fmt.Sprintf("1 configured, %d unchanged", some-1), some, 0, some, some, 1},
	} {
		t.Run(step.name, func(t *testing.T) {
			log.take()
			res := apply(step.value, step.objects)
			if got := res.Summary(); got != step.summary {
				t.Errorf("summary %q, want %q", got, step.summary)
			}
			total, count := log.take()
			t.Logf("%d requests: %v", total, count)
			if got := count["get configmap"]; got != step.gets {
				t.Errorf("%d reads of single ConfigMaps, want %d", got, step.gets)
			}
			if got := count["list configmaps"]; got != step.lists {
				t.Errorf("%d lists of the namespace's ConfigMaps, want %d", got, step.lists)
			}
			if got := count["dry-run configmap"]; got != step.dryRuns {
				t.Errorf("%d dry-runs, want %d", got, step.dryRuns)
			}
			if got := count["apply configmap"]; got != step.applies {
				t.Errorf("%d applies, want %d", got, step.applies)
			}
			if limit := step.lists + step.gets + step.dryRuns + step.applies + constant; total > limit {
				t.Errorf("%d requests, want at most %d", total, limit)
			}
		})
	}
}
