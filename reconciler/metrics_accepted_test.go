package reconciler

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// An episode an operator accepted (trueup accept writes drift-accepted,
// not drift-resolved) counts as resolved how="accepted" also when the
// metrics are restored from the history and in the report.
func TestAcceptedEpisodeRestoredAndReported(t *testing.T) {
	h, err := history.OpenSQLite(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	opened := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	e := state.Episode{ID: "web/Deployment.apps/web/web/1", Target: "web", Opened: opened, Status: state.EpisodeOpen}
	closed := e
	closed.Status, closed.Closed = state.EpisodeAccepted, opened.Add(20*time.Minute)
	if _, err := h.Append(t.Context(),
		history.Record{Type: history.TypeDriftOpened, Time: opened, Target: "web", Data: mustJSON(e)},
		history.Record{Type: history.TypeDriftAccepted, Time: closed.Closed, Target: "web", Actor: "alice",
			Data: mustJSON(acceptData{Episode: closed, Until: opened.Add(4 * time.Hour), Reason: "load test"})},
	); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Targets: []config.Target{{Name: "web"}}}
	now := opened.Add(time.Hour)

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.bind(cfg, nil, nil, nil)
	if _, err := m.Restore(t.Context(), h, now, DefaultMetricsWindow); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.platform.resolved.WithLabelValues("web", "", string(state.EpisodeAccepted))); got != 1 {
		t.Errorf("restored trueup_drift_episodes_resolved_total{how=accepted} = %v, want 1", got)
	}
	rep, err := BuildReport(t.Context(), h, nil, opened.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 1 || rep.Targets[0].DriftResolved[string(state.EpisodeAccepted)] != 1 {
		t.Errorf("report figures %+v: want web with one episode resolved as accepted", rep.Targets)
	}
}
