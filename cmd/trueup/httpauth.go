package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// newAuthGate builds the main listener's gate from server.auth. Without
// server.auth a listener that others can reach is refused: configure
// server.auth, or say mode: none to accept an open listener. On loopback
// it stays open, with a warning (make demo, local use).
//
// It also returns the routes the login flow adds to the main listener.
func newAuthGate(ctx context.Context, cfg *config.Config, listen string, log *slog.Logger) (*auth.Gate, []route, error) {
	a := cfg.Server.Auth
	switch {
	case a == nil && !config.IsLoopbackListen(listen):
		return nil, nil, &exitCodeError{code: exitError, err: fmt.Errorf("server.listen %s is not a loopback address and server.auth is not set: "+
			"anyone who reaches it would read every target's drift and history. Configure server.auth (tokenReview and roles), "+
			"or set server.auth.mode: none to accept an open listener (or listen on 127.0.0.1)", listen)}
	case a == nil:
		log.Warn("server.auth is not set: pages and API are open to anyone on this machine", "address", listen)
		return &auth.Gate{}, nil, nil
	case a.Mode == config.AuthNone:
		log.Warn("server.auth.mode is none: pages and API are open to anyone who reaches the listener", "address", listen)
		return &auth.Gate{}, nil, nil
	}
	g := &auth.Gate{Policy: auth.NewPolicy(a.Roles), Hint: authHint(a),
		OnError: func(r *http.Request, err error) {
			log.Error("credentials cannot be checked", "path", r.URL.Path, "error", err.Error())
		}}
	var (
		chain auth.Chain
		extra []route
	)
	if tr := a.TokenReview; tr != nil {
		rv, err := newTokenReview(cfg, tr)
		if err != nil {
			return nil, nil, &exitCodeError{code: exitError, err: err}
		}
		chain = append(chain, rv)
	}
	if a.OIDC != nil {
		o, err := auth.OIDCOptionsFromConfig(cfg.Server)
		if err != nil {
			return nil, nil, &exitCodeError{code: exitError, err: err}
		}
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
		login, err := auth.NewOIDC(ctx, o)
		if err != nil {
			return nil, nil, &exitCodeError{code: exitError, err: fmt.Errorf("server.auth.oidc: %w (check issuerURL and that the provider is reachable)", err)}
		}
		chain = append(chain, login)
		extra = append(extra, loginRoutes(login)...)
		g.LoginPath = auth.LoginPath
	}
	g.Authenticator = chain
	return g, extra, nil
}

// loginRoutes are the browser login flow's routes, open on the main
// listener (they are how a user gets a session).
func loginRoutes(login *auth.OIDC) []route {
	mux := http.NewServeMux()
	login.Register(mux)
	var out []route
	for _, p := range []string{"GET " + auth.LoginPath, "GET " + auth.CallbackPath, "POST " + auth.LogoutPath} {
		out = append(out, route{pattern: p, access: openLogin, handler: mux})
	}
	return out
}

// newTokenReview checks bearer tokens with the TokenReview API of the
// named cluster, as the daemon's own identity there.
func newTokenReview(cfg *config.Config, tr *config.TokenReview) (*auth.TokenReview, error) {
	for i, c := range cfg.Clusters {
		if c.Name != tr.Cluster {
			continue
		}
		rc, err := restConfig(fmt.Sprintf("clusters[%d]", i), c)
		if err != nil {
			return nil, fmt.Errorf("server.auth.tokenReview: %w", err)
		}
		rc.UserAgent = "trueup/" + version
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("server.auth.tokenReview: cluster %q: %w", c.Name, err)
		}
		o := auth.DefaultTokenReviewOptions()
		o.Audiences = tr.Audiences
		return auth.NewTokenReview(c.Name, cs.AuthenticationV1().TokenReviews(), o), nil
	}
	return nil, fmt.Errorf("server.auth.tokenReview.cluster: unknown cluster %q: name one of clusters[]", tr.Cluster)
}

// authHint says, in a 401, how to authenticate.
func authHint(a *config.ServerAuth) string {
	var ways []string
	if tr := a.TokenReview; tr != nil {
		ways = append(ways, fmt.Sprintf("send a bearer token that cluster %q accepts, e.g. for a ServiceAccount: "+
			"TOKEN=$(kubectl create token NAME -n NAMESPACE) and curl -H \"Authorization: Bearer $TOKEN\" ...", tr.Cluster))
	}
	if a.OIDC != nil {
		ways = append(ways, "in a browser, log in at /auth/login")
	}
	if len(ways) == 0 {
		return "no way to log in is configured (server.auth.tokenReview or server.auth.oidc)"
	}
	return strings.Join(ways, "; or ")
}
