package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/policy"
)

func newPreviewCommand(opts *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "preview SOURCE NUMBER",
		Short: "Preview a pull request: dry-run its head against every target of the source",
		Long: `Fetch the head of pull request NUMBER of SOURCE (refs/pull/NUMBER/head),
render it for every target that follows the pull request's base branch, run
a server-side dry-run apply with pruning against each target's cluster or
account, and evaluate the policies. Like the daemon, it keeps trueup's one
comment on the pull request up to date and sets the commit status
trueup/preview. Nothing is applied.

Exit code 0 when the pull request can be applied, 1 when a target fails or
an enforced policy would block an object, 2 on error.`,
		Example: "  trueup preview apps 42\n  trueup preview apps 42 -o json",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "table", "json", "yaml"); err != nil {
				return err
			}
			number, err := strconv.Atoi(args[1])
			if err != nil || number <= 0 {
				return &exitCodeError{code: exitError, err: fmt.Errorf("NUMBER %q: want a pull request number like 42", args[1])}
			}
			cfg, err := loadConfig(opts)
			if err != nil {
				return err
			}
			if s, ok := cfg.Source(args[0]); !ok || s.Provider == nil {
				return &exitCodeError{code: exitError, err: fmt.Errorf("source %q has no provider: set sources[].provider (type, url, tokenFrom) to preview its pull requests", args[0])}
			}
			targets, err := selectTargets(cfg, nil)
			if err != nil {
				return err
			}
			r, err := newReconciler(cfg, targets)
			if err != nil {
				return err
			}
			pv, err := r.PreviewPullRequest(cmd.Context(), args[0], number, true)
			if err != nil {
				return &exitCodeError{code: exitError, err: err}
			}
			if err := printPreview(cmd.OutOrStdout(), opts, pv, output); err != nil {
				return err
			}
			if pv.Failed {
				return &exitCodeError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

// printPreview writes the preview as a table per target, or JSON.
func printPreview(w io.Writer, opts *globalOptions, pv *reconciler.Preview, output string) error {
	if output != "table" {
		return writeAs(w, output, pv)
	}
	if pv.Skipped != "" {
		fmt.Fprintf(w, "pull request #%d not previewed: %s\n", pv.Number, pv.Skipped)
		return nil
	}
	fmt.Fprintf(w, "pull request #%d at %s (%s)\n", pv.Number, pv.Head.Short(), pv.URL)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tDESTINATION\tCREATE\tUPDATE\tDELETE\tPOLICY\tRESULT")
	for _, tp := range pv.Targets {
		c := map[kube.Action]int{}
		if tp.Apply != nil {
			c = tp.Apply.Counts()
		}
		result := opts.paint(w, green, "ok")
		switch {
		case tp.Error != "":
			result = opts.paint(w, red, "error: "+tp.Error)
		case len(policy.Blocking(tp.Policy)) > 0:
			result = opts.paint(w, red, "blocked by policy")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", tp.Target, tp.Destination, c[kube.ActionCreated], c[kube.ActionConfigured], c[kube.ActionDeleted], len(tp.Policy), result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, tp := range pv.Targets {
		for _, o := range tp.Changes {
			fmt.Fprintf(w, "%s %s: %s\n", tp.Target, o.Ref, o.Status)
			for _, f := range o.Fields {
				live, desired := notifications.FormatValue(f.Live), notifications.FormatValue(f.Desired)
				if f.Masked {
					live, desired = "<masked>", "<masked>"
				}
				fmt.Fprintf(w, "  %s: %s\n", f.Path, notifications.GitLive(desired, live))
			}
		}
	}
	return nil
}
