package reconciler

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources"
)

// benchHistory is a month of 20 targets reconciled every 10 minutes (a
// new revision a day each, a drift episode every other day): 86,400
// reconcile records and 1,200 drift records in SQLite.
func benchHistory(b *testing.B) (history.Store, *config.Config, time.Time) {
	b.Helper()
	h, err := history.OpenSQLite(filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cfg := &config.Config{}
	const targets, perDay = 20, 144
	for i := range targets {
		cfg.Targets = append(cfg.Targets, config.Target{Name: fmt.Sprintf("t%02d", i)})
	}
	for day := range 30 {
		var recs []history.Record
		for slot := range perDay {
			at := start.Add(time.Duration(day*perDay+slot) * 10 * time.Minute)
			for _, t := range cfg.Targets {
				rev := fmt.Sprintf("rev-%d", day)
				outcome, d := ActionInSync, reconcileData{Trigger: TriggerInterval}
				if slot == 0 {
					outcome, d = ActionApplied, reconcileData{Commit: &commitData{Committer: sources.Person{When: at.Add(-5 * time.Minute)}}}
				}
				recs = append(recs, history.Record{Type: history.TypeReconcile, Time: at, Target: t.Name, Revision: rev, Outcome: string(outcome), Data: mustJSON(d)})
				if day%2 == 0 && (slot == 1 || slot == 7) {
					e := state.Episode{ID: t.Name + "/x/" + fmt.Sprint(day), Target: t.Name, Opened: at, Status: state.EpisodeOpen}
					typ := history.TypeDriftOpened
					if slot == 7 {
						e.Opened, e.Closed, e.Status, typ = at.Add(-time.Hour), at, state.EpisodeHealed, history.TypeDriftResolved
					}
					recs = append(recs, history.Record{Type: typ, Time: at, Target: t.Name, Data: mustJSON(e)})
				}
			}
		}
		for len(recs) > 0 {
			n := min(len(recs), 1000)
			if _, err := h.Append(b.Context(), recs[:n]...); err != nil {
				b.Fatal(err)
			}
			recs = recs[n:]
		}
	}
	return h, cfg, start.Add(30 * 24 * time.Hour)
}

// BenchmarkRestoreMetrics is a daemon's start-up replay of a month, and
// the report of the same month.
func BenchmarkRestoreMetrics(b *testing.B) {
	h, cfg, now := benchHistory(b)
	b.Run("restore", func(b *testing.B) {
		for b.Loop() {
			m := NewMetrics(prometheus.NewRegistry())
			m.bind(cfg, nil, nil, nil)
			n, err := m.Restore(b.Context(), h, now, DefaultMetricsWindow)
			if err != nil || n != 86400+600 {
				b.Fatalf("replayed %d records: %v", n, err)
			}
		}
	})
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			if _, err := BuildReport(b.Context(), h, TeamsOf(cfg), now.Add(-DefaultMetricsWindow), now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
