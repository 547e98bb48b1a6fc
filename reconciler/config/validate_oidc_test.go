package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateOIDC(t *testing.T) {
	server := func(s string) string { return header + "server:\n" + s }
	tests := []struct {
		name string
		yaml string
		want []string // "path: message" prefixes; none: valid
	}{
		{
			name: "valid with publicURL",
			yaml: server("  publicURL: https://trueup.example.com\n  auth:\n    oidc: {issuerURL: https://dex.example.com/dex, clientID: trueup, clientSecretFrom: {env: OIDC_SECRET}}\n"),
		},
		{
			name: "valid loopback provider over http",
			yaml: server("  auth:\n    oidc: {issuerURL: http://127.0.0.1:5556/dex, clientID: trueup, redirectURL: http://localhost:8080/auth/callback}\n"),
		},
		{
			name: "required fields",
			yaml: server("  auth:\n    oidc: {}\n"),
			want: []string{
				`server.auth.oidc.clientID: required`,
				`server.auth.oidc.issuerURL: required`,
				`server.auth.oidc.redirectURL: required when server.publicURL is not set`,
			},
		},
		{
			name: "plain http to another host",
			yaml: server("  auth:\n    oidc: {issuerURL: http://dex.example.com/dex, clientID: t, redirectURL: http://trueup.example.com/auth/callback}\n"),
			want: []string{
				`server.auth.oidc.issuerURL: "http://dex.example.com/dex" is plain http: use https`,
				`server.auth.oidc.redirectURL: "http://trueup.example.com/auth/callback" is plain http`,
			},
		},
		{
			name: "redirect path and scopes",
			yaml: server("  auth:\n    oidc: {issuerURL: https://dex.example.com, clientID: t, redirectURL: https://t.example.com/callback, scopes: [openid, 'a b'], clientSecretFrom: {}}\n"),
			want: []string{
				`server.auth.oidc.clientSecretFrom: set env: NAME or file: PATH`,
				`server.auth.oidc.redirectURL: the path must end in /auth/callback`,
				`server.auth.oidc.scopes[1]: "a b" is not a scope`,
			},
		},
		{
			name: "credentials in the issuer URL",
			yaml: server("  publicURL: https://t.example.com\n  auth:\n    oidc: {issuerURL: 'https://u:p@dex.example.com', clientID: t}\n"),
			want: []string{`server.auth.oidc.issuerURL: credentials in the URL are not allowed`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Parse: %v", err)
			}
			var oidcErrs []string
			for _, fe := range got {
				if strings.HasPrefix(fe.Path, "server.auth.oidc") {
					oidcErrs = append(oidcErrs, fe.Error())
				}
			}
			if len(oidcErrs) != len(tt.want) {
				t.Fatalf("errors %q, want %d starting with %q", oidcErrs, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(oidcErrs[i], w) {
					t.Errorf("error %d: %q, want prefix %q", i, oidcErrs[i], w)
				}
			}
		})
	}
}
