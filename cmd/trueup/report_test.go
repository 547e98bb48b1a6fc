package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/golden"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler"
)

// sampleReport is a month of two teams' targets.
func sampleReport() *reconciler.Report {
	last := time.Date(2026, 11, 30, 17, 45, 0, 0, time.UTC)
	shop := reconciler.ReportFigures{Name: "shop-prod", Team: "shop", Applies: 12, FailedApplies: 2, ChangeFailureRate: 2.0 / 12,
		LeadTime:      reconciler.Durations{Count: 10, MeanSeconds: 900, MedianSeconds: 420, P90Seconds: 3700, MaxSeconds: 7200},
		Provisioning:  reconciler.Durations{Count: 1, MeanSeconds: 1260, MedianSeconds: 1260, P90Seconds: 1260, MaxSeconds: 1260},
		DriftOpened:   5,
		DriftResolved: map[string]int{"healed": 3, "accepted": 1},
		Remediation:   reconciler.Durations{Count: 4, MeanSeconds: 600, MedianSeconds: 45, P90Seconds: 2 * 86400, MaxSeconds: 2 * 86400},
		OpenEpisodes:  1, OldestOpenSeconds: 3 * 3600, Heals: 3, ManualApplies: 1,
		Errors: map[string]int{"apply": 2, "source": 1}, LastSuccess: &last}
	ops := reconciler.ReportFigures{Name: "platform", DriftResolved: map[string]int{}, Errors: map[string]int{}}
	shopTeam := shop
	shopTeam.Name, shopTeam.Team, shopTeam.Targets = "shop", "", 1
	opsTeam := ops
	opsTeam.Name, opsTeam.Targets = "", 1
	return &reconciler.Report{
		Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Records: 4321,
		Teams: []reconciler.ReportFigures{opsTeam, shopTeam}, Targets: []reconciler.ReportFigures{ops, shop},
		Sinks: []reconciler.SinkFigures{{Sink: "slack", Deliveries: map[string]int{"sent": 14, "failed": 1, "suppressed": 3, "dropped": 1}, Dropped: 6}},
		Days: []reconciler.DayFigures{
			{Day: "2026-11-28", Applies: 4, FailedApplies: 1, DriftOpened: 2, Heals: 1},
			{Day: "2026-11-29"},
			{Day: "2026-11-30", Applies: 8, FailedApplies: 1, DriftOpened: 3, Heals: 2},
		},
	}
}

// TestReportRendering: the Markdown and HTML forms of a report, golden.
// The HTML page draws its charts as SVG and has no script.
func TestReportRendering(t *testing.T) {
	for _, format := range []string{"md", "html"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeReport(&b, format, sampleReport()); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "../../fixtures/report/golden/report."+format, b.String())
			if format == "html" {
				page := b.String()
				if n := strings.Count(page, "<svg "); n != 3 || strings.Contains(page, "<script") {
					t.Errorf("%d charts (want 3), script: %v", n, strings.Contains(page, "<script"))
				}
				if !strings.Contains(page, "<title>11-30, revisions applied: 8</title>") {
					t.Error("the 11-30 applies bar has no tooltip with its value")
				}
			}
		})
	}
}

func TestHumanSeconds(t *testing.T) {
	tests := []struct {
		secs float64
		want string
	}{
		{0, "0s"}, {45, "45s"}, {59.6, "1m"}, {720, "12m"}, {3600, "1h"}, {12000, "3h20m"}, {86400, "1d"}, {2*86400 + 4*3600, "2d4h"},
	}
	for _, tt := range tests {
		if got := humanSeconds(tt.secs); got != tt.want {
			t.Errorf("humanSeconds(%v) = %q, want %q", tt.secs, got, tt.want)
		}
	}
}

// TestReportFromHistory: the demo's web target applied, edited live and
// healed through the CLI; `trueup report` counts it from the history.
func TestReportFromHistory(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo targets use fixed namespaces
	cfg, _ := demoSetup(t, env.Kubeconfig)
	run := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := trueup(t, append(args, "-c", cfg)...)
		if code == exitError {
			t.Fatalf("trueup %s: exit 2\n%s%s", strings.Join(args, " "), stdout, stderr)
		}
		return stdout
	}
	run("apply", "web")
	kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=6")
	run("apply", "web")

	var rep reconciler.Report
	if err := json.Unmarshal([]byte(run("report", "--since", "1d", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	byName := map[string]reconciler.ReportFigures{}
	for _, f := range rep.Targets {
		byName[f.Name] = f
	}
	web, api := byName["web"], byName["api-dev"]
	got := []int{web.Applies, web.FailedApplies, web.LeadTime.Count, web.Provisioning.Count, web.DriftOpened, web.DriftResolved["healed"],
		web.Heals, web.ManualApplies, len(web.Errors), web.OpenEpisodes}
	want := []int{1, 0, 1, 1, 1, 1, 1, 2, 0, 0}
	if !slices.Equal(got, want) || web.LastSuccess == nil {
		t.Errorf("web: applies, failed, lead times, provisioned, drift opened, healed, heals, manual applies, errors, open = %v, want %v (last success %v)", got, want, web.LastSuccess)
	}
	if _, ok := byName["api-dev"]; !ok || api.Applies != 0 || api.LastSuccess != nil {
		t.Errorf("api-dev, never reconciled: %+v", api)
	}
	if len(rep.Teams) != 1 || rep.Teams[0].Name != "" || rep.Teams[0].Targets != 2 || rep.Teams[0].ManualApplies != 2 {
		t.Errorf("teams: %+v, want one (no tenant) with both targets", rep.Teams)
	}

	md := run("report", "--since", "1d")
	if !strings.Contains(md, "| web | (no team) | 1 | 0 | 0% |") {
		t.Errorf("the Markdown report has no row for web:\n%s", md)
	}
	if _, stderr, code := trueup(t, "report", "--since", "yesterday", "-c", cfg); code != exitError || !strings.Contains(stderr, "--since") {
		t.Errorf("--since yesterday: exit %d, %s", code, stderr)
	}
}

// TestServeRestoresPlatformMetrics: a daemon applies the demo's targets;
// a second daemon on the same history starts with the same platform
// metrics, restored before its first reconcile (which applies nothing new).
func TestServeRestoresPlatformMetrics(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo targets use fixed namespaces
	cfg, _ := demoSetup(t, env.Kubeconfig)
	series := []string{`trueup_applies_total{target="web",team=""}`, `trueup_provision_seconds_count{target="web",team=""}`,
		`trueup_lead_time_seconds_count{target="api-dev",team=""}`}

	d := startDaemon(t, cfg, "--no-watch")
	addr := d.addr(t)
	waitUntil(t, "web and api-dev applied", func() bool { return d.applied(t, "web", "", "") && d.applied(t, "api-dev", "", "") })
	waitUntil(t, "the metrics of both applies", func() bool { return metric(t, addr, series[0]) == "1" && metric(t, addr, series[2]) == "1" })
	before := map[string]string{}
	for _, s := range series {
		before[s] = metric(t, addr, s)
	}
	d.stop()

	d = startDaemon(t, cfg, "--no-watch")
	addr = d.addr(t)
	if !strings.Contains(d.logs.String(), "platform metrics restored from the history") {
		t.Fatalf("no restore logged before the daemon listened:\n%s", d.logs.String())
	}
	for _, s := range series {
		if got := metric(t, addr, s); got != before[s] || got != "1" {
			t.Errorf("after the restart %s = %q, want %q as before", s, got, before[s])
		}
	}
}
