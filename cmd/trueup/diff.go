package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/sources"
)

// diffResult is one target's diff for -o json.
type diffResult struct {
	Target   string        `json:"target"`
	Cluster  string        `json:"cluster,omitempty"`
	Account  string        `json:"account,omitempty"`
	Source   string        `json:"source,omitempty"`
	Revision string        `json:"revision,omitempty"`
	Report   *drift.Report `json:"report,omitempty"`
	// FailedRevision is a revision applied whose objects did not become
	// healthy: the target is not in sync until a reconcile finds it healthy.
	FailedRevision string `json:"failedRevision,omitempty"`
	// AppliedRevision is the last revision applied and found healthy.
	AppliedRevision string `json:"appliedRevision,omitempty"`
	Error           string `json:"error,omitempty"`
}

func newDiffCommand(opts *globalOptions) *cobra.Command {
	var output string
	ko := &kubeOverride{}
	cmd := &cobra.Command{
		Use:   "diff [TARGET...]",
		Short: "Show how live state differs from Git, field by field",
		Long: `Compare each target's desired state with its cluster (a server-side
dry-run apply) or cloud account, and show drifted fields (git: G  live: L) with
who changed them, objects missing live, objects pending prune, and
unmanaged cloud resources. Secret values are masked.

Exit code: 0 in sync, 1 drift found (or a rollout that did not become
healthy), 2 error (or live state unknown).`,
		Example: "  trueup diff -c trueup.yaml\n  trueup diff web -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "text", "json", "yaml"); err != nil {
				return err
			}
			r, targets, err := overriddenReconciler(opts, ko, args)
			if err != nil {
				return err
			}
			var results []diffResult
			for _, t := range targets {
				res := diffResult{Target: t.Name, Cluster: t.Cluster, Account: t.Account, Source: t.Source}
				plan, err := r.Plan(cmd.Context(), t.Name)
				if err != nil {
					res.Error = err.Error()
				} else {
					// A copy of the report: the plan (every prepared
					// object) is not kept past its target.
					report := plan.Report
					res.Report, res.Revision = &report, plan.Desired.Revision.Commit
					res.FailedRevision, res.AppliedRevision = plan.Inventory.Attempted, plan.Inventory.Revision
				}
				results = append(results, res)
			}
			w := cmd.OutOrStdout()
			if output != "text" {
				if err := writeAs(w, output, results); err != nil {
					return err
				}
			} else {
				for _, res := range results {
					printDiff(w, opts, res)
				}
			}
			return &exitCodeError{code: diffExitCode(results)}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	ko.addFlags(cmd)
	return cmd
}

// diffExitCode: 2 when any target failed or could not read live state, 1
// when any drifted, else 0.
func diffExitCode(results []diffResult) int {
	code := exitOK
	for _, r := range results {
		switch {
		case r.Error != "" || r.Report.Counts()[drift.Unknown] > 0:
			return exitError
		case !r.Report.InSync() || r.FailedRevision != "":
			code = exitFailed
		}
	}
	return code
}

var statusMark = map[drift.Status]struct{ mark, color string }{
	drift.InSync:       {"=", green},
	drift.Drifted:      {"~", yellow},
	drift.Missing:      {"+", green},
	drift.PendingPrune: {"-", red},
	drift.Unknown:      {"?", red},
	drift.Unmanaged:    {"*", yellow},
}

func printDiff(w io.Writer, opts *globalOptions, res diffResult) {
	where := "cluster " + res.Cluster
	if res.Account != "" {
		where = "account " + res.Account
	}
	fmt.Fprintf(w, "%s %s (%s", opts.paint(w, bold, "target"), opts.paint(w, bold, res.Target), where)
	if res.Revision != "" {
		fmt.Fprintf(w, ", %s@%s", res.Source, short(res.Revision))
	}
	fmt.Fprintln(w, ")")
	if res.Error != "" {
		fmt.Fprintf(w, "  %s %s\n", opts.paint(w, red, "error:"), res.Error)
		return
	}
	if res.FailedRevision != "" {
		last := "none"
		if res.AppliedRevision != "" {
			last = short(res.AppliedRevision)
		}
		fmt.Fprintf(w, "  %s revision %s was applied but did not become healthy (last healthy: %s); the next reconcile re-checks its health and prunes once it is healthy\n",
			opts.paint(w, red, "rollout failed:"), short(res.FailedRevision), last)
	}
	counts := res.Report.Counts()
	for _, o := range res.Report.Objects {
		if o.Status == drift.InSync {
			continue
		}
		m := statusMark[o.Status]
		origin := ""
		if o.Origin != "" {
			origin = " (" + sources.QuotePath(o.Origin) + ")"
		}
		fmt.Fprintf(w, "  %s %s %s%s\n", opts.paint(w, m.color, m.mark), o.Ref, o.Status, origin)
		for _, f := range o.Fields {
			fmt.Fprintf(w, "      %s: %s%s\n", f.Path, notifications.GitLive(opts.paint(w, green, value(f.Desired)), opts.paint(w, red, value(f.Live))), actor(f.Actor))
		}
		if o.Error != "" {
			fmt.Fprintf(w, "      %s\n", o.Error)
		}
	}
	fmt.Fprintf(w, "  %d in sync, %d drifted, %d missing, %d pending prune", counts[drift.InSync], counts[drift.Drifted], counts[drift.Missing], counts[drift.PendingPrune])
	if n := counts[drift.Unmanaged]; n > 0 {
		fmt.Fprintf(w, ", %d unmanaged", n)
	}
	if n := counts[drift.Unknown]; n > 0 {
		fmt.Fprintf(w, ", %d unknown", n)
	}
	fmt.Fprintln(w)
	if n := counts[drift.Unknown]; n > 0 {
		fmt.Fprintf(w, "  %s live state of %d objects or listings (marked ?) could not be read: the result is unknown, not in sync; run diff again, or see the reasons above\n", opts.paint(w, red, "unknown:"), n)
	}
}

// value prints a field value compactly: scalars as JSON, objects on one line.
func value(v any) string {
	if v == nil {
		return "(absent)"
	}
	if s, ok := v.(string); ok && strings.HasPrefix(s, "<masked") {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

func actor(a *drift.Actor) string {
	switch {
	case a == nil || a.Name() == "":
		return ""
	case a.Manager == "" && a.Principal == "":
		return "  (" + a.Unknown + ")"
	}
	s := "  (by " + a.Name()
	for _, more := range []string{a.Operation, a.Event, prefixed("session of ", a.SessionIssuer), prefixed("from ", a.SourceIP)} {
		if more != "" {
			s += ", " + more
		}
	}
	if !a.Time.IsZero() {
		s += ", " + a.Time.UTC().Format("2006-01-02 15:04:05Z")
	}
	return s + ")"
}

// prefixed is prefix+s, or "" when s is.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// sortedStatuses is used by summaries that list statuses in a fixed order.
func sortedStatuses(m map[drift.Status]int) []drift.Status {
	out := make([]drift.Status, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
