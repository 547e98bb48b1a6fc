package main

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// daemon is what the HTTP surface reads. The config and the reconciler
// built from it are one generation, replaced as a whole when the config is
// reloaded; the history, live state and metrics outlive reloads.
type daemon struct {
	cur atomic.Pointer[generation]
	st  *state.Store
	h   history.Store
	reg *prometheus.Registry
	// webhook serves POST /hooks/git (see addWebhooks).
	webhook http.Handler
	// ready is set once every target has finished a first reconcile; a
	// reload (whose reconciler starts with every target pending) keeps it.
	ready atomic.Bool
}

// generation is what one config makes of the daemon.
type generation struct {
	cfg *config.Config
	r   *reconciler.Reconciler
}

func newDaemon(cfg *config.Config, r *reconciler.Reconciler, st *state.Store, h history.Store, reg *prometheus.Registry) *daemon {
	d := &daemon{st: st, h: h, reg: reg}
	d.cur.Store(&generation{cfg: cfg, r: r})
	return d
}

// gen is the generation serving now.
func (d *daemon) gen() *generation { return d.cur.Load() }

// TriggerPush and TriggerPullRequest hand a webhook to the reconciler
// serving now (webhook.Pusher, webhook.PullRequester).
func (d *daemon) TriggerPush(repoURLs []string, ref string) []string {
	return d.gen().r.TriggerPush(repoURLs, ref)
}

func (d *daemon) TriggerPullRequest(repoURLs []string, number int, head string) []string {
	return d.gen().r.TriggerPullRequest(repoURLs, number, head)
}

// tenantOf names the tenant owning target, "" when none does.
func (d *daemon) tenantOf(target string) string {
	if t := d.gen().cfg.TenantOf(target); t != nil {
		return t.Name
	}
	return ""
}

// routeAccess says who may reach a route. The zero value needs a user:
// a route added without a thought is closed.
type routeAccess int

const (
	needsUser routeAccess = iota
	// openProbe: liveness and readiness probes, which carry no data.
	openProbe
	// openSigned: webhooks, which prove themselves with their HMAC
	// signature instead of a user.
	openSigned
	// openLogin: the browser login flow itself (/auth/...).
	openLogin
)

// route is one pattern of a listener's mux.
type route struct {
	pattern string
	access  routeAccess
	handler http.Handler
}

// mainRoutes are the routes of server.listen. The webhook and /metrics
// are there only when they have no listener of their own.
func (d *daemon) mainRoutes() []route {
	rs := []route{
		{pattern: "GET /healthz", access: openProbe, handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })},
		{pattern: "GET /readyz", access: openProbe, handler: readyz(d)},
		{pattern: "GET /{$}", handler: indexHandler(d)},
		{pattern: "GET /targets/{name}", handler: targetHandler(d)},
		{pattern: "GET /episodes/{id...}", handler: episodeHandler(d)},
		{pattern: "GET /history", handler: historyHandler(d)},
		{pattern: "GET /history/{seq}", handler: recordHandler(d)},
		{pattern: "GET /api/v1/targets", handler: apiTargets(d)},
		{pattern: "GET /api/v1/episodes", handler: apiEpisodes(d)},
		{pattern: "GET /api/v1/history", handler: apiHistory(d)},
	}
	rs = append(rs, d.actionRoutes()...)
	if d.gen().cfg.Server.MetricsListen == "" {
		// Behind the gate: any user with a role may read it.
		rs = append(rs, route{pattern: "GET /metrics", handler: d.metrics()})
	}
	if d.gen().cfg.Server.WebhookListen == "" {
		rs = append(rs, route{pattern: "POST /hooks/git", access: openSigned, handler: d.webhook})
	}
	return rs
}

func (d *daemon) metrics() http.Handler { return promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{}) }

// serverMux is a listener's mux that remembers its routes, so the gate
// knows which are open and a test can enumerate every one.
type serverMux struct {
	mux     *http.ServeMux
	routes  []route
	handler http.Handler
}

// newServerMux is the main listener's mux: every route but the open ones
// behind the gate.
func newServerMux(d *daemon, gate *auth.Gate, extra ...route) *serverMux {
	m := &serverMux{mux: http.NewServeMux()}
	for _, rt := range append(d.mainRoutes(), extra...) {
		m.add(rt)
	}
	g := *gate
	g.Open = m.open
	m.handler = g.Wrap(m.mux)
	return m
}

func (m *serverMux) add(rt route) {
	m.mux.Handle(rt.pattern, rt.handler)
	m.routes = append(m.routes, rt)
}

// open reports whether r goes to an open route. Requests that match no
// route (404, 405) need a user too.
func (m *serverMux) open(r *http.Request) bool {
	_, pattern := m.mux.Handler(r)
	for _, rt := range m.routes {
		if rt.pattern == pattern {
			return rt.access != needsUser
		}
	}
	return false
}

func (m *serverMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.handler.ServeHTTP(w, r)
}

// singleRoute is the mux of a listener of its own (webhookListen,
// metricsListen): that route only, without a user.
func singleRoute(pattern string, h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(pattern, h)
	return mux
}

// allow answers 403 with the reason, and false, when the request's user
// may not do v on target; decision.Masked says to mask its values.
func (d *daemon) allow(w http.ResponseWriter, r *http.Request, v auth.Verb, target string) (auth.Decision, bool) {
	dec := auth.FromContext(r.Context()).Allow(v, d.tenantOf(target))
	if !dec.Allowed {
		http.Error(w, "forbidden: target "+target+": "+dec.Reason, http.StatusForbidden)
	}
	return dec, dec.Allowed
}
