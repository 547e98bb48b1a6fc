package reconciler_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/pgenv"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// TestHistoryQueueSpillsWhileDatabaseHangs records from many goroutines
// while PostgreSQL hangs: no caller waits on the database, what waits goes
// to the spool (more batches than the queue keeps in memory), and once the
// database answers, after a restart, every record lands once, in the
// order each caller recorded them, and the chain verifies.
func TestHistoryQueueSpillsWhileDatabaseHangs(t *testing.T) {
	pg := pgenv.New(t)
	proxy := pgenv.NewProxy(t, pg)
	dsn := proxy.DSN(pg.NewDatabase(t))
	dir := t.TempDir()
	open := func() (*reconciler.Reconciler, history.Store) {
		h, err := history.OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		r, err := reconciler.New(&config.Config{DataDir: dir}, nil, nil, reconciler.WithHistory(h))
		if err != nil {
			t.Fatal(err)
		}
		return r, h
	}
	r, _ := open()
	deliver := func(target string, i int) {
		r.RecordDelivery(t.Context(), notifications.Delivery{Notifier: "slack", Target: target,
			Kind: "drift-opened", Status: "sent", Reason: fmt.Sprint(i)})
	}
	deliver("before", 0)

	proxy.Hang()
	const callers, each = 4, 30
	done := make(chan struct{})
	for c := range callers {
		go func() {
			for i := range each {
				deliver(fmt.Sprintf("t%d", c), i)
			}
			done <- struct{}{}
		}()
	}
	for range callers {
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			t.Fatal("recording hangs while the database hangs")
		}
	}
	spool := filepath.Join(dir, "history-spool", "*.json")
	if spilled, _ := filepath.Glob(spool); len(spilled) < callers*each-64 {
		t.Fatalf("%d batches spilled, want at least %d", len(spilled), callers*each-64)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	proxy.Restore()
	r, h := open()
	deliver("after", 0)
	waitFor(t, "the spool to drain", func() bool {
		left, _ := filepath.Glob(spool)
		return len(left) == 0
	})
	recs, err := h.Query(t.Context(), history.Filter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for i, rec := range recs {
		want := fmt.Sprintf("drift-opened sent to slack (%d)", next[rec.Target])
		if rec.Message != want {
			t.Fatalf("record %d of %s: %q, want %q", i, rec.Target, rec.Message, want)
		}
		next[rec.Target]++
	}
	for c := range callers {
		if n := next[fmt.Sprintf("t%d", c)]; n != each {
			t.Fatalf("t%d: %d records, want %d", c, n, each)
		}
	}
	if recs[0].Target != "before" || recs[len(recs)-1].Target != "after" {
		t.Fatalf("records out of order: first %s, last %s", recs[0].Target, recs[len(recs)-1].Target)
	}
	mustVerify(t, h)
}
