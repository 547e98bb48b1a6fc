package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// openHistory opens the configured history backend: SQLite in dataDir, or
// PostgreSQL with the DSN from its secret reference.
func openHistory(ctx context.Context, cfg *config.Config) (history.Store, error) {
	switch cfg.History.Backend {
	case "postgres":
		dsn, err := cfg.History.DSNFrom.Resolve()
		if err != nil {
			return nil, &exitCodeError{code: exitError, err: fmt.Errorf("history.dsnFrom: %w", err)}
		}
		h, err := history.OpenPostgres(ctx, dsn.Reveal())
		if err != nil {
			return nil, &exitCodeError{code: exitError, err: fmt.Errorf("%w (check history.dsnFrom and that PostgreSQL is reachable)", err)}
		}
		return h, nil
	default:
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, &exitCodeError{code: exitError, err: fmt.Errorf("dataDir: %w", err)}
		}
		h, err := history.OpenSQLite(filepath.Join(cfg.DataDir, "history.db"))
		if err != nil {
			return nil, &exitCodeError{code: exitError, err: err}
		}
		return h, nil
	}
}

type historyOptions struct {
	target, object, revision, actor, since, until string
	types                                         []string
	limit                                         int
	output                                        string
}

func newHistoryCommand(opts *globalOptions) *cobra.Command {
	ho := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Query the audit history: every reconcile, apply, prune, heal and drift episode",
		Long: `List history records, oldest first, filtered by target, object, time,
revision, type and actor. Every record carries a SHA-256 over its content and
the previous record's hash; 'trueup history verify' checks the chain.

Types: reconcile, manual, apply, heal, prune, prune-blocked, drift-opened,
drift-updated, drift-resolved, drift-accepted, pull-request, notification,
suspend, resume, freeze-held, freeze-override, checkpoint,
compliance-violation, compliance-resolved, compliance-exempt.`,
		Example: `  trueup history --target web --since 24h
  trueup history --object Deployment.apps/web/web -o json
  trueup history --type drift-opened,drift-resolved -o csv > drift.csv
  trueup history show 42
  trueup history verify
  trueup history export --format jsonl > trueup-history.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(ho.output, "table", "json", "yaml", "csv"); err != nil {
				return err
			}
			f, err := ho.filter(time.Now())
			if err != nil {
				return err
			}
			return withHistory(cmd, opts, func(h history.Store) error {
				recs, err := h.Query(cmd.Context(), f)
				if err != nil {
					return &exitCodeError{code: exitError, err: err}
				}
				return writeRecords(cmd.OutOrStdout(), ho.output, recs)
			})
		},
	}
	fl := cmd.PersistentFlags() // the filters apply to export too
	fl.StringVar(&ho.target, "target", "", "only this target")
	fl.StringVar(&ho.object, "object", "", "only this object, as Kind.group/namespace/name (as the table shows it)")
	fl.StringVar(&ho.revision, "revision", "", "only this Git revision (full commit SHA)")
	fl.StringVar(&ho.actor, "actor", "", "only this actor (commit author, field manager or CLI user)")
	fl.StringVar(&ho.since, "since", "", "from this time: RFC 3339 (2026-11-25T10:00:00Z) or a duration ago (24h)")
	fl.StringVar(&ho.until, "until", "", "before this time: RFC 3339 or a duration ago")
	fl.StringSliceVar(&ho.types, "type", nil, "only these record types (comma separated)")
	cmd.Flags().IntVar(&ho.limit, "limit", 1000, "at most this many records")
	cmd.Flags().StringVarP(&ho.output, "output", "o", "table", "output format: table, json, yaml or csv")
	cmd.AddCommand(newHistoryShowCommand(opts), newHistoryVerifyCommand(opts), newHistoryExportCommand(opts, ho))
	return cmd
}

func (ho *historyOptions) filter(now time.Time) (history.Filter, error) {
	f := history.Filter{Target: ho.target, Object: ho.object, Revision: ho.revision, Actor: ho.actor, Types: ho.types, Limit: ho.limit}
	var err error
	if f.Since, err = parseWhen("--since", ho.since, now); err != nil {
		return f, err
	}
	if f.Until, err = parseWhen("--until", ho.until, now); err != nil {
		return f, err
	}
	return f, nil
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, &exitCodeError{code: exitError, err: fmt.Errorf("%s %q: use RFC 3339 like 2026-11-25T10:00:00Z or a duration like 24h", flag, v)}
}

func withHistory(cmd *cobra.Command, opts *globalOptions, fn func(history.Store) error) error {
	return withConfigHistory(cmd, opts, func(_ *config.Config, h history.Store) error { return fn(h) })
}

// withConfigHistory calls fn with the config and its history, closed after.
func withConfigHistory(cmd *cobra.Command, opts *globalOptions, fn func(*config.Config, history.Store) error) error {
	cfg, err := loadConfig(opts)
	if err != nil {
		return err
	}
	h, err := openHistory(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	return fn(cfg, h)
}

var recordColumns = []string{"SEQ", "TIME", "TYPE", "TARGET", "OBJECT", "REVISION", "ACTOR", "OUTCOME", "MESSAGE"}

func recordRow(r history.Record) []string {
	return []string{strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339), r.Type, r.Target, r.Object,
		short(r.Revision), r.Actor, r.Outcome, r.Message}
}

func writeRecords(w io.Writer, format string, recs []history.Record) error {
	switch format {
	case "json", "yaml":
		if recs == nil {
			recs = []history.Record{}
		}
		return writeAs(w, format, recs)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(recordColumns)
		for _, r := range recs {
			row := recordRow(r)
			row[5] = r.Revision // full SHA for machines
			_ = cw.Write(row)
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(recordColumns, "\t"))
	for _, r := range recs {
		row := recordRow(r)
		row[8] = truncateText(row[8], 80)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if len(recs) == 0 {
		fmt.Fprintln(tw, "(no records match)")
	}
	return tw.Flush()
}

func truncateText(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func newHistoryShowCommand(opts *globalOptions) *cobra.Command {
	output := "json"
	cmd := &cobra.Command{
		Use:   "show SEQ",
		Short: "Show one history record in full, with its masked diff",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "json", "yaml"); err != nil {
				return err
			}
			seq, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || seq < 1 {
				return &exitCodeError{code: exitError, err: fmt.Errorf("record id %q: use the SEQ column of 'trueup history'", args[0])}
			}
			return withHistory(cmd, opts, func(h history.Store) error {
				r, err := h.Get(cmd.Context(), seq)
				if errors.Is(err, history.ErrNotFound) {
					return &exitCodeError{code: exitFailed, err: fmt.Errorf("no record %d: list records with 'trueup history'", seq)}
				}
				if err != nil {
					return &exitCodeError{code: exitError, err: err}
				}
				return writeAs(cmd.OutOrStdout(), output, r)
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", output, "output format: json or yaml")
	return cmd
}

func newHistoryVerifyCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain of the whole history; exit 1 names the first broken record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withHistory(cmd, opts, func(h history.Store) error {
				res, err := h.Verify(cmd.Context())
				if err != nil {
					return &exitCodeError{code: exitError, err: err}
				}
				w := cmd.OutOrStdout()
				if !res.OK {
					fmt.Fprintf(w, "%s chain broken at record %d: %s (%d records checked before it)\n",
						opts.paint(w, red, "✖"), res.FirstBroken, res.Reason, res.Records)
					return &exitCodeError{code: exitFailed}
				}
				fmt.Fprintf(w, "%s chain intact: %d records, head %d %s\n", opts.paint(w, green, "✔"), res.Records, res.HeadSeq, res.HeadHash)
				return nil
			})
		},
	}
}

func newHistoryExportCommand(opts *globalOptions, ho *historyOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write history records as JSON lines for a SIEM (filters as for 'history')",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" {
				return &exitCodeError{code: exitError, err: fmt.Errorf("--format %q: only jsonl is supported", format)}
			}
			f, err := ho.filter(time.Now())
			if err != nil {
				return err
			}
			f.Limit = 0 // everything that matches
			return withHistory(cmd, opts, func(h history.Store) error {
				if err := h.Export(cmd.Context(), cmd.OutOrStdout(), f); err != nil {
					return &exitCodeError{code: exitError, err: err}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "jsonl", "export format: jsonl")
	return cmd
}

// recording opens the history and a state store rebuilt from it, for
// commands that change clusters (apply, serve). close releases them.
func recording(ctx context.Context, cfg *config.Config) (opts []reconciler.Option, h history.Store, st *state.Store, err error) {
	h, err = openHistory(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err = state.New()
	if err != nil {
		h.Close()
		return nil, nil, nil, &exitCodeError{code: exitError, err: err}
	}
	if _, err := reconciler.RebuildState(ctx, h, st); err != nil {
		h.Close()
		return nil, nil, nil, &exitCodeError{code: exitError, err: err}
	}
	return []reconciler.Option{reconciler.WithHistory(h), reconciler.WithState(st)}, h, st, nil
}

// retain removes history older than the retention every hour, leaving a
// checkpoint so the chain still verifies.
func retain(ctx context.Context, h history.Store, retention time.Duration, log *slog.Logger) {
	if retention <= 0 {
		return
	}
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := h.Retain(ctx, time.Now().Add(-retention)); err != nil {
			log.Error("history retention failed", "error", err.Error())
		} else if n > 0 {
			log.Info("history retention", "removed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// cliActor names the person running the CLI, for the history.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}
