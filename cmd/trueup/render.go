package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
)

// sopsMasked stands in for the values of a Secret decrypted from a SOPS
// file in `trueup render` output.
const sopsMasked = "<sops: decrypted, masked>"

func newRenderCommand(opts *globalOptions) *cobra.Command {
	var showSecrets bool
	var local string
	cmd := &cobra.Command{
		Use:   "render TARGET",
		Short: "Print the objects a target renders at its source's current revision",
		Long: `Fetch the target's source, read its path at the resolved commit and print the
rendered objects as YAML, like 'kustomize build' or 'flux build'. Nothing is
sent to a cluster. The revision goes to stderr, the objects to stdout.

With --local DIR the target is rendered from a local checkout of its source
(DIR is the repository's root folder) as it is on disk, uncommitted changes
included, and the source is not fetched: check a change before you push it,
like 'flux build kustomization --path'.

Secrets decrypted from SOPS-encrypted files print their values as
"<sops: decrypted, masked>"; --show-secrets prints them, and only to a
terminal (never into a file or a pipe).`,
		Example: "  trueup render api-prod -c trueup.yaml > rendered.yaml\n  trueup render api-prod --local ~/src/platform | kubectl diff -f -",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if showSecrets && !isTerminal(cmd.OutOrStdout()) {
				return &exitCodeError{code: exitError, err: errors.New("--show-secrets prints decrypted values only to a terminal: " +
					"standard output is a file or a pipe; run it in a terminal without redirecting, or drop --show-secrets")}
			}
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
			var d *reconciler.Desired
			if local != "" {
				d, err = loader.LoadLocal(cmd.Context(), t, local)
			} else {
				d, err = loader.Load(cmd.Context(), t)
			}
			if err != nil {
				return &exitCodeError{code: exitError, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "# target %s: %s@%s (%s) by %s: %s, %d objects\n", t.Name, d.Revision.Source,
				d.Revision.Short(), d.Mode, d.Revision.Author.Name, firstLine(d.Revision.Message), len(d.Objects))
			for _, h := range d.Hooks {
				fmt.Fprintf(cmd.ErrOrStderr(), "# helm hook %s (%s) from %s left out (render.helm.hooks: apply applies it)\n",
					h.Object, h.Events, sources.QuotePath(h.Origin.File))
			}
			objs := d.Objects
			if !showSecrets {
				objs = maskDecrypted(objs)
			}
			return render.WriteYAML(cmd.OutOrStdout(), objs)
		},
	}
	cmd.Flags().StringVar(&local, "local", "", "render from this local checkout of the target's source (its root folder) instead of fetching it")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print the values of Secrets decrypted from SOPS files (only to a terminal)")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// maskDecrypted returns objs with every value under data and stringData of
// the objects decrypted from SOPS files (all Secrets) replaced by
// sopsMasked; key names stay. objs is not modified.
func maskDecrypted(objs []sources.Object) []sources.Object {
	out := make([]sources.Object, len(objs))
	for i, o := range objs {
		out[i] = o
		if !o.Origin.Decrypted {
			continue
		}
		u := o.Object.DeepCopy()
		for _, field := range []string{"data", "stringData"} {
			switch v := u.Object[field].(type) {
			case nil:
			case map[string]any:
				for k := range v {
					v[k] = sopsMasked
				}
			default:
				u.Object[field] = sopsMasked
			}
		}
		out[i].Object = u
	}
	return out
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
