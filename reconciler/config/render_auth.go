package config

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
)

// ChartAuth holds references to the credentials of a remote chart's
// repository (an HTTP chart repository or an OCI registry): basic auth
// (Username and PasswordFrom) or a bearer token (TokenFrom). The secrets are
// read when the chart is fetched, never stored in the config or a cache key.
type ChartAuth struct {
	Username     string     `json:"username,omitempty"`
	PasswordFrom *SecretRef `json:"passwordFrom,omitempty"`
	// TokenFrom is a bearer token (an HTTP repository's Authorization:
	// Bearer, or an OCI registry's access token).
	TokenFrom *SecretRef `json:"tokenFrom,omitempty"`
}

// ChartCredentials are resolved ChartAuth secrets.
type ChartCredentials struct {
	Username string
	Password Secret
	Token    Secret
}

// Resolve reads the secrets; a nil ChartAuth gives no credentials. Errors
// name the field and the reference, never a value.
func (a *ChartAuth) Resolve() (ChartCredentials, error) {
	if a == nil {
		return ChartCredentials{}, nil
	}
	pw, err := a.PasswordFrom.Resolve()
	if err != nil {
		return ChartCredentials{}, fmt.Errorf("render.helm.chart.auth.passwordFrom: %w", err)
	}
	tok, err := a.TokenFrom.Resolve()
	if err != nil {
		return ChartCredentials{}, fmt.Errorf("render.helm.chart.auth.tokenFrom: %w", err)
	}
	return ChartCredentials{Username: a.Username, Password: pw, Token: tok}, nil
}

// shapeChooser is a type decoded by its own UnmarshalJSON whose mapping
// form has a struct shape: checkShape checks a mapping against that struct
// so its errors name the field (…chart.auth.password), not just the value.
type shapeChooser interface {
	shapeFor(v any) reflect.Type
}

// shapeFor checks a remote chart mapping as a RemoteChart.
func (*HelmChart) shapeFor(v any) reflect.Type {
	if _, ok := v.(map[string]any); ok {
		return reflect.TypeFor[RemoteChart]()
	}
	return nil
}

// validateRemoteChartAuth checks render.helm.chart.auth and that the
// repository URL carries no credentials.
func validateRemoteChartAuth(e *errs, p string, r *RemoteChart) {
	if u, err := url.Parse(r.Repository); err == nil && u.User != nil {
		e.add(field(p, "repository"), "credentials in the URL are not allowed: remove them and set auth: {username, passwordFrom} or auth: {tokenFrom}")
	}
	a := r.Auth
	if a == nil {
		return
	}
	ap := field(p, "auth")
	secretRef(e, field(ap, "passwordFrom"), a.PasswordFrom)
	secretRef(e, field(ap, "tokenFrom"), a.TokenFrom)
	basic := a.Username != "" || a.PasswordFrom != nil
	switch {
	case basic && a.TokenFrom != nil:
		e.add(ap, "set either username and passwordFrom (basic auth) or tokenFrom (bearer token), not both")
	case !basic && a.TokenFrom == nil:
		e.add(ap, "set username and passwordFrom (basic auth) or tokenFrom (bearer token), or remove auth for an anonymous repository")
	case a.Username != "" && a.PasswordFrom == nil:
		e.add(field(ap, "passwordFrom"), "required with username: the password from {env: NAME} or {file: PATH}")
	case a.Username == "" && a.PasswordFrom != nil:
		e.add(field(ap, "username"), "required with passwordFrom")
	}
	if strings.ContainsAny(a.Username, ":\r\n") {
		e.add(field(ap, "username"), "must not contain ':' or a line break (basic auth sends username:password)")
	}
}
