package config

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
)

// ChartAuth holds references to the credentials of a remote chart's
// repository (an HTTP chart repository or an OCI registry): basic auth
// (Username and PasswordFrom), a bearer token (TokenFrom), or, for an OCI
// registry, a Docker config.json (DockerConfigFrom). The secrets are read
// when the chart is fetched, never stored in the config or a cache key.
type ChartAuth struct {
	Username     string     `json:"username,omitempty"`
	PasswordFrom *SecretRef `json:"passwordFrom,omitempty"`
	// TokenFrom is a bearer token (an HTTP repository's Authorization:
	// Bearer, or an OCI registry's access token).
	TokenFrom *SecretRef `json:"tokenFrom,omitempty"`
	// DockerConfigFrom is a Docker config.json (as `docker login` or
	// `helm registry login` writes it, or a kubernetes.io/dockerconfigjson
	// Secret holds it); the entry of the registry's host under "auths" is
	// used. oci:// repositories only; credential helpers are not run.
	DockerConfigFrom *SecretRef `json:"dockerConfigFrom,omitempty"`
}

// ChartCredentials are resolved ChartAuth secrets.
type ChartCredentials struct {
	Username string
	Password Secret
	Token    Secret
}

// Resolve reads the secrets for repository (the chart's repository URL,
// whose host selects a Docker config entry); a nil ChartAuth gives no
// credentials. Errors name the field and the reference, never a value.
func (a *ChartAuth) Resolve(repository string) (ChartCredentials, error) {
	if a == nil {
		return ChartCredentials{}, nil
	}
	if a.DockerConfigFrom != nil {
		return a.resolveDockerConfig(repository)
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

// dockerAuth is an entry of a Docker config.json's "auths".
type dockerAuth struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	RegistryToken string `json:"registrytoken"`
	IdentityToken string `json:"identitytoken"`
}

// resolveDockerConfig reads the Docker config and picks the entry of the
// repository's registry host.
func (a *ChartAuth) resolveDockerConfig(repository string) (ChartCredentials, error) {
	const p = "render.helm.chart.auth.dockerConfigFrom"
	v, err := a.DockerConfigFrom.Resolve()
	if err != nil {
		return ChartCredentials{}, fmt.Errorf("%s: %w", p, err)
	}
	host := registryHost(repository)
	var doc struct {
		Auths map[string]dockerAuth `json:"auths"`
	}
	if err := json.Unmarshal([]byte(v.Reveal()), &doc); err != nil {
		// The decoder's message may quote the secret: say only where.
		return ChartCredentials{}, fmt.Errorf("%s (%s): not a Docker config.json: want {\"auths\": {\"%s\": {\"auth\": ...}}}", p, a.DockerConfigFrom, host)
	}
	var entry *dockerAuth
	for k, e := range doc.Auths {
		if registryHost(k) == host {
			entry = &e
			break
		}
	}
	switch {
	case entry == nil:
		return ChartCredentials{}, fmt.Errorf("%s (%s): no entry for %s under \"auths\": log in to that registry (docker login %s) or point to another file", p, a.DockerConfigFrom, host, host)
	case entry.RegistryToken != "":
		return ChartCredentials{Token: Secret{value: entry.RegistryToken}}, nil
	case entry.IdentityToken != "":
		return ChartCredentials{}, fmt.Errorf("%s (%s): the entry for %s holds an identity token, which is not supported: use username and passwordFrom or tokenFrom", p, a.DockerConfigFrom, host)
	case entry.Auth != "":
		raw, err := base64.StdEncoding.DecodeString(entry.Auth)
		user, pw, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return ChartCredentials{}, fmt.Errorf("%s (%s): the entry for %s: \"auth\" is not base64 of username:password", p, a.DockerConfigFrom, host)
		}
		return ChartCredentials{Username: user, Password: Secret{value: pw}}, nil
	case entry.Username != "" && entry.Password != "":
		return ChartCredentials{Username: entry.Username, Password: Secret{value: entry.Password}}, nil
	}
	return ChartCredentials{}, errors.New(p + " (" + a.DockerConfigFrom.String() + "): the entry for " + host + " has no credentials (auth, username and password, or registrytoken)")
}

// registryHost is the host[:port] of an oci:// repository or of a Docker
// config "auths" key (a host, or a URL like https://index.docker.io/v1/).
func registryHost(s string) string {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	host, _, _ := strings.Cut(s, "/")
	return strings.ToLower(host)
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
	secretRef(e, field(ap, "dockerConfigFrom"), a.DockerConfigFrom)
	basic := a.Username != "" || a.PasswordFrom != nil
	if a.DockerConfigFrom != nil {
		if basic || a.TokenFrom != nil {
			e.add(ap, "set dockerConfigFrom alone: it holds the username and password (or token) itself")
		}
		if !strings.HasPrefix(r.Repository, "oci://") {
			e.add(field(ap, "dockerConfigFrom"), "only for oci:// registries: for an HTTP chart repository set username and passwordFrom, or tokenFrom")
		}
		return
	}
	switch {
	case basic && a.TokenFrom != nil:
		e.add(ap, "set either username and passwordFrom (basic auth) or tokenFrom (bearer token), not both")
	case !basic && a.TokenFrom == nil:
		e.add(ap, "set username and passwordFrom (basic auth), tokenFrom (bearer token) or dockerConfigFrom (oci:// only), or remove auth for an anonymous repository")
	case a.Username != "" && a.PasswordFrom == nil:
		e.add(field(ap, "passwordFrom"), "required with username: the password from {env: NAME} or {file: PATH}")
	case a.Username == "" && a.PasswordFrom != nil:
		e.add(field(ap, "username"), "required with passwordFrom")
	}
	if strings.ContainsAny(a.Username, ":\r\n") {
		e.add(field(ap, "username"), "must not contain ':' or a line break (basic auth sends username:password)")
	}
}
