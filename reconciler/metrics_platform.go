package reconciler

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// durationBuckets span half a minute to a week: lead times, provisioning
// and remediation times.
var durationBuckets = []float64{30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 259200, 604800}

// platformMetrics are the figures a platform team reports on, computed
// from the history records the reconciler appends (see tally) and
// restored from the history on start (RestoreMetrics).
type platformMetrics struct {
	leadTime      *prometheus.HistogramVec
	provision     *prometheus.HistogramVec
	remediation   *prometheus.HistogramVec
	opened        *prometheus.CounterVec
	resolved      *prometheus.CounterVec
	applies       *prometheus.CounterVec
	appliesFailed *prometheus.CounterVec
	heals         *prometheus.CounterVec
	manual        *prometheus.CounterVec
	errors        *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
	deliveries    *prometheus.CounterVec
	drops         *prometheus.CounterVec
	openDesc      *prometheus.Desc
	oldestDesc    *prometheus.Desc

	// mu guards what follows: the tally, the open episodes (by id) and
	// the team of each target.
	mu    sync.Mutex
	tally *tally
	open  map[string]openEpisode
	teams map[string]string
	now   func() time.Time
	// state, when bound, is where the open episodes are read from (the
	// store a replica rebuilds when it takes a target over), and owns says
	// which targets this replica reconciles: with several replicas each
	// reports the open episodes of its own targets.
	state *state.Store
	owns  func(target string) bool
	// follow is where Follow stands in the history.
	follow following
}

type openEpisode struct {
	target string
	opened time.Time
}

var targetTeam = []string{"target", "team"}

func newPlatformMetrics() *platformMetrics {
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: durationBuckets}, targetTeam)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		if labels == nil {
			labels = targetTeam
		}
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	return &platformMetrics{
		leadTime:      hist("trueup_lead_time_seconds", "Time from a commit (its committer time) to its first successful apply, by target and team."),
		provision:     hist("trueup_provision_seconds", "Time from a target's first reconcile to its first successful apply, by target and team."),
		remediation:   hist("trueup_drift_remediation_seconds", "Time a drift episode stayed open, observed when it closes, by target and team."),
		opened:        counter("trueup_drift_episodes_opened_total", "Drift episodes opened, by target and team."),
		resolved:      counter("trueup_drift_episodes_resolved_total", "Drift episodes closed, by target, team and how (healed, adopted, accepted, resolved, gone).", "target", "team", "how"),
		applies:       counter("trueup_applies_total", "New revisions whose apply was tried (each revision once), by target and team."),
		appliesFailed: counter("trueup_applies_failed_total", "New revisions whose apply failed at least once, by target and team; divided by trueup_applies_total it is the change failure rate."),
		heals:         counter("trueup_heals_total", "Reconciles that re-applied Git over live drift, by target and team."),
		manual:        counter("trueup_manual_applies_total", "Manual reconciles (CLI, API, console) that applied or healed, by target and team."),
		errors:        counter("trueup_reconcile_errors_total", "Failed reconciles by target, team and stage (source, render, cluster, apply, policy, ...).", "target", "team", "stage"),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trueup_last_success_timestamp_seconds",
			Help: "When the target last reconciled without error (Unix seconds), by target and team."}, targetTeam),
		deliveries: counter("trueup_notification_deliveries_total", "Notification deliveries by sink (notifier) and status (sent, failed, dropped, suppressed).", "sink", "status"),
		drops:      counter("trueup_notification_queue_drops_total", "Events a notifier's queue dropped, by sink and reason (queue full, shutdown).", "sink", "reason"),
		openDesc:   prometheus.NewDesc("trueup_drift_open_episodes", "Drift episodes open now, by target and team.", targetTeam, nil),
		oldestDesc: prometheus.NewDesc("trueup_drift_oldest_open_episode_age_seconds",
			"Age of the oldest open drift episode, by target and team (absent when none is open).", targetTeam, nil),
		tally: newTally(),
		open:  map[string]openEpisode{},
		teams: map[string]string{},
		now:   time.Now,
	}
}

func (p *platformMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{p.leadTime, p.provision, p.remediation, p.opened, p.resolved, p.applies, p.appliesFailed,
		p.heals, p.manual, p.errors, p.lastSuccess, p.deliveries, p.drops, p}
}

// Describe implements prometheus.Collector for the open episode gauges.
func (p *platformMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.openDesc
	ch <- p.oldestDesc
}

// Collect implements prometheus.Collector: the open episodes and the age
// of the oldest, per target, at the time of the scrape.
func (p *platformMetrics) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	count := map[string]int{}
	oldest := map[string]time.Time{}
	for _, e := range p.openEpisodes() {
		count[e.target]++
		if o, ok := oldest[e.target]; !ok || e.opened.Before(o) {
			oldest[e.target] = e.opened
		}
	}
	for target, n := range count {
		team := p.teams[target]
		ch <- prometheus.MustNewConstMetric(p.openDesc, prometheus.GaugeValue, float64(n), target, team)
		ch <- prometheus.MustNewConstMetric(p.oldestDesc, prometheus.GaugeValue, now.Sub(oldest[target]).Seconds(), target, team)
	}
}

// openEpisodes are the open episodes of the state store's targets that
// this replica owns, or, without a store, those the records opened
// (p.mu held).
func (p *platformMetrics) openEpisodes() []openEpisode {
	if p.state == nil {
		return slices.Collect(maps.Values(p.open))
	}
	eps, err := p.state.Episodes(nil, state.EpisodeFilter{Open: true})
	if err != nil {
		return nil
	}
	var out []openEpisode
	for _, e := range eps {
		if p.owns == nil || p.owns(e.Target) {
			out = append(out, openEpisode{target: e.Target, opened: e.Opened})
		}
	}
	return out
}

// bind sets the clock of the age gauges, the teams (tenants) of cfg's
// targets, the state store holding the open episodes and which targets
// this replica owns (nil: all); a reloaded config binds again.
func (p *platformMetrics) bind(cfg *config.Config, now func() time.Time, st *state.Store, owns func(string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now != nil {
		p.now = now
	}
	p.state, p.owns = st, owns
	if cfg == nil {
		return
	}
	maps.Copy(p.teams, TeamsOf(cfg))
}

// observeRecords updates the metrics with appended records.
func (p *platformMetrics) observeRecords(recs []history.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range recs {
		if p.follow.on && slices.Contains(figureTypes, r.Type) {
			p.follow.own[r.Seq] = true
		}
		for _, f := range p.tally.add(r) {
			p.apply(f)
		}
	}
}

// apply adds one fact to the metrics (p.mu held).
func (p *platformMetrics) apply(f fact) {
	lv := []string{f.Target, p.teams[f.Target]}
	switch f.Kind {
	case factLeadTime:
		p.leadTime.WithLabelValues(lv...).Observe(f.Value)
	case factProvisioned:
		p.provision.WithLabelValues(lv...).Observe(f.Value)
	case factApplyAttempt:
		p.applies.WithLabelValues(lv...).Inc()
	case factApplyFailed:
		p.appliesFailed.WithLabelValues(lv...).Inc()
	case factHeal:
		p.heals.WithLabelValues(lv...).Inc()
	case factManualApply:
		p.manual.WithLabelValues(lv...).Inc()
	case factReconcileError:
		p.errors.WithLabelValues(f.Target, lv[1], f.Label).Inc()
	case factSuccess:
		p.lastSuccess.WithLabelValues(lv...).Set(float64(f.Time.UnixNano()) / 1e9)
	case factDriftOpened:
		p.opened.WithLabelValues(lv...).Inc()
		p.open[f.Episode.ID] = openEpisode{target: f.Target, opened: f.Episode.Opened}
	case factDriftResolved:
		p.resolved.WithLabelValues(f.Target, lv[1], f.Label).Inc()
		p.remediation.WithLabelValues(lv...).Observe(f.Value)
		delete(p.open, f.Episode.ID)
	case factDelivery:
		p.deliveries.WithLabelValues(f.Label, f.Status).Inc()
	case factQueueDrop:
		p.drops.WithLabelValues(f.Label, f.Status).Add(f.Value)
	}
}
