package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// generationRun is one config's reconciler and notification dispatcher,
// running until the next config replaces it or the daemon stops.
type generationRun struct {
	r          *reconciler.Reconciler
	dispatcher *notifications.Dispatcher
	dispatched chan error
	cancel     context.CancelFunc
	done       chan struct{}
	err        error
}

// startGeneration builds (does not start) the reconciler and dispatcher of
// cfg. Nothing runs and nothing is written until start.
func startGeneration(ctx context.Context, cfg *config.Config, targets []*config.Target, st *state.Store, opts []reconciler.Option, log *slog.Logger) (*generationRun, error) {
	notifiers, router, err := newNotifiers(cfg, log)
	if err != nil {
		return nil, err
	}
	g := &generationRun{}
	// g.r is set before the dispatcher runs; deliveries are recorded in its history.
	dispatcher, err := notifications.NewDispatcher(notifiers, notifications.Options{
		Router: router, Threads: reconciler.NewThreads(st),
		OnResult: func(d notifications.Delivery) { g.r.RecordDelivery(ctx, d) },
	})
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: err}
	}
	g.dispatcher = dispatcher
	g.r, err = newReconciler(cfg, targets, append(opts, reconciler.WithPublisher(dispatcher))...)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// start runs the dispatcher and the reconciler until stop or ctx ends.
func (g *generationRun) start(ctx context.Context, ro reconciler.RunOptions) {
	g.dispatched = make(chan error, 1)
	go func() { g.dispatched <- g.dispatcher.Run(ctx) }()
	run, cancel := context.WithCancel(ctx)
	g.cancel, g.done = cancel, make(chan struct{})
	go func() {
		defer close(g.done)
		g.err = g.r.Run(run, ro)
	}()
}

// stop ends the reconciler's loops, waits for the reconciles in flight
// (each has the shutdown grace to finish its apply), delivers the queued
// notifications and writes the last records. A generation never started
// only has its reconciler closed.
func (g *generationRun) stop(log *slog.Logger) {
	if g.done != nil {
		g.cancel()
		<-g.done
		g.dispatcher.Close() // delivers what is queued, within its drain timeout
		<-g.dispatched
	}
	if err := g.r.Close(); err != nil {
		log.Error("history records not spilled", "error", err.Error())
	}
}

// watchConfig sends the config file's new contents, validated, when the
// daemon gets SIGHUP or the file changes (read every poll; a ConfigMap
// volume's atomic symlink swap is a change like any other). An invalid
// file is logged, with every problem and its field path, and not sent: the
// daemon keeps the config it runs. The channel closes when ctx ends.
func watchConfig(ctx context.Context, path string, running *config.Config, poll time.Duration, m *reloadMetrics, log *slog.Logger) <-chan *config.Config {
	out := make(chan *config.Config)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer close(out)
		defer signal.Stop(hup)
		var tick <-chan time.Time
		if poll > 0 {
			t := time.NewTicker(poll)
			defer t.Stop()
			tick = t.C
		}
		last := fileDigest(path)
		for {
			why := "file changed"
			select {
			case <-ctx.Done():
				return
			case <-hup:
				why = "SIGHUP"
			case <-tick:
			}
			digest := fileDigest(path)
			if why != "SIGHUP" && bytes.Equal(digest, last) {
				continue
			}
			last = digest
			cfg, err := config.Load(path)
			if err != nil {
				m.observe(false)
				log.Error("config reload refused; still running the previous config (run 'trueup validate -c "+path+"')",
					"reason", why, "path", path, "error", err.Error())
				continue
			}
			for _, f := range restartOnly(running, cfg) {
				log.Warn("config change needs a restart to take effect; the rest is reloaded", "field", f)
			}
			select {
			case out <- cfg:
				running = cfg
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// restartOnly names the changed sections a reload does not apply: the
// listeners, authentication and the history store are opened once.
func restartOnly(old, next *config.Config) []string {
	var out []string
	if !sameJSON(old.Server, next.Server) {
		out = append(out, "server")
	}
	if !sameJSON(old.History, next.History) {
		out = append(out, "history")
	}
	if old.DataDir != next.DataDir {
		out = append(out, "dataDir")
	}
	return out
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// fileDigest hashes the file's contents (nil when unreadable).
func fileDigest(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// reloadMetrics count config reloads, as Prometheus and Alertmanager do.
type reloadMetrics struct {
	total   *prometheus.CounterVec
	success prometheus.Gauge
	last    prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trueup_config_reloads_total", Help: "Config reloads by result (success, failure).",
		}, []string{"result"}),
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trueup_config_last_reload_successful", Help: "Whether the last config reload was applied (1) or refused (0).",
		}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trueup_config_last_reload_success_timestamp_seconds", Help: "When the config was last loaded.",
		}),
	}
	reg.MustRegister(m.total, m.success, m.last)
	m.success.Set(1)
	m.last.SetToCurrentTime()
	return m
}

func (m *reloadMetrics) observe(ok bool) {
	if !ok {
		m.total.WithLabelValues("failure").Inc()
		m.success.Set(0)
		return
	}
	m.total.WithLabelValues("success").Inc()
	m.success.Set(1)
	m.last.SetToCurrentTime()
}
