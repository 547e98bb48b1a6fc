package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/reconciler/config"
)

type validateResult struct {
	File   string              `json:"file"`
	Valid  bool                `json:"valid"`
	Errors []config.FieldError `json:"errors,omitempty"`
}

func newValidateCommand(opts *globalOptions) *cobra.Command {
	var output, policyDir string
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check trueup.yaml, or a checkout against policies",
		Long: `Check trueup.yaml: unknown fields, wrong types, unresolved references,
durations out of range. Exit code 0 when valid, 1 when the file has problems,
2 when it cannot be read.

With --policies, render each PATH of a local checkout (plain YAML or
kustomize) and check every object against the policies in that folder, as
a CI job on pull requests would: exit 0 when nothing violates, 1 when
something does, 2 when a policy or a path cannot be loaded.`,
		Example: `  trueup validate -c trueup.yaml
  trueup validate -c trueup.yaml -o json
  trueup validate --policies policies/ apps/web apps/api/overlays/prod`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "text", "json", "yaml"); err != nil {
				return err
			}
			if policyDir != "" {
				return validatePolicies(cmd, opts, policyDir, args, output)
			}
			if len(args) > 0 {
				return &exitCodeError{code: exitError, err: fmt.Errorf("paths %v are only checked with --policies DIR", args)}
			}
			cfg, err := config.Load(opts.configPath)
			res := validateResult{File: opts.configPath, Valid: err == nil}
			var fieldErrs config.Errors
			switch {
			case errors.As(err, &fieldErrs):
				res.Errors = fieldErrs
			case err != nil:
				return &exitCodeError{code: exitError, err: err}
			}
			w := cmd.OutOrStdout()
			if output != "text" {
				if err := writeAs(w, output, res); err != nil {
					return err
				}
			} else {
				printValidate(w, opts, res, cfg)
			}
			if !res.Valid {
				return &exitCodeError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	cmd.Flags().StringVar(&policyDir, "policies", "", "check the objects under PATH... against the policies in this folder")
	return cmd
}

func printValidate(w io.Writer, opts *globalOptions, res validateResult, cfg *config.Config) {
	if res.Valid {
		fmt.Fprintf(w, "%s %s is valid: %s, %s, %s, %s, %s\n", opts.paint(w, green, "✔"), res.File,
			plural(len(cfg.Sources), "source"), plural(len(cfg.Clusters), "cluster"),
			plural(len(cfg.Accounts), "account"), plural(len(cfg.Targets), "target"),
			plural(len(cfg.Notifiers), "notifier"))
		return
	}
	fmt.Fprintf(w, "%s %s has %s:\n", opts.paint(w, red, "✖"), res.File, plural(len(res.Errors), "problem"))
	for _, e := range res.Errors {
		if e.Path == "" {
			fmt.Fprintf(w, "  %s\n", e.Message)
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n", opts.paint(w, bold, e.Path), e.Message)
	}
	fmt.Fprintf(w, "Fix them and run 'trueup validate -c %s' again; the config reference is in README.md.\n", res.File)
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
