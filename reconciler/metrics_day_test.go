package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// at is 2026-12-01 at hh:mm UTC, the scripted day.
func at(hh, mm int) time.Time { return time.Date(2026, 12, 1, hh, mm, 0, 0, time.UTC) }

// commitAt commits files under app/ as committed at when.
func (s *scenario) commitAt(files map[string]string, msg string, when time.Time) {
	s.t.Helper()
	entries := map[string]gitrepo.Entry{}
	for p, c := range files {
		entries["app/"+p] = gitrepo.File(c)
	}
	s.repo.Commit(s.t, entries, gitrepo.CommitOptions{Message: msg,
		Author: object.Signature{Name: "Dev", Email: "dev@example.com", When: when}})
}

// TestPlatformMetricsScriptedDay runs one day of a team's target on the
// real control plane with a clock the test moves: a commit that does not
// render, a commit applied, a live edit detected and healed by hand, a
// commit whose rollout never gets healthy, a fix, a live edit left open,
// and two notification deliveries. It asserts every platform metric and
// the report of the day with exact values, then restarts (new metrics
// restored from the same history) and asserts the same values again.
func TestPlatformMetricsScriptedDay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistory(t, path)
	st, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: at(8, 0)}
	reg := prometheus.NewRegistry()
	metrics := reconciler.NewMetrics(reg)
	opts := []reconciler.Option{reconciler.WithHistory(h), reconciler.WithState(st), reconciler.WithMetrics(metrics), reconciler.WithClock(clock.Now)}
	s := newScenarioFull(t, "wait: true\ntimeout: 3s\nprune: {enabled: true}\nremediation: {drift: alert}", "", nil)
	s.setup.Top = fmt.Sprintf("tenants:\n  - name: team-a\n    targets: [%s]\n    namespaces: [%s]", s.ns, s.ns)
	s.rec = s.another(opts...)
	cm := map[string]string{"cm.yaml": configMap("settings", "a")}
	step := func(hh, mm int, trigger reconciler.Trigger, want reconciler.Action) {
		t.Helper()
		clock.Set(at(hh, mm))
		out := s.rec.Reconcile(t.Context(), s.ns, trigger, reconciler.ReconcileOptions{})
		if out.Action != want {
			t.Fatalf("%02d:%02d: action %s (%v), want %s", hh, mm, out.Action, out.Err, want)
		}
	}

	// 07:50 a commit that does not render, reconciled at 08:00: the
	// target's first record.
	s.commitAt(map[string]string{"cm.yaml": "kind: ConfigMap\nmetadata: {name: [not, a, string]}\n"}, "broken", at(7, 50))
	step(8, 0, reconciler.TriggerInterval, reconciler.ActionFailed)
	// 08:05 the fix, applied at 08:10: lead time 300 s, provisioned in 600 s.
	s.commitAt(cm, "settings", at(8, 5))
	step(8, 10, reconciler.TriggerInterval, reconciler.ActionApplied)
	// 09:00 a live edit is detected (alert mode); 09:30 an operator heals
	// it by hand: remediated in 1800 s, one heal, one manual apply.
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"z"}}`)
	step(9, 0, reconciler.TriggerInterval, reconciler.ActionDetected)
	clock.Set(at(9, 1))
	s.rec.RecordDelivery(t.Context(), notifications.Delivery{Notifier: "slack", Kind: notifications.KindDriftOpened,
		Target: s.ns, Status: notifications.StatusSent, Time: at(9, 1)})
	step(9, 30, reconciler.TriggerManual, reconciler.ActionHealed)
	// 10:55 a Deployment that never gets healthy (no controller runs
	// here): the apply at 11:00 fails its health wait.
	s.commitAt(map[string]string{"cm.yaml": configMap("settings", "a"), "web.yaml": deployment}, "web", at(10, 55))
	step(11, 0, reconciler.TriggerInterval, reconciler.ActionFailed)
	// 11:05 the Deployment is taken out again, applied (and pruned) at
	// 11:20: lead time 900 s.
	s.commitAt(cm, "no web", at(11, 5))
	step(11, 20, reconciler.TriggerInterval, reconciler.ActionApplied)
	// 11:30 another live edit, left open; the notifier's queue drops 3.
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"y"}}`)
	step(11, 30, reconciler.TriggerInterval, reconciler.ActionDetected)
	s.rec.RecordDelivery(t.Context(), notifications.Delivery{Notifier: "slack", Kind: notifications.KindDriftOpened,
		Target: s.ns, Status: notifications.StatusDropped, Reason: notifications.ReasonQueueFull, Missed: 3, Time: at(11, 31)})
	clock.Set(at(12, 0))

	lt := fmt.Sprintf(`{target=%q,team="team-a"}`, s.ns)
	want := map[string]float64{
		"trueup_applies_total" + lt:                         3,
		"trueup_applies_failed_total" + lt:                  1,
		"trueup_lead_time_seconds_count" + lt:               2,
		"trueup_lead_time_seconds_sum" + lt:                 1200,
		"trueup_provision_seconds_count" + lt:               1,
		"trueup_provision_seconds_sum" + lt:                 600,
		"trueup_drift_episodes_opened_total" + lt:           2,
		"trueup_drift_remediation_seconds_count" + lt:       1,
		"trueup_drift_remediation_seconds_sum" + lt:         1800,
		"trueup_drift_open_episodes" + lt:                   1,
		"trueup_drift_oldest_open_episode_age_seconds" + lt: 1800,
		"trueup_heals_total" + lt:                           1,
		"trueup_manual_applies_total" + lt:                  1,
		"trueup_last_success_timestamp_seconds" + lt:        float64(at(11, 30).Unix()),
		fmt.Sprintf(`trueup_drift_episodes_resolved_total{how="healed",target=%q,team="team-a"}`, s.ns): 1,
		fmt.Sprintf(`trueup_reconcile_errors_total{stage="apply",target=%q,team="team-a"}`, s.ns):       1,
		fmt.Sprintf(`trueup_reconcile_errors_total{stage="render",target=%q,team="team-a"}`, s.ns):      1,
		`trueup_notification_deliveries_total{sink="slack",status="sent"}`:                              1,
		`trueup_notification_deliveries_total{sink="slack",status="dropped"}`:                           1,
		`trueup_notification_queue_drops_total{reason="queue full",sink="slack"}`:                       3,
	}
	t.Run("metrics after the day", func(t *testing.T) {
		got := gatherPlatform(t, reg)
		assertSamples(t, got, want)
		// The reconcile metrics that were there before keep working.
		for action, n := range map[string]float64{"failed": 2, "applied": 2, "detected": 2, "healed": 1} {
			key := fmt.Sprintf(`trueup_reconcile_total{action=%q,target=%q}`, action, s.ns)
			if got[key] != n {
				t.Errorf("%s = %v, want %v", key, got[key], n)
			}
		}
		if key := fmt.Sprintf(`trueup_objects{status="drifted",target=%q}`, s.ns); got[key] != 1 {
			t.Errorf("%s = %v, want 1", key, got[key])
		}
		// The lead times fell into the 300 s and 1800 s buckets.
		for le, n := range map[string]float64{"120": 0, "300": 1, "600": 1, "1800": 2} {
			key := fmt.Sprintf(`trueup_lead_time_seconds_bucket{le=%q,target=%q,team="team-a"}`, le, s.ns)
			if got[key] != n {
				t.Errorf("%s = %v, want %v", key, got[key], n)
			}
		}
	})

	t.Run("the Grafana dashboard queries these metrics and shows each", func(t *testing.T) { checkDashboard(t, reg) })

	t.Run("report of the day", func(t *testing.T) {
		rep, err := reconciler.BuildReport(t.Context(), h, map[string]string{s.ns: "team-a"}, at(0, 0), at(12, 0))
		if err != nil {
			t.Fatal(err)
		}
		figures := `"applies": 3, "failedApplies": 1, "changeFailureRate": 0.3333333333333333,
			"leadTime": {"count": 2, "meanSeconds": 600, "medianSeconds": 300, "p90Seconds": 900, "maxSeconds": 900},
			"provisioning": {"count": 1, "meanSeconds": 600, "medianSeconds": 600, "p90Seconds": 600, "maxSeconds": 600},
			"driftOpened": 2, "driftResolved": {"healed": 1},
			"remediation": {"count": 1, "meanSeconds": 1800, "medianSeconds": 1800, "p90Seconds": 1800, "maxSeconds": 1800},
			"openEpisodes": 1, "oldestOpenSeconds": 1800, "heals": 1, "manualApplies": 1,
			"errors": {"apply": 1, "render": 1}, "lastSuccess": "2026-12-01T11:30:00Z"`
		assertJSON(t, "target", rep.Targets, fmt.Sprintf(`[{"name": %q, "team": "team-a", %s}]`, s.ns, figures))
		assertJSON(t, "team", rep.Teams, fmt.Sprintf(`[{"name": "team-a", "targets": 1, %s}]`, figures))
		assertJSON(t, "sinks", rep.Sinks, `[{"sink": "slack", "deliveries": {"sent": 1, "dropped": 1}, "dropped": 3}]`)
		assertJSON(t, "days", rep.Days, `[{"day": "2026-12-01", "applies": 3, "failedApplies": 1, "driftOpened": 2, "heals": 1}]`)
	})

	t.Run("restart restores them from the history", func(t *testing.T) {
		if err := s.rec.Close(); err != nil {
			t.Fatal(err)
		}
		reg2 := prometheus.NewRegistry()
		m2 := reconciler.NewMetrics(reg2)
		st2, err := state.New()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconciler.RebuildState(t.Context(), h, st2); err != nil { // as serve does
			t.Fatal(err)
		}
		s.another(reconciler.WithHistory(openHistory(t, path)), reconciler.WithState(st2), reconciler.WithMetrics(m2), reconciler.WithClock(clock.Now))
		n, err := m2.Restore(t.Context(), h, clock.Now(), reconciler.DefaultMetricsWindow)
		if err != nil {
			t.Fatal(err)
		}
		if n != 12 { // 7 reconciles, 2 episodes opened, 1 closed, 2 deliveries
			t.Errorf("replayed %d records, want 12", n)
		}
		got := gatherPlatform(t, reg2)
		assertSamples(t, got, want)
		// A window that starts after the target's first record: it is not
		// new, and only what happened since counts.
		reg3 := prometheus.NewRegistry()
		m3 := reconciler.NewMetrics(reg3)
		s.another(reconciler.WithMetrics(m3), reconciler.WithClock(clock.Now))
		if _, err := m3.Restore(t.Context(), h, clock.Now(), time.Hour); err != nil {
			t.Fatal(err)
		}
		got = gatherPlatform(t, reg3)
		for key, n := range map[string]float64{
			"trueup_applies_total" + lt: 2, "trueup_applies_failed_total" + lt: 1, "trueup_provision_seconds_count" + lt: 0,
			"trueup_drift_episodes_opened_total" + lt: 1, "trueup_drift_open_episodes" + lt: 1,
			"trueup_drift_oldest_open_episode_age_seconds" + lt: 1800,
		} {
			if got[key] != n {
				t.Errorf("after a 1h window: %s = %v, want %v", key, got[key], n)
			}
		}
	})
}

// gatherPlatform gathers reg as name{labels} -> value; histograms as
// _count, _sum and _bucket{le} samples.
func gatherPlatform(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := labelText(m.GetLabel(), "")
			switch {
			case m.Counter != nil:
				out[mf.GetName()+labels] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[mf.GetName()+labels] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[mf.GetName()+"_count"+labels] = float64(m.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum"+labels] = m.GetHistogram().GetSampleSum()
				for _, b := range m.GetHistogram().GetBucket() {
					out[mf.GetName()+"_bucket"+labelText(m.GetLabel(), fmt.Sprint(b.GetUpperBound()))] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// labelText is {k="v",...} sorted by name, with le when not "".
func labelText(pairs []*dto.LabelPair, le string) string {
	var parts []string
	for _, p := range pairs {
		parts = append(parts, fmt.Sprintf("%s=%q", p.GetName(), p.GetValue()))
	}
	if le != "" {
		parts = append(parts, fmt.Sprintf("le=%q", le))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// assertSamples checks want's samples, and that no other sample of a
// platform metric (one of want's names) has a value.
func assertSamples(t *testing.T, got, want map[string]float64) {
	t.Helper()
	names := map[string]bool{}
	for key := range want {
		names[key[:strings.Index(key, "{")]] = true
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[key]; !ok || g != want[key] {
			t.Errorf("%s = %v (present %v), want %v", key, g, ok, want[key])
		}
	}
	for _, key := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[key]; !ok && names[key[:strings.Index(key, "{")]] && got[key] != 0 {
			t.Errorf("unexpected sample %s = %v", key, got[key])
		}
	}
}

// assertJSON compares v's JSON with want's, as values.
func assertJSON(t *testing.T, what string, v any, want string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want is not JSON: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, b, want)
	}
}

// The metrics count what the history holds: when `trueup apply` (another
// process) heals a drift the daemon holds open, the daemon's own
// resolution is dropped by the history, and not counted either.
func TestPlatformMetricsCountOnlyStoredRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	daemonHistory := openHistory(t, path)
	daemonState, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := newScenarioFull(t, "remediation: {drift: alert}", "", nil,
		reconciler.WithHistory(daemonHistory), reconciler.WithState(daemonState), reconciler.WithMetrics(reconciler.NewMetrics(reg)))
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"z"}}`)
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionDetected)

	cliState, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	cliHistory := openHistory(t, path)
	if _, err := reconciler.RebuildState(t.Context(), cliHistory, cliState); err != nil {
		t.Fatal(err)
	}
	cli := s.another(reconciler.WithHistory(cliHistory), reconciler.WithState(cliState))
	mustAction(t, cli.Reconcile(t.Context(), s.ns, reconciler.TriggerManual, reconciler.ReconcileOptions{Actor: "cli:test"}), reconciler.ActionHealed)
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionInSync)

	got := gatherPlatform(t, reg)
	lt := fmt.Sprintf(`{target=%q,team=""}`, s.ns)
	if got["trueup_drift_episodes_opened_total"+lt] != 1 {
		t.Errorf("opened = %v, want 1", got["trueup_drift_episodes_opened_total"+lt])
	}
	for key, v := range got {
		if strings.HasPrefix(key, "trueup_drift_episodes_resolved_total") && v != 0 {
			t.Errorf("%s = %v: the daemon counted a resolution the history dropped (the CLI's is the one recorded)", key, v)
		}
	}
}

// A daemon following the history counts what `trueup apply` (another
// process on the same history) did, once, and its own records once.
func TestPlatformMetricsFollowOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistory(t, path)
	st, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := reconciler.NewMetrics(reg)
	s := newScenarioFull(t, "", "", nil, reconciler.WithHistory(h), reconciler.WithState(st), reconciler.WithMetrics(metrics))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		metrics.Follow(ctx, h, 20*time.Millisecond, func(err error) { t.Errorf("follow: %v", err) })
	}()
	t.Cleanup(func() { cancel(); <-done })

	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"z"}}`)
	cliState, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	cli := s.another(reconciler.WithHistory(openHistory(t, path)), reconciler.WithState(cliState))
	mustAction(t, cli.Reconcile(t.Context(), s.ns, reconciler.TriggerManual, reconciler.ReconcileOptions{Actor: "cli:test"}), reconciler.ActionHealed)
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionInSync)
	// The daemon heals the next edit itself.
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"y"}}`)
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionHealed)

	lt := fmt.Sprintf(`{target=%q,team=""}`, s.ns)
	waitFor(t, "the CLI's heal counted", func() bool { return gatherPlatform(t, reg)["trueup_manual_applies_total"+lt] == 1 })
	time.Sleep(200 * time.Millisecond) // ten more passes: nothing is counted twice
	assertSamples(t, gatherPlatform(t, reg), map[string]float64{
		"trueup_applies_total" + lt:                   1,
		"trueup_manual_applies_total" + lt:            1,
		"trueup_heals_total" + lt:                     2,
		"trueup_drift_episodes_opened_total" + lt:     2,
		"trueup_lead_time_seconds_count" + lt:         1,
		"trueup_provision_seconds_count" + lt:         1,
		"trueup_drift_remediation_seconds_count" + lt: 2,
		fmt.Sprintf(`trueup_drift_episodes_resolved_total{how="healed",target=%q,team=""}`, s.ns): 2,
	})
}
