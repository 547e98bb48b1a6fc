package reconciler_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/pgenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// TestHistoryDatabaseHangingKeepsTargetsReconciling: PostgreSQL stops
// answering (a proxy holds every byte) while three targets apply a new
// commit. Every reconcile completes, its records are spilled to the data
// folder, the daemon restarts while the database is still down, and once
// the database answers every record lands, once, in order, and the chain
// verifies.
func TestHistoryDatabaseHangingKeepsTargetsReconciling(t *testing.T) {
	s := newScenario(t, "")
	s.setup.MoreNamespaces = []string{s.env.Namespace(t), s.env.Namespace(t)}
	targets := append([]string{s.ns}, s.setup.MoreNamespaces...)
	pg := pgenv.New(t)
	proxy := pgenv.NewProxy(t, pg)
	dsn := proxy.DSN(pg.NewDatabase(t))
	open := func() history.Store {
		h, err := history.OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		return h
	}
	h := open()
	r := newReconciler(t, s.setup, s.env.Config, nil, s.logs, reconciler.WithHistory(h))
	files := func(v string) map[string]string {
		return map[string]string{"a.yaml": configMap("a", v), "b.yaml": configMap("b", v)}
	}
	s.commit(files("v1"), "first")
	var first string
	for _, target := range targets {
		out := reconcileWithin(t, r, target)
		mustAction(t, out, reconciler.ActionApplied)
		first = out.Revision.Commit
	}

	proxy.Hang()
	s.commit(files("v2"), "second")
	var revision string
	for _, target := range targets {
		out := reconcileWithin(t, r, target)
		mustAction(t, out, reconciler.ActionApplied)
		revision = out.Revision.Commit
	}
	spool := filepath.Join(s.setup.Dir, "data", "history-spool", "*.json")
	if spilled, _ := filepath.Glob(spool); len(spilled) < len(targets) {
		t.Fatalf("%d batches spilled to %s while the database hangs, want at least %d", len(spilled), spool, len(targets))
	}

	// A restart while the database is down, then the database is back.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	proxy.Restore()
	h = open()
	r = newReconciler(t, s.setup, s.env.Config, nil, s.logs, reconciler.WithHistory(h))
	for _, target := range targets {
		mustAction(t, reconcileWithin(t, r, target), reconciler.ActionInSync)
	}
	waitFor(t, "the spool to drain", func() bool {
		left, _ := filepath.Glob(spool)
		return len(left) == 0
	})

	recs, err := h.Query(t.Context(), history.Filter{Types: []string{history.TypeReconcile}, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, rec := range recs {
		order = append(order, fmt.Sprintf("%s %s %.7s", rec.Target, rec.Outcome, rec.Revision))
	}
	var want []string
	for _, round := range [][2]string{{"applied", first}, {"applied", revision}, {"in-sync", revision}} {
		for _, target := range targets {
			want = append(want, fmt.Sprintf("%s %s %.7s", target, round[0], round[1]))
		}
	}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("reconcile records in the history:\n%v\nwant\n%v", order, want)
	}
	applies, err := h.Query(t.Context(), history.Filter{Types: []string{history.TypeApply}, Revision: revision, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(applies) != 2*len(targets) {
		t.Fatalf("%d apply records of the second commit, want %d", len(applies), 2*len(targets))
	}
	mustVerify(t, h)
}

// reconcileWithin reconciles a target, failing the test if the reconcile
// hangs instead of returning.
func reconcileWithin(t *testing.T, r *reconciler.Reconciler, target string) *reconciler.Outcome {
	t.Helper()
	done := make(chan *reconciler.Outcome, 1)
	go func() {
		done <- r.Reconcile(t.Context(), target, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
	}()
	select {
	case out := <-done:
		return out
	case <-time.After(2 * time.Minute):
		t.Fatalf("reconcile of %s hangs", target)
		return nil
	}
}
