package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// OIDCOptionsFromConfig turns server.auth.oidc into OIDCOptions: it reads
// the client secret and the session key (server.auth.sessionKeyFrom) and
// defaults the redirect URL to server.publicURL + /auth/callback. The
// caller sets HTTPClient. Errors name the field, never a secret.
func OIDCOptionsFromConfig(s config.Server) (OIDCOptions, error) {
	if s.Auth == nil || s.Auth.OIDC == nil {
		return OIDCOptions{}, errors.New("server.auth.oidc: not set")
	}
	c := s.Auth.OIDC
	o := OIDCOptions{
		IssuerURL:     c.IssuerURL,
		ClientID:      c.ClientID,
		RedirectURL:   c.RedirectURL,
		UsernameClaim: c.UsernameClaim,
		GroupsClaim:   c.GroupsClaim,
		Scopes:        c.Scopes,
	}
	if o.RedirectURL == "" && s.PublicURL != "" {
		o.RedirectURL = strings.TrimSuffix(s.PublicURL, "/") + CallbackPath
	}
	if c.ClientSecretFrom != nil {
		secret, err := c.ClientSecretFrom.Resolve()
		if err != nil {
			return OIDCOptions{}, fmt.Errorf("server.auth.oidc.clientSecretFrom: %w", err)
		}
		o.ClientSecret = secret.Reveal()
	}
	if s.Auth.SessionKeyFrom != nil {
		key, err := s.Auth.SessionKeyFrom.Resolve()
		if err != nil {
			return OIDCOptions{}, fmt.Errorf("server.auth.sessionKeyFrom: %w", err)
		}
		if len(key.Reveal()) < minSessionKey {
			return OIDCOptions{}, fmt.Errorf("server.auth.sessionKeyFrom: the key has %d bytes, want %d or more (e.g. openssl rand -base64 48)", len(key.Reveal()), minSessionKey)
		}
		o.SessionKey = []byte(key.Reveal())
	}
	return o, nil
}
