package reconciler_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/trueup-dev/trueup/reconciler"
)

// outage cuts the connection to the API server once a request matching
// trigger has been sent, until restore: every later request fails the way a
// stopped API server fails (connection refused).
type outage struct {
	trigger string
	down    atomic.Bool
	cut     atomic.Bool
}

func (o *outage) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if o.down.Load() {
			return nil, &url.Error{Op: r.Method, URL: r.URL.String(), Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
		}
		resp, err := rt.RoundTrip(r)
		if o.cut.Load() && r.Method == http.MethodPatch && strings.Contains(r.URL.Path, o.trigger) && !strings.Contains(r.URL.RawQuery, "dryRun") {
			o.down.Store(true) // the server "stops" right after this write
		}
		return resp, err
	})
}

func TestAPIServerOutageMidApply(t *testing.T) {
	o := &outage{trigger: "/configmaps/cm2"}
	s := newScenarioWith(t, "prune: {enabled: true}", o.wrap)
	files := map[string]string{}
	for i := range 3 {
		files[fmt.Sprintf("cm%d.yaml", i)] = configMap(fmt.Sprintf("cm%d", i), "v1")
	}
	s.commit(files, "three configmaps")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	before := s.kubectl("get", "configmap", "-n", "trueup-system", "trueup-inventory-"+s.ns, "-o", "jsonpath={.metadata.annotations}{.data}")

	// The second commit adds two objects, changes one and drops one; the
	// API server goes away in the middle of applying it.
	next := map[string]string{
		"cm0.yaml": configMap("cm0", "v2"),
		"cm2.yaml": configMap("cm2", "v2"), "cm3.yaml": configMap("cm3", "v2"),
	}
	s.commit(next, "change, add, drop")
	o.cut.Store(true)
	out := s.reconcile(reconciler.TriggerInterval)
	if out.Err == nil || !reconciler.IsRetryable(out.Err) {
		t.Fatalf("want a retryable error, got %v", out.Err)
	}
	if !strings.Contains(out.Err.Error(), "connection refused") {
		t.Fatalf("error does not say what happened: %v", out.Err)
	}
	o.down.Store(false)
	o.cut.Store(false)
	after := s.kubectl("get", "configmap", "-n", "trueup-system", "trueup-inventory-"+s.ns, "-o", "jsonpath={.metadata.annotations}{.data}")
	if after != before {
		t.Fatalf("inventory changed by the interrupted apply:\nbefore %s\nafter  %s", before, after)
	}
	if !s.exists("configmap", "cm2") || !s.exists("configmap", "cm1") {
		t.Fatal("an interrupted apply deleted objects")
	}

	// The server is back: the next reconcile converges.
	out = s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	for _, name := range []string{"cm0", "cm2", "cm3"} {
		if got := s.kubectl("get", "configmap", name, "-o", "jsonpath={.data.mode}"); got != "v2" {
			t.Fatalf("%s not converged: mode %q, want v2", name, got)
		}
	}
	if s.exists("configmap", "cm1") {
		t.Fatal("cm1 left Git but was not pruned after convergence")
	}
	inv := s.kubectl("get", "configmap", "-n", "trueup-system", "trueup-inventory-"+s.ns, "-o", "jsonpath={.data}")
	if !strings.Contains(inv, "cm3") || strings.Contains(inv, "cm1") {
		t.Fatalf("inventory after convergence: %s", inv)
	}
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionInSync)
}
