package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

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
	// OIDC login hook (for the lead): when a.OIDC != nil, build the OIDC
	// authenticator, put it in the chain, serve its routes open on the main
	// listener and send browsers asking for a page to its login:
	//
	//	o, err := auth.NewOIDC(ctx, auth.OIDCOptions{...from a.OIDC, a.SessionKeyFrom, cfg.Server.PublicURL})
	//	chain = append(chain, o)
	//	login := http.NewServeMux(); o.Register(login)
	//	extra = append(extra, route{pattern: "/auth/", access: openLogin, handler: login})
	//	g.LoginPath = "/auth/login"
	//
	// An unauthenticated GET with Accept: text/html is then redirected to
	// /auth/login?next=<path> (auth.Gate.LoginPath) instead of a 401.
	_ = ctx // for NewOIDC's discovery
	g.Authenticator = chain
	return g, extra, nil
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
