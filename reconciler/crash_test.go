package reconciler_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// crashHelperEnv hands TestHelperApplyUntilKilled its scenario.
const crashHelperEnv = "TRUEUP_RECONCILER_CRASH_HELPER"

// crashHelper is the helper process's assignment.
type crashHelper struct {
	Setup scenarioSetup
	// KillAt: after the cluster accepted this many changes of the
	// scenario's objects, the helper says so and waits to be killed
	// (before it sees the answer of the last one).
	KillAt int32
}

// TestHelperApplyUntilKilled is not a test: TestApplyKilledMidwayKeepsEveryApplyRecord
// re-executes the test binary to run it. It reconciles the scenario's target
// with the history in its data folder and prints "accepted N" once the
// API server accepted the KillAt-th change, then blocks.
func TestHelperApplyUntilKilled(t *testing.T) {
	raw := os.Getenv(crashHelperEnv)
	if raw == "" {
		return
	}
	var h crashHelper
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		t.Fatal(err)
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", h.Setup.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := history.OpenSQLite(filepath.Join(h.Setup.Dir, "data", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	wrap := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err == nil && resp.StatusCode < 300 && r.Method == http.MethodPatch && !strings.Contains(r.URL.RawQuery, "dryRun") &&
				strings.Contains(r.URL.Path, "/namespaces/"+h.Setup.Namespace+"/configmaps/") {
				if n := accepted.Add(1); n == h.KillAt {
					fmt.Printf("accepted %d\n", n)
					select {} // killed here
				}
			}
			return resp, err
		})
	}
	r := newReconciler(t, h.Setup, restCfg, wrap, os.Stderr, reconciler.WithHistory(hist))
	out := r.Reconcile(t.Context(), h.Setup.Namespace, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
	fmt.Printf("finished without being killed: %v\n", out.Err)
	os.Exit(3)
}

// TestApplyKilledMidwayKeepsEveryApplyRecord: a commit changes 30 objects of
// a target applied one at a time; trueup is killed with SIGKILL after the
// cluster accepted 15 of them (trueup saw the answer for 14). After the
// restart every changed object has exactly one apply record, the
// interrupted reconcile is recorded, and the chain verifies.
func TestApplyKilledMidwayKeepsEveryApplyRecord(t *testing.T) {
	const objects, killAt = 30, 15
	s := newScenario(t, "concurrency: 1")
	files := func(v string) map[string]string {
		m := map[string]string{}
		for i := range objects {
			m[fmt.Sprintf("cm%02d.yaml", i)] = configMap(fmt.Sprintf("cm%02d", i), v)
		}
		return m
	}
	s.commit(files("v1"), "thirty configmaps")
	h := openScenarioHistory(t, s)
	s.rec = newReconciler(t, s.setup, s.env.Config, nil, s.logs, reconciler.WithHistory(h))
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	s.commit(files("v2"), "change all thirty")

	runHelperUntilAccepted(t, crashHelper{Setup: s.setup, KillAt: killAt})
	changed := 0
	for i := range objects {
		if s.kubectl("get", "configmap", fmt.Sprintf("cm%02d", i), "-o", "jsonpath={.data.mode}") == "v2" {
			changed++
		}
	}
	if changed != killAt {
		t.Fatalf("%d objects changed before the kill, want %d", changed, killAt)
	}

	// The restart: a new reconciler on the same data folder and history.
	s.rec = newReconciler(t, s.setup, s.env.Config, nil, s.logs, reconciler.WithHistory(h))
	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	if c := out.Apply.Counts(); c[kube.ActionConfigured] != objects-killAt {
		t.Fatalf("after the restart: %s, want %d configured", out.Apply.Summary(), objects-killAt)
	}
	recs, err := h.Query(t.Context(), history.Filter{Target: s.ns, Revision: out.Revision.Commit, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	perObject := map[string]int{}
	interrupted := 0
	for _, r := range recs {
		switch {
		case r.Type == history.TypeApply && r.Outcome == string(kube.ActionConfigured):
			perObject[r.Object]++
		case r.Type == history.TypeApply:
			t.Errorf("apply record of %s: outcome %q, want configured", r.Object, r.Outcome)
		case r.Type == history.TypeReconcile && r.Outcome == string(reconciler.ActionFailed):
			interrupted++
			if !strings.Contains(r.Message, "interrupted") {
				t.Errorf("the interrupted reconcile's record says %q", r.Message)
			}
		}
	}
	for i := range objects {
		obj := fmt.Sprintf("ConfigMap/%s/cm%02d", s.ns, i)
		if perObject[obj] != 1 {
			t.Errorf("%s: %d apply records for the new revision, want 1", obj, perObject[obj])
		}
	}
	if len(perObject) != objects || interrupted != 1 {
		t.Fatalf("apply records for %d objects (want %d), %d interrupted reconcile records (want 1): %v", len(perObject), objects, interrupted, perObject)
	}
	mustVerify(t, h)
	waitFor(t, "the apply journal to be removed", func() bool {
		left, _ := filepath.Glob(filepath.Join(s.setup.Dir, "data", "journal", "*"))
		return len(left) == 0
	})
}

// openScenarioHistory opens the SQLite history in the scenario's data
// folder.
func openScenarioHistory(t *testing.T, s *scenario) history.Store {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(s.setup.Dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	h, err := history.OpenSQLite(filepath.Join(s.setup.Dir, "data", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func mustVerify(t *testing.T, h history.Store) {
	t.Helper()
	v, err := h.Verify(t.Context())
	if err != nil || !v.OK {
		t.Fatalf("history verify: %+v %v", v, err)
	}
}

// runHelperUntilAccepted runs TestHelperApplyUntilKilled and kills it with
// SIGKILL once it reports the accepted change.
func runHelperUntilAccepted(t *testing.T, h crashHelper) {
	t.Helper()
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperApplyUntilKilled$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "accepted ") {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
		t.Logf("helper: %s", sc.Text())
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the helper ended with %v before it was killed", cmd.ProcessState)
	}
}

// TestApplyFailedHalfwayKeepsItsApplyRecords: the API server goes away in
// the middle of an apply; the failed reconcile still records an apply
// record for each object the cluster took, and the next one records the
// rest, each object once.
func TestApplyFailedHalfwayKeepsItsApplyRecords(t *testing.T) {
	o := &outage{trigger: "/configmaps/cm1"}
	s := newScenarioWith(t, "concurrency: 1", o.wrap)
	h := openScenarioHistory(t, s)
	s.rec = newReconciler(t, s.setup, s.env.Config, o.wrap, s.logs, reconciler.WithHistory(h))
	s.commit(map[string]string{"cm0.yaml": configMap("cm0", "v1"), "cm1.yaml": configMap("cm1", "v1"), "cm2.yaml": configMap("cm2", "v1")}, "three")
	o.cut.Store(true)
	if out := s.reconcile(reconciler.TriggerInterval); out.Err == nil {
		t.Fatal("the apply did not fail")
	}
	o.down.Store(false)
	o.cut.Store(false)
	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	recs, err := h.Query(t.Context(), history.Filter{Target: s.ns, Types: []string{history.TypeApply}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Object+" "+r.Outcome)
	}
	want := []string{"ConfigMap/" + s.ns + "/cm0 created", "ConfigMap/" + s.ns + "/cm1 created", "ConfigMap/" + s.ns + "/cm2 created"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("apply records:\n%v\nwant\n%v", got, want)
	}
	mustVerify(t, h)
}
