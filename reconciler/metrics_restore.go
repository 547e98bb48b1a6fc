package reconciler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/trueup-dev/trueup/reconciler/history"
)

// DefaultMetricsWindow is how far back Restore replays the history.
const DefaultMetricsWindow = 30 * 24 * time.Hour

// figureTypes are the record types the platform figures read.
var figureTypes = []string{history.TypeReconcile, history.TypeManual, history.TypeDriftOpened,
	history.TypeDriftResolved, history.TypeDriftAccepted, history.TypeNotification}

// Restore rebuilds the platform metrics of a starting daemon from the
// history, before its first reconcile, so a restart does not zero them:
//
//   - counters and histograms (lead time, provisioning, episodes opened
//     and closed, remediation time, applies and failures, heals, manual
//     applies, errors, deliveries, drops) by replaying the records of the
//     last window through the same tally the live records go through: they
//     count what happened in the window (Prometheus' rate() and increase()
//     read a restart as a counter reset either way);
//   - the last success time per target, from the same replay;
//   - the open episodes (count and oldest age) are read from the state
//     store at each scrape (RebuildState restored it from the whole
//     history: an episode open for longer than the window is still open);
//     without a store, from the whole history here.
//
// Call it once, after the reconciler is built (it knows the targets and
// their teams) and before it runs. A target with records before the
// window is taken as provisioned then. It returns how many records it
// replayed.
func (m *Metrics) Restore(ctx context.Context, h history.Store, now time.Time, window time.Duration) (int, error) {
	if m == nil || h == nil {
		return 0, nil
	}
	p := m.platform
	since := now.Add(-window)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := markExisting(ctx, h, p.teams, since, p.tally); err != nil {
		return 0, fmt.Errorf("restore metrics: %w", err)
	}
	n := 0
	err := pages(ctx, h, history.Filter{Since: since, Until: now, Types: figureTypes, Limit: 1000}, func(r history.Record) error {
		n++
		for _, f := range p.tally.add(r) {
			p.apply(f)
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("restore metrics: replay the history since %s: %w", since.Format(time.RFC3339), err)
	}
	episodes, err := openEpisodes(ctx, h, "")
	if err != nil {
		return n, fmt.Errorf("restore metrics: open drift episodes: %w", err)
	}
	clear(p.open)
	for _, e := range episodes {
		p.open[e.ID] = openEpisode{target: e.Target, opened: e.Opened}
	}
	return n, nil
}

// markExisting tells the tally which targets (the keys of teams) have
// records before since: they are not new (their provisioning is not in
// the window).
func markExisting(ctx context.Context, h history.Store, teams map[string]string, since time.Time, t *tally) error {
	for _, name := range slices.Sorted(maps.Keys(teams)) {
		recs, err := h.Query(ctx, history.Filter{Target: name, Until: since, Limit: 1})
		if err != nil {
			return fmt.Errorf("target %s: first record: %w", name, err)
		}
		if len(recs) > 0 {
			t.existed(name, recs[0].Time)
		}
	}
	return nil
}
