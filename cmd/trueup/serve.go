package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/reconciler/webhook"
)

type serveOptions struct {
	listen    string
	logFormat string
	logLevel  string
	noWatch   bool
}

func newServeCommand(opts *globalOptions) *cobra.Command {
	so := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: reconcile every target at its interval and on every change",
		Long: `Run trueup as a daemon. Every target is reconciled at its interval (with
jitter, backing off on errors), and watches on the managed objects detect a
'kubectl edit' within a second or two. SIGINT/SIGTERM stop it gracefully:
in-flight applies get 30s to finish.

HTTP endpoints: /healthz, /readyz, /metrics, /api/v1/targets.`,
		Example: "  trueup serve -c trueup.yaml\n  trueup serve -c trueup.yaml --log-format json --listen :8080",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), cmd, opts, so)
		},
	}
	cmd.Flags().StringVar(&so.listen, "listen", "", "HTTP listen address (default: server.listen from the config)")
	cmd.Flags().StringVar(&so.logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&so.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().BoolVar(&so.noWatch, "no-watch", false, "disable watches: find drift at the interval only")
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rec, h, st, err := recording(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	go retain(ctx, h, cfg.History.Retention.Duration, log)
	go housekeep(ctx, st, log)
	notifiers, router, err := newNotifiers(cfg, log)
	if err != nil {
		return err
	}
	// r is set before the dispatcher runs; deliveries are recorded in its history.
	var r *reconciler.Reconciler
	dispatcher, err := notifications.NewDispatcher(notifiers, notifications.Options{
		Router: router, Threads: reconciler.NewThreads(st),
		OnResult: func(d notifications.Delivery) { r.RecordDelivery(ctx, d) },
	})
	if err != nil {
		return &exitCodeError{code: exitError, err: err}
	}
	r, err = newReconciler(cfg, targets, append(rec, reconciler.WithLogger(log), reconciler.WithMetrics(reconciler.NewMetrics(reg)),
		reconciler.WithPublisher(dispatcher))...)
	if err != nil {
		return err
	}
	dispatched := make(chan error, 1)
	go func() { dispatched <- dispatcher.Run(ctx) }()
	listen := cfg.Server.Listen
	if so.listen != "" {
		listen = so.listen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("listen %s: %w (pick another address with --listen)", listen, err)}
	}
	mux := newServerMux(r, st, reg)
	if err := addWebhooks(mux, cfg, r, reg); err != nil {
		return err
	}
	// ReadTimeout bounds a slow webhook body as well as everything else.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("trueup started", "version", version, "listen", ln.Addr().String(), "targets", len(targets))

	ro := reconciler.DefaultRunOptions()
	ro.Watch = !so.noWatch
	err = r.Run(ctx, ro)
	if cerr := r.Close(); cerr != nil {
		log.Error("history records not spilled", "error", cerr.Error())
	}

	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	dispatcher.Close() // delivers what is queued, within its drain timeout
	<-dispatched
	log.Info("trueup stopped")
	return err
}

func newServerMux(r *reconciler.Reconciler, st *state.Store, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /targets/{name}", targetHandler(r, st))
	mux.HandleFunc("GET /episodes/{id...}", episodeHandler(st))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", readyz(r))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/v1/targets", func(w http.ResponseWriter, _ *http.Request) {
		type status struct {
			*reconciler.Outcome
			Error string `json:"error,omitempty"`
		}
		var out []status
		for _, o := range r.Status() {
			out = append(out, status{Outcome: o, Error: o.Error()})
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(out); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
			return
		}
	})
	return mux
}

// readyz answers 503, naming the targets, until every target has finished
// a first reconcile (or reported why it could not), then 200.
func readyz(r *reconciler.Reconciler) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if pending := r.Pending(); len(pending) > 0 {
			http.Error(w, fmt.Sprintf("not ready: %d target(s) have not finished a first reconcile: %s", len(pending), strings.Join(pending, ", ")),
				http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}
}

// addWebhooks serves POST /hooks/git (Gitea and GitHub push events) when
// server.webhookSecretFrom is set; without a secret the path answers 404
// with what to configure, since unsigned hooks are never accepted.
func addWebhooks(mux *http.ServeMux, cfg *config.Config, r *reconciler.Reconciler, reg *prometheus.Registry) error {
	ref := cfg.Server.WebhookSecretFrom
	if ref == nil {
		mux.HandleFunc("POST /hooks/git", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "webhooks are off: set server.webhookSecretFrom in the config", http.StatusNotFound)
		})
		return nil
	}
	secret, err := ref.Resolve()
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("server.webhookSecretFrom: %w", err)}
	}
	mux.Handle("POST /hooks/git", webhook.New([]byte(secret.Reveal()), r, reg))
	return nil
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
