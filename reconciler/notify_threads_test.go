package reconciler

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// TestThreadsSurviveARestart records deliveries the way the daemon does and
// rebuilds a fresh state store from the history: open threads come back
// with their Slack ts, resolved ones stay closed.
func TestThreadsSurviveARestart(t *testing.T) {
	ctx := context.Background()
	h, err := history.OpenSQLite(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	st, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(&config.Config{}, nil, nil, WithHistory(h), WithState(st))
	if err != nil {
		t.Fatal(err)
	}
	threads := NewThreads(st)
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	for _, th := range []notifications.Thread{
		{Notifier: "oncall", Episode: "web/a/1", Channel: "C1", TS: "1700000000.000100", LastSent: now,
			Last: notifications.Event{Kind: notifications.KindDriftOpened, Target: "web", Object: "a"}},
		{Notifier: "oncall", Episode: "web/b/1", Channel: "C1", TS: "1700000000.000200", LastSent: now, Resolved: true},
	} {
		if err := threads.SaveThread(th); err != nil {
			t.Fatal(err)
		}
		r.RecordDelivery(ctx, notifications.Delivery{Notifier: th.Notifier, Kind: notifications.KindDriftOpened,
			Episode: th.Episode, Target: "web", Status: notifications.StatusSent, Channel: th.Channel, TS: th.TS, Time: now})
	}
	recs, err := h.Query(ctx, history.Filter{Types: []string{history.TypeNotification}})
	if err != nil || len(recs) != 2 || recs[0].Outcome != "sent" || recs[0].Target != "web" {
		t.Fatalf("notification records = %+v, %v", recs, err)
	}

	fresh, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RebuildState(ctx, h, fresh); err != nil {
		t.Fatal(err)
	}
	open, err := NewThreads(fresh).OpenThreads("oncall")
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Episode != "web/a/1" || open[0].TS != "1700000000.000100" || open[0].Last.Kind != notifications.KindDriftOpened {
		t.Fatalf("restored open threads = %+v, want web/a/1 with its ts", open)
	}
	if _, ok, _ := NewThreads(fresh).Thread("oncall", "web/b/1"); ok {
		t.Error("a resolved thread came back")
	}
}
