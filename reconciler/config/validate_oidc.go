package config

import (
	"net/url"
	"strings"
)

// oidcCallbackPath is where trueup serves the provider's redirect back
// (reconciler/auth.CallbackPath; config does not import auth).
const oidcCallbackPath = "/auth/callback"

// validateOIDC checks server.auth.oidc: the browser login.
func validateOIDC(e *errs, p string, s *Server) {
	if s.Auth == nil || s.Auth.OIDC == nil {
		return
	}
	o := s.Auth.OIDC
	if o.IssuerURL == "" {
		e.add(field(p, "issuerURL"), "required: the provider's issuer URL, as its /.well-known/openid-configuration names it")
	} else {
		oidcURL(e, field(p, "issuerURL"), o.IssuerURL)
	}
	if strings.TrimSpace(o.ClientID) == "" {
		e.add(field(p, "clientID"), "required: the client ID registered with the provider for trueup")
	}
	secretRef(e, field(p, "clientSecretFrom"), o.ClientSecretFrom)
	switch {
	case o.RedirectURL != "":
		if oidcURL(e, field(p, "redirectURL"), o.RedirectURL) && !strings.HasSuffix(mustPath(o.RedirectURL), oidcCallbackPath) {
			e.add(field(p, "redirectURL"), "the path must end in %s, where trueup serves the login callback", oidcCallbackPath)
		}
	case s.PublicURL == "":
		e.add(field(p, "redirectURL"), "required when server.publicURL is not set: this server's URL ending in %s, as registered with the provider", oidcCallbackPath)
	}
	for i, sc := range o.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\n") {
			e.add(index(field(p, "scopes"), i), "%q is not a scope: one word per entry", truncate(sc, 40))
		}
	}
	for _, c := range []struct{ name, v string }{{"usernameClaim", o.UsernameClaim}, {"groupsClaim", o.GroupsClaim}} {
		if c.v != "" && strings.TrimSpace(c.v) != c.v {
			e.add(field(p, c.name), "%q has surrounding spaces", truncate(c.v, 40))
		}
	}
}

// oidcURL checks an absolute URL of the login: https, or http on a
// loopback host (a test provider). It reports whether the URL is usable.
func oidcURL(e *errs, p, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.add(p, "want an absolute https URL, got %q", truncate(raw, 80))
		return false
	}
	if u.User != nil {
		e.add(p, "credentials in the URL are not allowed: use clientSecretFrom")
		return false
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		e.add(p, "%q is plain http: use https (http only for a provider on 127.0.0.1 or localhost)", truncate(raw, 80))
		return false
	}
	return true
}

func mustPath(raw string) string {
	u, _ := url.Parse(raw)
	return u.Path
}
