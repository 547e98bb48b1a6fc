package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes shared by every command (the driftctl convention for diff).
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran and found a problem (invalid config, drift)
	exitError   = 2 // the command could not do its job
	defaultFile = "trueup.yaml"
)

// streams are the process's standard streams, injectable for tests.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// exitCodeError carries an exit code up to run. A nil err means the command
// already printed what the user needs.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// globalOptions are the flags every command shares.
type globalOptions struct {
	configPath string
	noColor    bool
	streams    streams
}

// run builds the command tree, executes it and returns the exit code.
func run(ctx context.Context, args []string, s streams) int {
	opts := &globalOptions{streams: s}
	root := newRootCommand(opts)
	root.SetArgs(args)
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	stopPprof, err := startPprof()
	if err != nil {
		fmt.Fprintf(s.err, "%s %v\n", opts.paint(s.err, red, "error:"), err)
		return exitError
	}
	defer stopPprof()
	err = root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintf(s.err, "%s %v\n", opts.paint(s.err, red, "error:"), ec.err)
		}
		return ec.code
	}
	fmt.Fprintf(s.err, "%s %v\n", opts.paint(s.err, red, "error:"), err)
	return exitError
}

func newRootCommand(opts *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "trueup",
		Short: "GitOps reconciler and drift detector for Kubernetes clusters and cloud accounts",
		Long: `trueup pulls desired state from Git, compares it with live clusters and cloud
accounts, applies changes or opens pull requests, and keeps a tamper-evident history.

Start with:
  trueup validate -c trueup.yaml      check the config file
  trueup render TARGET -c trueup.yaml print the objects a target would apply`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&opts.configPath, "config", "c", envOr("TRUEUP_CONFIG", defaultFile), "path to trueup.yaml (env TRUEUP_CONFIG)")
	root.PersistentFlags().BoolVar(&opts.noColor, "no-color", false, "disable colours (also when NO_COLOR is set)")
	root.AddCommand(
		newVersionCommand(opts),
		newValidateCommand(opts),
		newRenderCommand(opts),
		newDiffCommand(opts),
		newApplyCommand(opts),
		newServeCommand(opts),
		newHistoryCommand(opts),
		newReportCommand(opts),
		newNotifyCommand(opts),
		newComplianceCommand(opts),
		newPreviewCommand(opts),
		newBootstrapCommand(opts),
	)
	root.AddCommand(daemonVerbs(opts)...)
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// ANSI colours, used only when writing to a terminal.
const (
	red    = "31"
	green  = "32"
	yellow = "33"
	bold   = "1"
)

// paint colours s when w is a terminal and colours are not disabled.
func (o *globalOptions) paint(w io.Writer, color, s string) string {
	if o.noColor || os.Getenv("NO_COLOR") != "" {
		return s
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return s
	}
	return "\x1b[" + color + "m" + s + "\x1b[0m"
}

// outputFormat validates -o values shared by commands.
func outputFormat(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return &exitCodeError{code: exitError, err: fmt.Errorf("unknown output format %q: use one of %v", got, allowed)}
}
