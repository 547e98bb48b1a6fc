package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/policy"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
)

// findingRow is one finding of a target or path, for every output format.
type findingRow struct {
	Target string `json:"target,omitempty"`
	Path   string `json:"path,omitempty"`
	policy.Finding
}

// validatePolicies renders local paths and checks them against a policy
// folder. Broken policies are an error (exit 2): a CI gate must not pass
// because a guardrail did not compile.
func validatePolicies(cmd *cobra.Command, opts *globalOptions, dir string, paths []string, output string) error {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files, err := sources.ReadDir(dir)
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("--policies: %w", err)}
	}
	set, err := reconciler.LoadPolicies(files)
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("--policies %s: %w\nfix the policies, or move the broken ones out of the folder", dir, err)}
	}
	var rows []findingRow
	now := time.Now()
	for _, p := range paths {
		objs, err := renderLocal(p)
		if err != nil {
			return &exitCodeError{code: exitError, err: err}
		}
		for _, o := range objs {
			for _, f := range set.Evaluate(o.Object, nil, now) {
				rows = append(rows, findingRow{Path: p, Finding: f})
			}
		}
	}
	if err := printFindings(cmd.OutOrStdout(), opts, rows, output); err != nil {
		return err
	}
	for _, r := range rows {
		if !r.Exempt() {
			return &exitCodeError{code: exitFailed}
		}
	}
	return nil
}

// renderLocal renders a folder of a local checkout: its files relative to
// the folder's repository-like root (the folder itself).
func renderLocal(path string) ([]sources.Object, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	files, err := sources.ReadDir(abs)
	if err != nil {
		return nil, err
	}
	res, err := render.Render(files, ".", render.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res.Objects, nil
}

func newComplianceCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "compliance", Short: "Policy findings of the targets"}
	var output string
	report := &cobra.Command{
		Use:   "report [TARGET...]",
		Short: "List the current policy findings per target (live state, and desired objects not live yet)",
		Long: `Evaluate the configured policies against each target's live objects (and
the desired objects that are not live yet, as they would be created).
Exit code 0 when nothing violates, 1 when something does, 2 on error.`,
		Example: "  trueup compliance report\n  trueup compliance report web -o csv",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "table", "json", "yaml", "csv"); err != nil {
				return err
			}
			r, targets, err := reconcilerForArgs(opts, args)
			if err != nil {
				return err
			}
			var rows []findingRow
			var errs []error
			for _, t := range targets {
				findings, err := r.Compliance(cmd.Context(), t.Name)
				if err != nil {
					errs = append(errs, fmt.Errorf("target %s: %w", t.Name, err))
					continue
				}
				for _, f := range findings {
					rows = append(rows, findingRow{Target: t.Name, Finding: f})
				}
			}
			if err := printFindings(cmd.OutOrStdout(), opts, rows, output); err != nil {
				return err
			}
			if len(errs) > 0 {
				return &exitCodeError{code: exitError, err: errors.Join(errs...)}
			}
			for _, r := range rows {
				if !r.Exempt() {
					return &exitCodeError{code: exitFailed}
				}
			}
			return nil
		},
	}
	report.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json, yaml or csv")
	cmd.AddCommand(report)
	return cmd
}

// printFindings writes findings as a table (text), JSON or CSV.
func printFindings(w io.Writer, opts *globalOptions, rows []findingRow, output string) error {
	switch output {
	case "json", "yaml":
		if rows == nil {
			rows = []findingRow{}
		}
		return writeAs(w, output, rows)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"target", "path", "object", "policy", "severity", "action", "status", "message"})
		for _, r := range rows {
			_ = cw.Write([]string{r.Target, r.Path, r.Object.String(), r.Policy, string(r.Severity), string(r.Action), findingStatus(r.Finding), findingMessage(r.Finding)})
		}
		cw.Flush()
		return cw.Error()
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "%s no policy findings\n", opts.paint(w, green, "✔"))
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHERE\tOBJECT\tPOLICY\tSEVERITY\tSTATUS\tMESSAGE")
	for _, r := range rows {
		where := r.Target
		if where == "" {
			where = r.Path
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", where, r.Object, r.Policy, r.Severity, findingStatus(r.Finding), findingMessage(r.Finding))
	}
	return tw.Flush()
}

func findingStatus(f policy.Finding) string {
	switch {
	case f.Exempt():
		return "exempt"
	case f.Blocks():
		return "blocked"
	}
	return "violation"
}

func findingMessage(f policy.Finding) string {
	return strings.ReplaceAll(reconciler.FindingText(f), "\n", " ")
}
