package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/lease"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/reconciler/webhook"
	"github.com/trueup-dev/trueup/sources/render"
)

type serveOptions struct {
	listen    string
	logFormat string
	logLevel  string
	noWatch   bool
	// configPoll is how often the config file is read again for changes.
	configPoll time.Duration
}

func newServeCommand(opts *globalOptions) *cobra.Command {
	so := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: reconcile every target at its interval and on every change",
		Long: `Run trueup as a daemon. Every target is reconciled at its interval (with
jitter, backing off on errors), and watches on the managed objects detect a
'kubectl edit' within a second or two. SIGINT/SIGTERM stop it gracefully:
in-flight applies get 30s to finish. SIGHUP, or a change of the config
file (checked every --config-poll), reloads the config: an invalid one is
refused and logged, a valid one replaces the targets, sources, clusters,
accounts and notifiers once in-flight reconciles have finished. server.*
and history.* changes need a restart.

HTTP endpoints: /healthz, /readyz (open, for probes), /targets/NAME and
/episodes/ID (pages), /api/v1/targets, /api/v1/episodes, /api/v1/history,
/metrics (on server.metricsListen when set, open there) and POST /hooks/git
(on server.webhookListen when set). Pages and API need a user with a role
when server.auth is set; without it, only a loopback listener is allowed.`,
		Example: "  trueup serve -c trueup.yaml\n  trueup serve -c trueup.yaml --log-format json --listen :8080",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The daemon renders charts in worker processes it can kill
			// (a chart bomb must not take it down); one-shot commands
			// (render, diff, apply) render in-process, as helm does.
			if err := render.EnableHelmSandbox(render.HelmSandbox{}); err != nil {
				return &exitCodeError{code: exitError, err: err}
			}
			defer render.CloseHelmWorkers() // the idle ones; running renders end with their reconciles
			return serve(cmd.Context(), cmd, opts, so)
		},
	}
	cmd.Flags().StringVar(&so.listen, "listen", "", "HTTP listen address (default: server.listen from the config)")
	cmd.Flags().StringVar(&so.logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&so.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().BoolVar(&so.noWatch, "no-watch", false, "disable watches: find drift at the interval only")
	cmd.Flags().DurationVar(&so.configPoll, "config-poll", 5*time.Second, "how often the config file is checked for changes (0: only on SIGHUP)")
	return cmd
}

func newLogger(cmd *cobra.Command, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("--log-level %q: use debug, info, warn or error", level)}
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), ho)), nil
	}
	return nil, &exitCodeError{code: exitError, err: fmt.Errorf("--log-format %q: use text or json", format)}
}

func serve(ctx context.Context, cmd *cobra.Command, opts *globalOptions, so *serveOptions) error {
	log, err := newLogger(cmd, so.logFormat, so.logLevel)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(opts)
	if err != nil {
		return err
	}
	targets, err := selectTargets(cfg, nil)
	if err != nil {
		return err
	}
	// Who may read pages and API: refused before anything starts when the
	// listener is reachable from elsewhere and server.auth is not set.
	listen := cfg.Server.Listen
	if so.listen != "" {
		listen = so.listen
	}
	gate, login, err := newAuthGate(ctx, cfg, listen, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rec, h, st, err := recording(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	go retain(ctx, h, cfg.History.Retention.Duration, log)
	go housekeep(ctx, st, log)
	metrics := reconciler.NewMetrics(reg)
	eventMetrics := reconciler.NewEventMetrics(reg)
	var haMetrics *lease.Metrics // registered once a config enables ha
	build := func(cfg *config.Config) (*generationRun, error) {
		targets, err := selectTargets(cfg, nil)
		if err != nil {
			return nil, err
		}
		g, err := startGeneration(ctx, cfg, targets, st, append(rec, reconciler.WithLogger(log), reconciler.WithMetrics(metrics), reconciler.WithEventMetrics(eventMetrics)), log)
		if err != nil {
			return nil, err
		}
		// With ha.enabled, the reconciler runs only the targets whose
		// Leases this replica holds (ha.go).
		if cfg.HA.Enabled && haMetrics == nil {
			haMetrics = lease.NewMetrics(reg)
		}
		if err := startHA(cfg, g.r, haMetrics, log); err != nil {
			g.stop(log)
			return nil, err
		}
		return g, nil
	}
	g, err := build(cfg)
	if err != nil {
		return err
	}
	restoreMetrics(ctx, metrics, h, log)
	d := newDaemon(cfg, g.r, st, h, reg)
	if d.webhook, err = webhookHandler(cfg, d, reg); err != nil {
		g.stop(log)
		return err
	}
	servers, err := listenAll(cfg, listen, d, newServerMux(d, gate, login...))
	if err != nil {
		g.stop(log)
		return err
	}
	for _, s := range servers {
		go func() { _ = s.srv.Serve(s.ln) }()
	}
	log.Info("trueup started", append([]any{"version", version}, append(listenAttrs(servers), "targets", len(targets))...)...)
	ro := reconciler.DefaultRunOptions()
	ro.Watch = !so.noWatch
	rm := newReloadMetrics(reg)
	reloads := watchConfig(ctx, opts.configPath, cfg, so.configPoll, rm, log)
	g.start(ctx, ro)
	for next := range reloads {
		// The next generation is built while the current one runs: a
		// config that cannot be built (a kubeconfig missing, a secret
		// file unreadable) leaves the current one untouched.
		ng, err := build(next)
		if err != nil {
			rm.observe(false)
			log.Error("config reload refused; still running the previous config (fix the file, then save it again or send SIGHUP)", "error", err.Error())
			continue
		}
		// In-flight reconciles finish (within the shutdown grace) and
		// their records are written before the next generation starts.
		log.Info("config changed; reloading once the reconciles in flight finish", "path", opts.configPath)
		g.stop(log)
		if len(g.r.Pending()) == 0 {
			d.ready.Store(true)
		}
		g = ng
		d.cur.Store(&generation{cfg: next, r: g.r})
		g.start(ctx, ro)
		rm.observe(true)
		log.Info("config reloaded", "path", opts.configPath, "targets", len(next.Targets))
	}
	g.stop(log)
	err = g.err

	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.srv.Shutdown(shutdown)
	}
	log.Info("trueup stopped")
	return err
}

// listener is one of the daemon's HTTP servers.
type listener struct {
	// name is the log key of its address: listen, webhookListen, metricsListen.
	name string
	ln   net.Listener
	srv  *http.Server
}

// listenAll opens server.listen (main), and server.webhookListen and
// server.metricsListen when set, each serving only its route without a
// user. Every server has the same timeouts: ReadTimeout bounds a slow
// webhook body as well as everything else.
func listenAll(cfg *config.Config, listen string, d *daemon, main http.Handler) ([]listener, error) {
	wanted := []struct {
		name, addr, flag string
		h                http.Handler
	}{
		{"listen", listen, "--listen", main},
		{"webhookListen", cfg.Server.WebhookListen, "server.webhookListen", singleRoute("POST /hooks/git", d.webhook)},
		{"metricsListen", cfg.Server.MetricsListen, "server.metricsListen", singleRoute("GET /metrics", d.metrics())},
	}
	var out []listener
	for _, w := range wanted {
		if w.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", w.addr)
		if err != nil {
			for _, l := range out {
				_ = l.ln.Close()
			}
			return nil, &exitCodeError{code: exitError, err: fmt.Errorf("listen %s: %w (pick another address with %s)", w.addr, err, w.flag)}
		}
		out = append(out, listener{name: w.name, ln: ln,
			srv: &http.Server{Handler: w.h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}})
	}
	return out, nil
}

// listenAttrs are the log attributes of the listeners' addresses.
func listenAttrs(ls []listener) []any {
	var out []any
	for _, l := range ls {
		out = append(out, l.name, l.ln.Addr().String())
	}
	return out
}

// readyz answers 503, naming the targets, until every target has finished
// a first reconcile (or reported why it could not), then 200.
// Once ready, a config reload (whose new reconciler starts with every
// target pending) does not make it unready again.
func readyz(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if d.ready.Load() {
			fmt.Fprintln(w, "ok")
			return
		}
		if pending := d.gen().r.Pending(); len(pending) > 0 {
			http.Error(w, fmt.Sprintf("not ready: %d target(s) have not finished a first reconcile: %s", len(pending), strings.Join(pending, ", ")),
				http.StatusServiceUnavailable)
			return
		}
		d.ready.Store(true)
		fmt.Fprintln(w, "ok")
	}
}

// webhookHandler serves POST /hooks/git (Gitea and GitHub push events)
// when server.webhookSecretFrom is set; without a secret the path answers
// 404 with what to configure, since unsigned hooks are never accepted.
func webhookHandler(cfg *config.Config, r webhook.Pusher, reg *prometheus.Registry) (http.Handler, error) {
	ref := cfg.Server.WebhookSecretFrom
	if ref == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "webhooks are off: set server.webhookSecretFrom in the config", http.StatusNotFound)
		}), nil
	}
	secret, err := ref.Resolve()
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("server.webhookSecretFrom: %w", err)}
	}
	return webhook.New([]byte(secret.Reveal()), r, reg), nil
}

// housekeep drops, every hour, live state that only the history needs to
// keep: threads of resolved episodes and episodes closed over a day ago.
func housekeep(ctx context.Context, st *state.Store, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		threads, err := st.DeleteResolvedThreads()
		if err != nil {
			log.Error("state housekeeping failed", "error", err.Error())
			continue
		}
		episodes, err := st.DeleteClosedEpisodes(time.Now().Add(-24 * time.Hour))
		if err != nil {
			log.Error("state housekeeping failed", "error", err.Error())
			continue
		}
		if threads+episodes > 0 {
			log.Debug("state housekeeping", "threads", threads, "episodes", episodes)
		}
	}
}
