package lease

import "github.com/prometheus/client_golang/prometheus"

// How a target's Lease was acquired (label "how" of
// trueup_ha_target_acquired_total).
const (
	// AcquiredFree: the Lease was missing or had no holder (a first start,
	// or a handover: the previous owner gave the target up).
	AcquiredFree = "free"
	// AcquiredExpired: the Lease was taken over from a replica that
	// stopped renewing it (it died or lost the API server).
	AcquiredExpired = "expired"
)

// Why a target was given up (label "reason" of
// trueup_ha_target_released_total).
const (
	// ReleasedReassigned: the target is assigned to another replica (one
	// joined); it is handed over once the reconcile in flight ends.
	ReleasedReassigned = "reassigned"
	// ReleasedLost: the Lease could not be renewed in time, or another
	// replica holds it.
	ReleasedLost = "lost"
	// ReleasedShutdown: this replica stops (SIGTERM, a config reload).
	ReleasedShutdown = "shutdown"
)

// Metrics are the Lease manager's Prometheus metrics. They outlive one
// Manager (a config reload builds a new one): make them once per process
// with NewMetrics and pass them in Options. A nil *Metrics records nothing.
type Metrics struct {
	replicas prometheus.Gauge
	owned    prometheus.Gauge
	acquired *prometheus.CounterVec
	released *prometheus.CounterVec
	requests prometheus.Counter
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		replicas: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trueup_ha_replicas",
			Help: "Live replicas (membership Leases held and not expired) as this replica last saw them, itself included.",
		}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trueup_ha_targets_owned", Help: "Targets whose Lease this replica holds and reconciles.",
		}),
		acquired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trueup_ha_target_acquired_total",
			Help: "Target Leases this replica acquired, by how: free (missing, or handed over by its previous owner) or expired (taken over from a replica that stopped renewing it).",
		}, []string{"how"}),
		released: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trueup_ha_target_released_total",
			Help: "Targets this replica gave up, by reason: reassigned (handed over to a replica that joined), lost (not renewed in time, or held by another), shutdown.",
		}, []string{"reason"}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trueup_ha_lease_requests_total", Help: "API requests made to keep the Leases (list, create, update, delete).",
		}),
	}
	for _, how := range []string{AcquiredFree, AcquiredExpired} {
		m.acquired.WithLabelValues(how)
	}
	for _, r := range []string{ReleasedReassigned, ReleasedLost, ReleasedShutdown} {
		m.released.WithLabelValues(r)
	}
	reg.MustRegister(m.replicas, m.owned, m.acquired, m.released, m.requests)
	return m
}

func (m *Metrics) members(n int) {
	if m != nil {
		m.replicas.Set(float64(n))
	}
}

func (m *Metrics) setOwned(n int) {
	if m != nil {
		m.owned.Set(float64(n))
	}
}

func (m *Metrics) acquire(how string) {
	if m != nil {
		m.acquired.WithLabelValues(how).Inc()
	}
}

func (m *Metrics) release(reason string) {
	if m != nil {
		m.released.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) request() {
	if m != nil {
		m.requests.Inc()
	}
}
