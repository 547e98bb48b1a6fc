package reconciler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// Metrics are the reconciler's Prometheus metrics, registered on an
// injected registry.
type Metrics struct {
	reconciles *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	objects    *prometheus.GaugeVec
	platform   *platformMetrics
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trueup_reconcile_total", Help: "Reconciles by target and action.",
		}, []string{"target", "action"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trueup_reconcile_duration_seconds", Help: "Reconcile duration by target.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"target"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trueup_objects", Help: "Objects by target and drift status at the last reconcile.",
		}, []string{"target", "status"}),
	}
	m.platform = newPlatformMetrics()
	reg.MustRegister(m.reconciles, m.duration, m.objects)
	reg.MustRegister(m.platform.collectors()...)
	return m
}

// bind points the platform metrics at cfg's teams, the reconciler's
// clock, state store and owned targets, and returns the hook that takes
// every history record appended (nil without metrics).
func (m *Metrics) bind(cfg *config.Config, now func() time.Time, st *state.Store, owns func(string) bool) func([]history.Record) {
	if m == nil {
		return nil
	}
	m.platform.bind(cfg, now, st, owns)
	return m.platform.observeRecords
}

func (m *Metrics) observe(o *Outcome) {
	if m == nil {
		return
	}
	m.reconciles.WithLabelValues(o.Target, string(o.Action)).Inc()
	m.duration.WithLabelValues(o.Target).Observe(o.Duration.Seconds())
	if o.Err != nil {
		return
	}
	counts := o.Report.Counts()
	for _, s := range []drift.Status{drift.InSync, drift.Drifted, drift.Missing, drift.PendingPrune, drift.Unknown} {
		m.objects.WithLabelValues(o.Target, string(s)).Set(float64(counts[s]))
	}
}
