package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
)

func newRenderCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "render TARGET",
		Short: "Print the objects a target renders at its source's current revision",
		Long: `Fetch the target's source, read its path at the resolved commit and print the
rendered objects as YAML, like 'kustomize build' or 'flux build'. Nothing is
sent to a cluster. The revision goes to stderr, the objects to stdout.`,
		Example: "  trueup render api-prod -c trueup.yaml > rendered.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(opts)
			if err != nil {
				return err
			}
			t, err := lookupTarget(cfg, args[0])
			if err != nil {
				return err
			}
			loader, err := newDesiredLoader(cfg)
			if err != nil {
				return err
			}
			d, err := loader.Load(cmd.Context(), t)
			if err != nil {
				return &exitCodeError{code: exitError, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "# target %s: %s@%s (%s) by %s: %s, %d objects\n", t.Name, d.Revision.Source,
				d.Revision.Short(), d.Mode, d.Revision.Author.Name, firstLine(d.Revision.Message), len(d.Objects))
			for _, h := range d.Hooks {
				fmt.Fprintf(cmd.ErrOrStderr(), "# helm hook %s (%s) from %s left out (render.helm.hooks: apply applies it)\n",
					h.Object, h.Events, sources.QuotePath(h.Origin.File))
			}
			return render.WriteYAML(cmd.OutOrStdout(), d.Objects)
		},
	}
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
