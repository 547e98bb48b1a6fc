package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Gate requires a user with a role on every request but the open ones,
// and hands the handlers that user's Access (FromContext).
//
//   - no credentials: 401 with WWW-Authenticate: Bearer and how to get a
//     token (a browser asking for a page is sent to LoginPath instead,
//     when set);
//   - bad credentials: 401;
//   - credentials that cannot be checked now: 503, never anonymous;
//   - a user with no role at all: 403 naming what to add.
//
// Which target a user may see is each handler's question (Access.Allow).
type Gate struct {
	// Authenticator finds the user; nil turns authentication off: every
	// request gets Unrestricted access.
	Authenticator Authenticator
	Policy        *Policy
	// Open reports whether a request needs no user (probes, login,
	// signed webhooks).
	Open func(*http.Request) bool
	// LoginPath, when set, is where a browser asking for a page without
	// credentials is redirected, with ?next=<the page>.
	LoginPath string
	// Hint tells, in a 401's body, how to get credentials.
	Hint string
	// OnError is told why credentials could not be checked (for the log;
	// the error never holds a credential).
	OnError func(r *http.Request, err error)
}

type accessKey struct{}

// WithAccess returns ctx carrying a.
func WithAccess(ctx context.Context, a *Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// FromContext returns the Access the Gate put in ctx. Without one (a
// handler reached around the Gate) it is an Access with no role, which is
// allowed nothing.
func FromContext(ctx context.Context) *Access {
	if a, ok := ctx.Value(accessKey{}).(*Access); ok {
		return a
	}
	return &Access{}
}

// Wrap puts the gate in front of next.
func (g *Gate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Open != nil && g.Open(r) {
			next.ServeHTTP(w, r)
			return
		}
		if g.Authenticator == nil {
			next.ServeHTTP(w, r.WithContext(WithAccess(r.Context(), Unrestricted())))
			return
		}
		u, ok, err := g.Authenticator.Authenticate(r)
		switch {
		case errors.Is(err, ErrUnavailable):
			if g.OnError != nil {
				g.OnError(r, err)
			}
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		case err != nil && g.LoginPath != "" && wantsPage(r) && (errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrSessionInvalid)):
			http.Redirect(w, r, g.LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		case err != nil:
			g.unauthorized(w, `Bearer realm="trueup", error="invalid_token"`, err.Error()+": "+g.Hint)
			return
		case !ok:
			if g.LoginPath != "" && wantsPage(r) {
				http.Redirect(w, r, g.LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			g.unauthorized(w, `Bearer realm="trueup"`, "authentication required: "+g.Hint)
			return
		}
		a := g.Policy.Access(u)
		if !a.Any() {
			http.Error(w, fmt.Sprintf("forbidden: %s: add them (or one of their groups) to server.auth.roles", a.who()), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithAccess(r.Context(), a)))
	})
}

func (g *Gate) unauthorized(w http.ResponseWriter, challenge, msg string) {
	w.Header().Set("WWW-Authenticate", challenge)
	http.Error(w, msg, http.StatusUnauthorized)
}

// wantsPage reports whether r is a browser asking for a page.
func wantsPage(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}
