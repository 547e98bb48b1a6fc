package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// restoreMetrics rebuilds the platform metrics from the history before the
// first reconcile (see reconciler.Metrics.Restore). A failure leaves them
// counting from zero; the daemon runs on.
func restoreMetrics(ctx context.Context, m *reconciler.Metrics, h history.Store, log *slog.Logger) {
	start := time.Now()
	n, err := m.Restore(ctx, h, start, reconciler.DefaultMetricsWindow)
	if err != nil {
		log.Error("platform metrics not restored; they count from now (check the history database)", "error", err.Error())
		return
	}
	log.Info("platform metrics restored from the history", "records", n, "window", reconciler.DefaultMetricsWindow.String(), "took", time.Since(start).Round(time.Millisecond).String())
}
