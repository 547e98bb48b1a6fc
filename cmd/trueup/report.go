package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
)

type reportOptions struct {
	since, until, output string
}

func newReportCommand(opts *globalOptions) *cobra.Command {
	ro := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Platform figures per team and target from the history: lead time, change failures, drift, toil",
		Long: `Compute, from the history, the figures a platform team reviews each month,
per team (tenant) and per target: applies and the change failure rate (new
revisions whose apply failed at least once / new revisions tried), lead time
from commit to applied, time to provision a new target, drift episodes opened
and how they closed, time to remediate, episodes open now, heals and manual
applies (toil), errors by stage, last success, and notification deliveries
per sink. The same figures are the daemon's trueup_* Prometheus metrics.

Durations are given as median / 90th percentile (nearest rank).`,
		Example: `  trueup report --since 30d
  trueup report --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z -o json
  trueup report --since 30d -o html > trueup-report.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(ro.output, "md", "html", "json"); err != nil {
				return err
			}
			now := time.Now()
			since, err := parseSince("--since", ro.since, now)
			if err != nil {
				return err
			}
			until := now
			if ro.until != "" {
				if until, err = parseSince("--until", ro.until, now); err != nil {
					return err
				}
			}
			if !since.Before(until) {
				return &exitCodeError{code: exitError, err: fmt.Errorf("--since %s is not before --until %s: give an earlier --since", since.Format(time.RFC3339), until.Format(time.RFC3339))}
			}
			return withConfigHistory(cmd, opts, func(cfg *config.Config, h history.Store) error {
				rep, err := reconciler.BuildReport(cmd.Context(), h, reconciler.TeamsOf(cfg), since, until)
				if err != nil {
					return &exitCodeError{code: exitError, err: err}
				}
				return writeReport(cmd.OutOrStdout(), ro.output, rep)
			})
		},
	}
	cmd.Flags().StringVar(&ro.since, "since", "30d", "from this time: RFC 3339, or a duration ago (30d, 12h)")
	cmd.Flags().StringVar(&ro.until, "until", "", "before this time: RFC 3339 or a duration ago (default now)")
	cmd.Flags().StringVarP(&ro.output, "output", "o", "md", "output format: md, html or json")
	return cmd
}

// parseSince is parseWhen that also takes days (30d).
func parseSince(flag, v string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	return parseWhen(flag, v, now)
}

func writeReport(w io.Writer, format string, rep *reconciler.Report) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "html":
		return writeReportHTML(w, rep)
	}
	return writeReportMarkdown(w, rep)
}

// reportColumns are the figure columns of the team and target tables.
var reportColumns = []string{"applies", "failed", "change failure rate", "lead time", "provisioning", "drift opened",
	"closed (how)", "time to remediate", "open now (oldest)", "heals", "manual applies", "errors (stage)", "last success"}

// figureCells are one row's figure columns.
func figureCells(f reconciler.ReportFigures) []string {
	open := "0"
	if f.OpenEpisodes > 0 {
		open = fmt.Sprintf("%d (%s)", f.OpenEpisodes, humanSeconds(f.OldestOpenSeconds))
	}
	last := "never"
	if f.LastSuccess != nil {
		last = f.LastSuccess.UTC().Format("2006-01-02 15:04")
	}
	cfr := "–"
	if f.Applies > 0 {
		cfr = fmt.Sprintf("%.0f%%", 100*f.ChangeFailureRate)
	}
	return []string{strconv.Itoa(f.Applies), strconv.Itoa(f.FailedApplies), cfr, durationCell(f.LeadTime), durationCell(f.Provisioning),
		strconv.Itoa(f.DriftOpened), countsCell(f.DriftResolved), durationCell(f.Remediation), open,
		strconv.Itoa(f.Heals), strconv.Itoa(f.ManualApplies), countsCell(f.Errors), last}
}

// durationCell is "median / p90", or "–" without samples.
func durationCell(d reconciler.Durations) string {
	if d.Count == 0 {
		return "–"
	}
	if d.Count == 1 {
		return humanSeconds(d.MedianSeconds)
	}
	return humanSeconds(d.MedianSeconds) + " / " + humanSeconds(d.P90Seconds)
}

// countsCell is "3 healed, 1 accepted" in name order, or "0".
func countsCell(m map[string]int) string {
	var parts []string
	total := 0
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		total += m[k]
	}
	if total == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

// humanSeconds is a duration rounded to what a reader needs: 45s, 12m,
// 3h20m, 2d4h.
func humanSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	unit := func(big, small int, bu, su string) string {
		if small == 0 {
			return fmt.Sprintf("%d%s", big, bu)
		}
		return fmt.Sprintf("%d%s%d%s", big, bu, small, su)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return unit(int(d.Hours()), int(d.Minutes())%60, "h", "m")
	}
	return unit(int(d.Hours())/24, int(d.Hours())%24, "d", "h")
}

func teamName(name string) string {
	if name == "" {
		return "(no team)"
	}
	return name
}

func writeReportMarkdown(w io.Writer, rep *reconciler.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# trueup report %s – %s\n\n", rep.Since.Format("2006-01-02 15:04"), rep.Until.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "From %d history records. Durations: median / 90th percentile. Change failure rate: new revisions whose apply failed at least once / new revisions tried.\n\n", rep.Records)
	b.WriteString("## Teams\n\n")
	mdTable(&b, append([]string{"team", "targets"}, reportColumns...), len(rep.Teams), func(i int) []string {
		f := rep.Teams[i]
		return append([]string{teamName(f.Name), strconv.Itoa(f.Targets)}, figureCells(f)...)
	})
	b.WriteString("\n## Targets\n\n")
	mdTable(&b, append([]string{"target", "team"}, reportColumns...), len(rep.Targets), func(i int) []string {
		f := rep.Targets[i]
		return append([]string{f.Name, teamName(f.Team)}, figureCells(f)...)
	})
	b.WriteString("\n## Notifications\n\n")
	mdTable(&b, sinkColumns, len(rep.Sinks), func(i int) []string { return sinkCells(rep.Sinks[i]) })
	_, err := io.WriteString(w, b.String())
	return err
}

var sinkColumns = []string{"sink", "sent", "failed", "dropped", "suppressed", "events dropped by the queue"}

func sinkCells(s reconciler.SinkFigures) []string {
	return []string{s.Sink, strconv.Itoa(s.Deliveries["sent"]), strconv.Itoa(s.Deliveries["failed"]), strconv.Itoa(s.Deliveries["dropped"]),
		strconv.Itoa(s.Deliveries["suppressed"]), strconv.Itoa(s.Dropped)}
}

// mdTable writes a Markdown table; "(none)" when it has no rows.
func mdTable(b *strings.Builder, header []string, n int, row func(int) []string) {
	if n == 0 {
		b.WriteString("(none)\n")
		return
	}
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for i := range n {
		cells := row(i)
		for j := range cells {
			cells[j] = cell(cells[j])
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

// restoreMetrics rebuilds the platform metrics from the history before the
// first reconcile (see reconciler.Metrics.Restore), then follows the
// records other processes append. A failed restore leaves them counting
// from zero; the daemon runs on.
func restoreMetrics(ctx context.Context, m *reconciler.Metrics, h history.Store, log *slog.Logger) {
	start := time.Now()
	n, err := m.Restore(ctx, h, start, reconciler.DefaultMetricsWindow)
	if err != nil {
		log.Error("platform metrics not restored; they count from now (check the history database)", "error", err.Error())
		return
	}
	log.Info("platform metrics restored from the history", "records", n, "window", reconciler.DefaultMetricsWindow.String(), "took", time.Since(start).Round(time.Millisecond).String())
	go m.Follow(ctx, h, metricsFollowInterval, func(err error) {
		log.Warn("platform metrics: records of other processes not read yet; trying again", "error", err.Error())
	})
}

// metricsFollowInterval is how often the daemon reads the records other
// processes (trueup apply) appended, for the platform metrics.
const metricsFollowInterval = 15 * time.Second
