package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

func newApplyCommand(opts *globalOptions) *cobra.Command {
	var output string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply TARGET",
		Short: "Apply a target once: new revision (with prune) or heal drift",
		Long: `Reconcile one target now: apply its revision if the cluster or account has not got it
(staged server-side apply, health wait, prune within the target's limits),
otherwise re-apply drifted or missing objects. --dry-run shows what would
happen and writes nothing.

Exit code: 0 success, 1 prune blocked (objects that left Git were kept; the
output says why and what to do) or a freeze window holds the revision, 2
error. The target's dependsOn is not waited for: this command applies the
one target it is given.`,
		Example: "  trueup apply web -c trueup.yaml\n  trueup apply web --dry-run",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "text", "json"); err != nil {
				return err
			}
			cfg, err := loadConfig(opts)
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			out, err := reconcileOnce(cmd.Context(), cfg, args[0], reconciler.ReconcileOptions{DryRun: dryRun, Progress: func(e kube.Event) { printProgress(errw, e) }})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				if err := writeOutcomeJSON(w, out); err != nil {
					return err
				}
			} else {
				printOutcome(w, opts, out, dryRun)
			}
			switch {
			case out.Err != nil:
				return &exitCodeError{code: exitError, err: out.Err}
			case out.PruneBlocked != "":
				return &exitCodeError{code: exitFailed} // the output says why
			case out.Action == reconciler.ActionUnknown:
				return &exitCodeError{code: exitError} // the output says what is unknown
			case out.Action == reconciler.ActionFrozen:
				return &exitCodeError{code: exitFailed} // the output names the window
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "server-side dry-run: show what would change, write nothing")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// reconcileOnce reconciles one target now (trigger manual, actor the CLI
// user), recording to the history; what the history does not take yet
// waits in dataDir.
func reconcileOnce(ctx context.Context, cfg *config.Config, target string, ro reconciler.ReconcileOptions) (*reconciler.Outcome, error) {
	targets, err := selectTargets(cfg, []string{target})
	if err != nil {
		return nil, err
	}
	rec, h, _, err := recording(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	r, err := newReconciler(cfg, targets, rec...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ro.Actor = cliActor()
	ro.IgnoreDependsOn = true // this process has not reconciled the dependencies
	return r.Reconcile(ctx, target, reconciler.TriggerManual, ro), nil
}

func printProgress(w io.Writer, e kube.Event) {
	switch e.Type {
	case kube.EventStageStarted:
		fmt.Fprintf(w, "  stage %s: %d objects\n", e.Stage, e.Objects)
	case kube.EventWaiting:
		fmt.Fprintf(w, "  waiting for %d objects to become ready\n", e.Objects)
	case kube.EventDeleting:
		fmt.Fprintf(w, "  pruning %d objects\n", e.Objects)
	case kube.EventInventory:
		fmt.Fprintf(w, "  inventory recorded: %d objects\n", e.Objects)
	}
}

func printOutcome(w io.Writer, opts *globalOptions, out *reconciler.Outcome, dryRun bool) {
	fmt.Fprintf(w, "target %s at %s@%s: %s\n", opts.paint(w, bold, out.Target), out.Revision.Source, out.Revision.Short(), out.Action)
	if out.Apply != nil {
		for _, e := range out.Apply.Entries {
			if e.Action == kube.ActionUnchanged {
				continue
			}
			msg := ""
			if e.Message != "" {
				msg = " (" + e.Message + ")"
			}
			fmt.Fprintf(w, "  %s %s%s\n", e.Ref, e.Action, msg)
		}
		fmt.Fprintf(w, "%s\n", out.Apply.Summary())
	}
	if out.PruneBlocked != "" {
		fmt.Fprintf(w, "%s %s\n", opts.paint(w, yellow, "prune blocked:"), out.PruneBlocked)
	}
	switch out.Action {
	case reconciler.ActionInSync:
		fmt.Fprintln(w, "nothing to do: live state matches Git")
	case reconciler.ActionUnknown:
		for _, o := range out.Report.Objects {
			if o.Status == drift.Unknown {
				fmt.Fprintf(w, "  ? %s unknown: %s\n", o.Ref, o.Error)
			}
		}
		fmt.Fprintf(w, "%s nothing that could be read drifted, but the state above could not be read: the result is unknown, not in sync; run trueup apply again when the API answers\n", opts.paint(w, yellow, "unknown:"))
	case reconciler.ActionFrozen:
		fmt.Fprintf(w, "%s %s: nothing was applied; it applies when the window ends, or once an operator overrides the freeze on the daemon\n", opts.paint(w, yellow, "frozen:"), out.Held)
	}
}

type outcomeJSON struct {
	*reconciler.Outcome
	Error string `json:"error,omitempty"`
}

func writeOutcomeJSON(w io.Writer, out *reconciler.Outcome) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(outcomeJSON{Outcome: out, Error: out.Error()})
}
