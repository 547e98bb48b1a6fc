package reconciler_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
)

// requestLog counts the API requests of a cluster client by kind of
// request (watches aside: they last).
type requestLog struct {
	mu     sync.Mutex
	counts map[string]int
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("watch") != "true" {
			l.mu.Lock()
			if l.counts == nil {
				l.counts = map[string]int{}
			}
			l.counts[requestKind(r)]++
			l.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

// requestKind names a request by what it costs the API server.
func requestKind(r *http.Request) string {
	switch {
	case r.Method == http.MethodPatch && r.URL.Query().Get("dryRun") != "":
		return "dry-run"
	case r.Method == http.MethodPatch:
		return "patch"
	case strings.Contains(r.URL.Path, "/configmaps/") && strings.Contains(r.URL.Path, "/namespaces/trueup-system/"):
		return "inventory-" + strings.ToLower(r.Method)
	default:
		return strings.ToLower(r.Method)
	}
}

// take returns the counts since the last take and resets them.
func (l *requestLog) take() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.counts
	l.counts = nil
	return out
}

func total(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

func formatCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, counts[k])
	}
	return strings.TrimSpace(b.String())
}

// editCost runs the daemon loop on a target of n ConfigMaps with the given
// drift remediation, waits until it is quiet, edits one ConfigMap with
// kubectl and returns the API requests the daemon made until it was quiet
// again.
func editCost(t *testing.T, drift string, n int) map[string]int {
	t.Helper()
	var reqs requestLog
	outcomes := make(chan *reconciler.Outcome, 256)
	s := newScenarioFull(t, "interval: 1h\nconcurrency: 8\nremediation: {drift: "+drift+"}", "", reqs.wrap,
		reconciler.WithObserver(func(o *reconciler.Outcome) { outcomes <- o }))
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("cm-%04d.yaml", i)] = configMap(fmt.Sprintf("cm-%04d", i), "v")
	}
	s.commit(files, fmt.Sprintf("%d configmaps", n))
	s.run(t)
	if o := <-outcomes; o.Err != nil || o.Action != reconciler.ActionApplied {
		t.Fatalf("first reconcile: %s %v", o.Action, o.Err)
	}
	// The objects changed before their kind was watched: the daemon
	// compares them once more from the new cache, then rests.
	for inSync := false; !inSync; {
		select {
		case o := <-outcomes:
			if o.Err != nil {
				t.Fatalf("reconcile after the first apply: %v", o.Err)
			}
			inSync = o.Action == reconciler.ActionInSync
		case <-time.After(2 * time.Minute):
			t.Fatal("the applied objects were not compared from the watch cache after the first apply")
		}
	}
	quiet(t, outcomes, false)
	reqs.take()

	s.kubectl("patch", "configmap", "cm-0007", "-p", `{"data":{"mode":"edited"}}`)
	seen := quiet(t, outcomes, true)
	want := reconciler.ActionDetected
	if drift == "heal" {
		want = reconciler.ActionHealed
	}
	found := false
	for _, o := range seen {
		if o.Err != nil {
			t.Fatalf("reconcile after the edit failed: %v", o.Err)
		}
		found = found || o.Action == want
	}
	if !found {
		t.Fatalf("no %s outcome after the edit (got %d outcomes)", want, len(seen))
	}
	if drift == "heal" {
		if got := s.kubectl("get", "configmap", "cm-0007", "-o", "jsonpath={.data.mode}"); got != "v" {
			t.Fatalf("edit not healed: mode %q", got)
		}
	}
	return reqs.take()
}

// quiet collects outcomes until none has come for two seconds (the daemon
// has nothing left to do), waiting at most two minutes for the first one
// when one must come.
func quiet(t *testing.T, outcomes chan *reconciler.Outcome, must bool) []*reconciler.Outcome {
	t.Helper()
	var seen []*reconciler.Outcome
	wait := 2 * time.Second
	if must {
		wait = 2 * time.Minute
	}
	for {
		select {
		case o := <-outcomes:
			seen = append(seen, o)
			wait = 2 * time.Second
		case <-time.After(wait):
			if len(seen) == 0 && wait > 2*time.Second {
				t.Fatal("no reconcile within two minutes")
			}
			return seen
		}
	}
}

// One live edit costs the same API requests whatever the size of the
// target: the edited object is compared (and, healing, applied) again, not
// the whole target. It used to compare every object again (a heal dropped
// every cached comparison, and a first apply left none), so the cost grew
// with the target: hundreds of dry-runs for one kubectl patch.
func TestOneEditCostsTheSameWhateverTheTargetSize(t *testing.T) {
	for _, mode := range []string{"alert", "heal"} {
		t.Run(mode, func(t *testing.T) {
			small := editCost(t, mode, 50)
			large := editCost(t, mode, 200)
			t.Logf("%s, 50 objects: %s", mode, formatCounts(small))
			t.Logf("%s, 200 objects: %s", mode, formatCounts(large))
			if large["dry-run"] != small["dry-run"] || total(large) != total(small) {
				t.Fatalf("one edit costs more on a larger target: 50 objects: %s; 200 objects: %s", formatCounts(small), formatCounts(large))
			}
			if large["dry-run"] > 3 {
				t.Fatalf("one edit costs %d dry-runs, want at most 3 (compare; heal: plan and re-check)", large["dry-run"])
			}
		})
	}
}
