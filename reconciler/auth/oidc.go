package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Routes and cookies of the browser login.
const (
	LoginPath    = "/auth/login"
	CallbackPath = "/auth/callback"
	LogoutPath   = "/auth/logout"

	// SessionCookie holds the signed session; LoginCookie the state of a
	// login in progress (ten minutes).
	SessionCookie = "trueup_session"
	LoginCookie   = "trueup_login"
)

// Defaults of OIDCOptions.
const (
	DefaultUsernameClaim = "email"
	DefaultGroupsClaim   = "groups"
	DefaultSessionTTL    = 8 * time.Hour
)

// DefaultScopes are asked for when OIDCOptions.Scopes is empty. "groups" is
// the scope Dex (and Okta) need to put the groups claim in the ID token.
var DefaultScopes = []string{oidc.ScopeOpenID, "email", "profile", "groups"}

const (
	// loginTTL bounds the time between /auth/login and /auth/callback.
	loginTTL = 10 * time.Minute
	// providerTimeout bounds one call to the provider (discovery, code
	// exchange, keys).
	providerTimeout = 30 * time.Second
	// maxCookieBytes keeps a session cookie under browsers' 4 KiB limit.
	maxCookieBytes = 3800
	// minSessionKey is the shortest session key accepted.
	minSessionKey = 32
)

// OIDCOptions configure a browser login with an OpenID Connect provider.
type OIDCOptions struct {
	// IssuerURL is the provider's issuer; its discovery document is read at
	// /.well-known/openid-configuration below it.
	IssuerURL string
	// ClientID and ClientSecret identify trueup to the provider. The ID
	// token's audience must contain ClientID.
	ClientID     string
	ClientSecret string
	// RedirectURL is where the provider sends the browser back: this
	// server's public URL ending in /auth/callback. When it is https, the
	// cookies are Secure.
	RedirectURL string
	// UsernameClaim (default "email") names the user; GroupsClaim
	// (default "groups") lists their groups (a string array or a string).
	UsernameClaim string
	GroupsClaim   string
	// Scopes asked for; default DefaultScopes. openid is always added.
	Scopes []string
	// SessionKey signs the cookies (32 bytes or more); random when empty, so
	// sessions end when the process does.
	SessionKey []byte
	// SessionTTL is how long a session lasts; default 8h. A session never
	// outlives it, whatever the ID token's expiry.
	SessionTTL time.Duration
	// HTTPClient calls the provider (discovery, keys, code exchange);
	// default: a client with a 30 s timeout.
	HTTPClient *http.Client
}

// OIDC logs browsers in with an OpenID Connect provider (authorization code
// flow with PKCE, state and nonce) and authenticates their requests by a
// signed session cookie that holds the user name, groups and expiry (never
// a token of the provider).
type OIDC struct {
	oauth         oauth2.Config
	verifier      *oidc.IDTokenVerifier
	client        *http.Client
	cookies       signer
	usernameClaim string
	groupsClaim   string
	ttl           time.Duration
	secure        bool
	now           func() time.Time
}

var _ Authenticator = (*OIDC)(nil)

// NewOIDC reads the provider's discovery document and returns a login for
// it. ctx bounds the discovery only.
func NewOIDC(ctx context.Context, o OIDCOptions) (*OIDC, error) {
	o, secure, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, o.HTTPClient)
	dctx, cancel := context.WithTimeout(ctx, providerTimeout)
	defer cancel()
	provider, err := oidc.NewProvider(dctx, o.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover issuer %s: %w: check issuerURL and that the provider is reachable from trueup", o.IssuerURL, err)
	}
	return &OIDC{
		oauth: oauth2.Config{
			ClientID:     o.ClientID,
			ClientSecret: o.ClientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  o.RedirectURL,
			Scopes:       o.Scopes,
		},
		verifier:      provider.Verifier(&oidc.Config{ClientID: o.ClientID}),
		client:        o.HTTPClient,
		cookies:       signer{key: o.SessionKey},
		usernameClaim: o.UsernameClaim,
		groupsClaim:   o.GroupsClaim,
		ttl:           o.SessionTTL,
		secure:        secure,
		now:           time.Now,
	}, nil
}

// withDefaults checks o and fills its defaults; secure is whether the
// redirect URL is https.
func (o OIDCOptions) withDefaults() (_ OIDCOptions, secure bool, _ error) {
	if o.IssuerURL == "" || o.ClientID == "" || o.RedirectURL == "" {
		return o, false, errors.New("oidc: issuerURL, clientID and redirectURL are required")
	}
	u, err := url.Parse(o.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return o, false, fmt.Errorf("oidc: redirectURL %q: want an absolute http(s) URL ending in %s", o.RedirectURL, CallbackPath)
	}
	if !strings.HasSuffix(u.Path, CallbackPath) {
		return o, false, fmt.Errorf("oidc: redirectURL %q: the path must end in %s (where trueup serves the callback)", o.RedirectURL, CallbackPath)
	}
	if o.UsernameClaim == "" {
		o.UsernameClaim = DefaultUsernameClaim
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = DefaultGroupsClaim
	}
	if len(o.Scopes) == 0 {
		o.Scopes = DefaultScopes
	}
	if !slices.Contains(o.Scopes, oidc.ScopeOpenID) {
		o.Scopes = append([]string{oidc.ScopeOpenID}, o.Scopes...)
	}
	o.Scopes = slices.Clone(o.Scopes)
	switch {
	case len(o.SessionKey) == 0:
		o.SessionKey = make([]byte, minSessionKey)
		_, _ = rand.Read(o.SessionKey) // crypto/rand never fails on Linux
	case len(o.SessionKey) < minSessionKey:
		return o, false, fmt.Errorf("oidc: session key has %d bytes: want %d or more", len(o.SessionKey), minSessionKey)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: providerTimeout}
	}
	return o, u.Scheme == "https", nil
}

// Register serves the login routes on mux: GET /auth/login?next=/path,
// GET /auth/callback and POST /auth/logout. They need no user: the
// middleware in front of the rest of the mux must let them through.
func (a *OIDC) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+LoginPath, a.login)
	mux.HandleFunc("GET "+CallbackPath, a.callback)
	mux.HandleFunc("POST "+LogoutPath, a.logout)
}

// LoginURL is the local URL that starts a login and comes back to next
// (a path on this server; anything else comes back to /).
func LoginURL(next string) string {
	if _, err := localPath(next); err != nil {
		next = "/"
	}
	return LoginPath + "?next=" + url.QueryEscape(next)
}

// RedirectToLogin answers a browser's request that has no valid session
// (none, expired or refused by Authenticate): it deletes the session
// cookie and sends the browser to the login, which comes back to the
// requested path. Use it for GET and HEAD requests of pages; API clients
// should get a 401.
func (a *OIDC) RedirectToLogin(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, a.cookie(SessionCookie, "", "/", -1))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, LoginURL(r.URL.RequestURI()), http.StatusFound)
}

// Authenticate reads the session cookie: no cookie is ok=false; a cookie
// that is tampered with, signed with another key or expired is an error
// (wrapping ErrSessionInvalid or ErrSessionExpired).
func (a *OIDC) Authenticate(r *http.Request) (User, bool, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return User{}, false, nil
	}
	var s session
	if err := a.cookies.decode(purposeSession, c.Value, a.now(), &s); err != nil {
		return User{}, false, fmt.Errorf("oidc: %w", err)
	}
	if s.User == "" {
		return User{}, false, fmt.Errorf("oidc: session cookie names no user: %w", ErrSessionInvalid)
	}
	return User{Name: s.User, Groups: s.Groups}, true, nil
}

// login starts the authorization code flow: it keeps state, nonce, PKCE
// verifier and next in a signed cookie and sends the browser to the
// provider.
func (a *OIDC) login(w http.ResponseWriter, r *http.Request) {
	next, err := localPath(r.URL.Query().Get("next"))
	if err != nil {
		loginError(w, http.StatusBadRequest, err.Error())
		return
	}
	ls := loginState{
		State:    randomString(),
		Nonce:    randomString(),
		Verifier: oauth2.GenerateVerifier(),
		Next:     next,
		Expires:  a.now().Add(loginTTL).Unix(),
	}
	value, err := a.cookies.encode(purposeLogin, ls)
	if err != nil {
		loginError(w, http.StatusInternalServerError, err.Error())
		return
	}
	http.SetCookie(w, a.cookie(LoginCookie, value, "/", loginTTL))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.oauth.AuthCodeURL(ls.State, oidc.Nonce(ls.Nonce), oauth2.S256ChallengeOption(ls.Verifier)), http.StatusFound)
}

// callback finishes the flow: it checks the state, exchanges the code
// (with the PKCE verifier), verifies the ID token (signature, issuer,
// audience, expiry, nonce), reads the user's name and groups and starts the
// session.
func (a *OIDC) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ls, status, err := a.loginState(r)
	if err != nil {
		loginError(w, status, err.Error())
		return
	}
	// The login cookie is used once, whatever happens next.
	http.SetCookie(w, a.cookie(LoginCookie, "", "/", -1))
	u, status, err := a.exchange(r.Context(), r.URL.Query().Get("code"), ls)
	if err != nil {
		loginError(w, status, err.Error())
		return
	}
	value, err := a.cookies.encode(purposeSession, session{User: u.Name, Groups: u.Groups, Expires: a.now().Add(a.ttl).Unix()})
	if err == nil && len(SessionCookie)+len(value) > maxCookieBytes {
		err = fmt.Errorf("the session of %s is too large for a cookie (%d groups): set groupsClaim to a claim with fewer groups", u.Name, len(u.Groups))
	}
	if err != nil {
		loginError(w, http.StatusInternalServerError, "login: "+err.Error())
		return
	}
	http.SetCookie(w, a.cookie(SessionCookie, value, "/", a.ttl))
	http.Redirect(w, r, ls.Next, http.StatusSeeOther)
}

// loginState checks the callback's request against the login cookie: the
// provider's error, the cookie and the state.
func (a *OIDC) loginState(r *http.Request) (loginState, int, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return loginState{}, http.StatusUnauthorized, fmt.Errorf("login refused by the provider: %s: %s", e, q.Get("error_description"))
	}
	var ls loginState
	c, err := r.Cookie(LoginCookie)
	if err != nil {
		return ls, http.StatusBadRequest, errors.New("login: no login in progress in this browser (cookies off, or more than ten minutes passed): start again at " + LoginPath)
	}
	if err := a.cookies.decode(purposeLogin, c.Value, a.now(), &ls); err != nil {
		return ls, http.StatusBadRequest, fmt.Errorf("login: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(ls.State)) != 1 {
		return ls, http.StatusBadRequest, errors.New("login: the state does not match this browser's login (another login was started since): start again at " + LoginPath)
	}
	return ls, 0, nil
}

// exchange redeems code and returns the user of its verified ID token. Its
// errors carry neither the code nor any token nor the client secret.
func (a *OIDC) exchange(ctx context.Context, code string, ls loginState) (User, int, error) {
	if code == "" {
		return User{}, http.StatusBadRequest, errors.New("login: the provider sent no code")
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, a.client), providerTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, a.client)
	tok, err := a.oauth.Exchange(ctx, code, oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		return User{}, http.StatusBadGateway, exchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return User{}, http.StatusBadGateway, errors.New("login: the provider's token response has no id_token: check that the openid scope is allowed for this client")
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		return User{}, http.StatusUnauthorized, fmt.Errorf("login: ID token refused: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ls.Nonce)) != 1 {
		return User{}, http.StatusUnauthorized, errors.New("login: ID token refused: its nonce is not this login's: start again at " + LoginPath)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return User{}, http.StatusBadGateway, fmt.Errorf("login: ID token claims: %w", err)
	}
	u, err := a.user(claims)
	if err != nil {
		return User{}, http.StatusUnauthorized, err
	}
	return u, 0, nil
}

// exchangeError describes a failed code exchange by the provider's error
// code only: its response body is not repeated.
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("login: the provider refused the code exchange (HTTP %d, %s): check clientID and the client secret, and that redirectURL is registered for the client", status, code)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("login: the provider's token endpoint did not answer: %v", ue.Err)
	}
	return errors.New("login: the code exchange failed")
}

// user reads the user's name and groups from the ID token's claims.
func (a *OIDC) user(claims map[string]any) (User, error) {
	name, _ := claims[a.usernameClaim].(string)
	if name == "" {
		return User{}, fmt.Errorf("login: the ID token has no %q claim (a non-empty string): ask for the scope that adds it, or set usernameClaim", a.usernameClaim)
	}
	// An unverified address names nobody (as the Kubernetes API server
	// decides for its email claim).
	if a.usernameClaim == "email" {
		if v, ok := claims["email_verified"].(bool); ok && !v {
			return User{}, fmt.Errorf("login: the provider has not verified the email address %s", name)
		}
	}
	var groups []string
	switch g := claims[a.groupsClaim].(type) {
	case string:
		groups = []string{g}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok && s != "" {
				groups = append(groups, s)
			}
		}
	}
	return User{Name: name, Groups: groups}, nil
}

// logout ends the session in this browser. A cross-site form cannot log a
// user out: a request with another origin is refused.
func (a *OIDC) logout(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			loginError(w, http.StatusForbidden, "logout: refused a request from another site ("+o+")")
			return
		}
	}
	http.SetCookie(w, a.cookie(SessionCookie, "", "/", -1))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Logged out · trueup</title><h1 id=\"logged-out\">Logged out</h1><p>Your trueup session has ended in this browser. <a href=%q>Log in again</a>.</p>\n", LoginURL("/"))
}

// cookie makes a cookie of the login: HttpOnly, SameSite=Lax (the
// provider's redirect back is a top-level GET from another site), Secure
// when the redirect URL is https. ttl < 0 deletes it.
func (a *OIDC) cookie(name, value, path string, ttl time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		HttpOnly: true,
		Secure:   a.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if ttl < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(ttl / time.Second)
		c.Expires = a.now().Add(ttl)
	}
	return c
}

// localPath returns next when it is a path on this server, "/" when it is
// empty, and an error for anything a browser could take to another site
// (an absolute URL, //host, /\host, a scheme, control characters).
func localPath(next string) (string, error) {
	if next == "" {
		return "/", nil
	}
	refuse := fmt.Errorf("login: next=%q is not a path on this server: use a path such as /targets", next)
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", refuse
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "", refuse
	}
	return next, nil
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginError answers a failed login step with a short page; msg never holds
// a token or the client secret.
func loginError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>Login failed · trueup</title><h1>Login failed</h1><p>%s</p><p><a href=%q>Start again</a></p>\n", html.EscapeString(msg), LoginURL("/"))
}
