package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// watchEvery is how often get --watch asks the daemon again.
const watchEvery = 2 * time.Second

// daemonVerbs are the commands that talk to a running daemon.
func daemonVerbs(opts *globalOptions) []*cobra.Command {
	return []*cobra.Command{
		newGetCommand(opts),
		newReconcileCommand(opts),
		newSuspendCommand(opts, true),
		newSuspendCommand(opts, false),
		newAcceptCommand(opts),
		newOverrideFreezeCommand(opts),
	}
}

func newGetCommand(opts *globalOptions) *cobra.Command {
	co := &clientOptions{}
	var (
		output, target string
		watch, open    bool
	)
	cmd := &cobra.Command{
		Use:   "get targets|episodes",
		Short: "List the daemon's targets or drift episodes (over its API)",
		Long: `List what a running daemon (trueup serve) knows: its targets with their
last reconcile, or its drift episodes (open ones, and those closed within
the last day). Only what your token may view is listed.`,
		Example: `  trueup get targets --server https://trueup.example.com --token "$(kubectl create token me)"
  trueup get episodes --target web -o yaml
  trueup get targets --watch`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"targets", "episodes"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "table", "json", "yaml"); err != nil {
				return err
			}
			kind := strings.TrimSuffix(args[0], "s")
			if kind != "target" && kind != "episode" {
				return &exitCodeError{code: exitError, err: fmt.Errorf("get %q: use targets or episodes", args[0])}
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			path := "/api/v1/targets"
			if kind == "episode" {
				q := url.Values{}
				if target != "" {
					q.Set("target", target)
				}
				if open {
					q.Set("open", "true")
				}
				path = "/api/v1/episodes?" + q.Encode()
			}
			g := &getter{c: c, path: path, kind: kind, output: output, target: target, w: cmd.OutOrStdout()}
			if !watch {
				_, err := g.once(cmd.Context(), "")
				return err
			}
			return g.watch(cmd.Context())
		},
	}
	co.addFlags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "after listing, ask again every 2s and print what changed (rows for a table, the whole list for json/yaml)")
	cmd.Flags().StringVar(&target, "target", "", "only this target")
	cmd.Flags().BoolVar(&open, "open", false, "episodes: only open (or acknowledged) ones")
	return cmd
}

// getter lists targets or episodes once, or again and again.
type getter struct {
	c            *daemonClient
	path, kind   string
	output       string
	target       string
	w            io.Writer
	printedTitle bool
	last         map[string]string // item JSON by key, for --watch
}

// once lists and prints what changed since last (everything the first
// time); it returns the raw list.
func (g *getter) once(ctx context.Context, prev string) (string, error) {
	var items []map[string]any
	if err := g.c.do(ctx, "GET", g.path, nil, &items); err != nil {
		return prev, err
	}
	if g.kind == "target" && g.target != "" {
		items = slices.DeleteFunc(items, func(it map[string]any) bool { return it["target"] != g.target })
	}
	raw, _ := json.Marshal(items)
	if string(raw) == prev {
		return prev, nil
	}
	if g.output != "table" {
		return string(raw), writeAs(g.w, g.output, items)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(g.w, 0, 4, 2, ' ', 0)
	if !g.printedTitle {
		if g.kind == "target" {
			fmt.Fprintln(tw, "TARGET\tSTATUS\tREVISION\tLAST RECONCILE\tTRIGGER\tOWNER\tMESSAGE")
		} else {
			fmt.Fprintln(tw, "EPISODE\tTARGET\tOBJECT\tSTATUS\tDRIFT\tFIELDS\tOPENED")
		}
		g.printedTitle = true
	}
	seen := map[string]string{}
	for _, it := range items {
		key, row := g.row(it, now)
		b, _ := json.Marshal(it) // what changed, not how long ago it was
		seen[key] = string(b)
		if g.last == nil || g.last[key] != seen[key] {
			fmt.Fprintln(tw, row)
		}
	}
	g.last = seen
	return string(raw), tw.Flush()
}

func (g *getter) watch(ctx context.Context) error {
	prev, err := g.once(ctx, "")
	if err != nil {
		return err
	}
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if prev, err = g.once(ctx, prev); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

// row is one item's table row and its key.
func (g *getter) row(it map[string]any, now time.Time) (key, row string) {
	str := func(k string) string { s, _ := it[k].(string); return s }
	when := func(k string) time.Time { t, _ := time.Parse(time.RFC3339Nano, str(k)); return t }
	if g.kind == "episode" {
		fields := 0
		if f, ok := it["fields"].([]any); ok {
			fields = len(f)
		}
		return str("id"), strings.Join([]string{str("id"), str("target"), str("object"), str("status"), str("drift"),
			fmt.Sprint(fields), ago(when("opened"), now)}, "\t")
	}
	status, msg := targetStatus(it)
	rev := "-"
	if r, ok := it["revision"].(map[string]any); ok {
		if c, _ := r["commit"].(string); len(c) >= 7 {
			rev = c[:7]
		}
	}
	last := "-"
	if t := when("start"); !t.IsZero() {
		last = ago(t, now) + " ago"
	}
	return str("target"), strings.Join([]string{str("target"), status, rev, last, dash(str("trigger")), dash(str("owner")), msg}, "\t")
}

// targetStatus is a target's status word, as the console shows it, and a
// message.
func targetStatus(it map[string]any) (status, msg string) {
	if s, ok := it["suspended"].(map[string]any); ok {
		by, _ := s["by"].(string)
		reason, _ := s["reason"].(string)
		return "suspended", strings.TrimSpace("by " + by + " " + reason)
	}
	if e, _ := it["error"].(string); e != "" {
		return "failed", oneLine(e)
	}
	if p, _ := it["pending"].(bool); p {
		return "pending", ""
	}
	action, _ := it["action"].(string)
	if action == "" {
		if owner, _ := it["owner"].(string); owner != "" {
			return "elsewhere", "reconciled by replica " + owner
		}
		return "pending", ""
	}
	if a, ok := it["accepted"].(map[string]any); ok && len(a) > 0 {
		msg = fmt.Sprintf("%d accepted drift(s)", len(a))
	}
	return action, msg
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine is s's first line, at most 120 bytes.
func oneLine(s string) string {
	line := firstLine(s)
	if len(line) > 120 {
		line = line[:120] + "…"
	}
	return line
}

func newReconcileCommand(opts *globalOptions) *cobra.Command {
	co := &clientOptions{}
	var (
		wait   bool
		output string
	)
	cmd := &cobra.Command{
		Use:   "reconcile TARGET",
		Short: "Ask the daemon to reconcile a target now (over its API)",
		Long: `Ask a running daemon to reconcile a target now, per its policy, with you as
the reconcile's actor in the history. With --wait, print the outcome; exit 1
when the reconcile failed. Needs the operator role on the target's tenant.`,
		Example: "  trueup reconcile web --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "text", "json", "yaml"); err != nil {
				return err
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			path := "/api/v1/targets/" + url.PathEscape(args[0]) + "/reconcile"
			if wait {
				path += "?wait=true"
				c.timeout = max(c.timeout, maxActionWait+defaultRequestTimeout) // the daemon answers within maxActionWait
			}
			var ans reconcileAnswer
			if err := c.do(cmd.Context(), "POST", path, struct{}{}, &ans); err != nil {
				return err
			}
			if output != "text" {
				return writeAs(cmd.OutOrStdout(), output, ans)
			}
			switch {
			case ans.Queued:
				fmt.Fprintf(cmd.OutOrStdout(), "target %s: reconcile requested\n", ans.Target)
			case ans.Error != "":
				fmt.Fprintf(cmd.OutOrStdout(), "target %s: %s in %s: %s\n", ans.Target, ans.Action, ans.Duration, ans.Error)
			default:
				fmt.Fprintf(cmd.OutOrStdout(), "target %s: %s at %s in %s\n", ans.Target, ans.Action, dash(short(ans.Revision)), ans.Duration)
			}
			if ans.Error != "" {
				return &exitCodeError{code: exitFailed}
			}
			return nil
		},
	}
	co.addFlags(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the reconcile and print its outcome")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	return cmd
}

// newSuspendCommand is suspend (on) or resume (!on).
func newSuspendCommand(opts *globalOptions, on bool) *cobra.Command {
	co := &clientOptions{}
	var reason string
	verb, short, long := "resume", "Resume a suspended target (over the daemon's API)",
		"Resume a target suspended with trueup suspend: it reconciles at once, then at its interval."
	if on {
		verb, short, long = "suspend", "Suspend a target's reconciles (over the daemon's API)",
			`Stop a target's reconciles (a reconcile in flight finishes) until trueup
resume. Recorded in the history with you as the actor; a restarted daemon
keeps it. A target with suspend: true in the config stays suspended whatever
this says.`
	}
	cmd := &cobra.Command{
		Use:     verb + " TARGET",
		Short:   short,
		Long:    long,
		Example: "  trueup " + verb + " web --reason 'database migration'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := co.client()
			if err != nil {
				return err
			}
			var ans suspendAnswer
			err = c.do(cmd.Context(), "POST", "/api/v1/targets/"+url.PathEscape(args[0])+"/"+verb, map[string]string{"reason": reason}, &ans)
			if err != nil {
				return err
			}
			if ans.Suspended != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "target %s: suspended by %s since %s\n", ans.Target, ans.Suspended.By, ans.Suspended.Since.UTC().Format(time.RFC3339))
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "target %s: resumed\n", ans.Target)
			}
			return nil
		},
	}
	co.addFlags(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the history")
	return cmd
}

func newAcceptCommand(opts *globalOptions) *cobra.Command {
	co := &clientOptions{}
	var (
		reason string
		dur    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "accept EPISODE --for DURATION",
		Short: "Accept a drift episode for a while (over the daemon's API)",
		Long: `Accept an open drift episode (its id is in trueup get episodes): it closes as
accepted, and until the time ends the object's drift, in the same fields, is
neither healed nor alerted on. Then, or when the drift changes, a new episode
opens and the target's policy applies again.`,
		Example: "  trueup accept 'web/Deployment.apps/web/web/1765100000000000000' --for 4h --reason 'load test'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dur <= 0 {
				return &exitCodeError{code: exitError, err: fmt.Errorf("--for: say for how long to accept the drift, e.g. --for 4h")}
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			var ans acceptAnswer
			err = c.do(cmd.Context(), "POST", "/api/v1/episodes/"+escapePath(args[0])+"/accept", map[string]string{"for": dur.String(), "reason": reason}, &ans)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "episode %s: accepted until %s\n", ans.Episode.ID, ans.Until.UTC().Format(time.RFC3339))
			return nil
		},
	}
	co.addFlags(cmd)
	cmd.Flags().DurationVar(&dur, "for", 0, "how long the drift is accepted (e.g. 30m, 4h, 72h)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the history")
	return cmd
}

// escapePath escapes an episode id as one path segment: its slashes too,
// or the "//" of a cluster-scoped object's id would be cleaned away (the
// daemon's mux redirects such a path).
func escapePath(id string) string { return url.PathEscape(id) }

func newOverrideFreezeCommand(opts *globalOptions) *cobra.Command {
	co := &clientOptions{}
	var reason string
	cmd := &cobra.Command{
		Use:   "override-freeze TARGET --reason TEXT",
		Short: "Let the revision a freeze window holds through once (over the daemon's API)",
		Long: `Apply the revision a freeze window holds for a target now, once, recorded in
the history with you as the actor and the reason. The next revision waits for
the window again.`,
		Example: "  trueup override-freeze web --reason 'hotfix for INC-123'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return &exitCodeError{code: exitError, err: fmt.Errorf("--reason: say why the freeze is overridden; it goes into the history")}
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			var ans overrideAnswer
			if err := c.do(cmd.Context(), "POST", "/api/v1/targets/"+url.PathEscape(args[0])+"/override-freeze", map[string]string{"reason": reason}, &ans); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "target %s: the held revision is let through once\n", ans.Target)
			return nil
		},
	}
	co.addFlags(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the history)")
	return cmd
}
