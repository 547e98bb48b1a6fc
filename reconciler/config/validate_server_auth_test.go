package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateServerAuth(t *testing.T) {
	const tenants = "tenants:\n  - {name: team-a, targets: [a-*]}\n"
	tests := []struct {
		name   string
		server string
		want   []string // every one must appear
	}{
		{
			name:   "good: token review, roles over tenants",
			server: "  auth:\n    tokenReview: {cluster: prod}\n    roles:\n      - {role: viewer, groups: [team-a], tenants: [team-a], maskValues: true}\n      - {role: auditor, users: [audit]}\n      - {role: operator, users: [ops], tenants: ['*']}\n",
		},
		{
			name:   "good: mode none alone",
			server: "  auth: {mode: none}\n",
		},
		{
			name:   "good: oidc on loopback http with publicURL",
			server: "  publicURL: https://trueup.example.com\n  auth:\n    oidc: {issuerURL: 'http://127.0.0.1:5556/dex', clientID: trueup}\n    roles: [{role: admin, groups: [platform]}]\n",
		},
		{
			name:   "unknown mode",
			server: "  auth: {mode: open, tokenReview: {cluster: prod}, roles: [{role: admin, users: [a]}]}\n",
			want:   []string{`server.auth.mode: unknown value "open": use one of required, none`},
		},
		{
			name:   "mode none with roles",
			server: "  auth: {mode: none, roles: [{role: admin, users: [a]}]}\n",
			want:   []string{`server.auth.mode: mode none serves every page and API path to anyone`},
		},
		{
			name:   "no way to log in, no roles",
			server: "  auth: {mode: required}\n",
			want:   []string{`server.auth: no way to log in`, `server.auth.roles: required`},
		},
		{
			name:   "unknown cluster",
			server: "  auth:\n    tokenReview: {cluster: prd, audiences: ['']}\n    roles: [{role: admin, users: [a]}]\n",
			want:   []string{`server.auth.tokenReview.cluster: unknown cluster "prd" (did you mean "prod"?)`, `server.auth.tokenReview.audiences[0]: empty audience`},
		},
		{
			name: "role bindings",
			server: "  auth:\n    tokenReview: {cluster: prod}\n    roles:\n      - {role: veiwer, users: [a]}\n      - {role: viewer, users: [a]}\n      - {role: operator, groups: [g], tenants: [team-b]}\n" +
				"      - {role: auditor, tenants: [team-a]}\n      - {users: ['']}\n",
			want: []string{
				`server.auth.roles[0].role: unknown value "veiwer": use one of viewer, operator, auditor, admin (did you mean "viewer"?)`,
				`server.auth.roles[1].tenants: required for role viewer`,
				`server.auth.roles[2].tenants[0]: unknown tenant "team-b" (did you mean "team-a"?)`,
				`server.auth.roles[3]: binds no one: set users and/or groups`,
				`server.auth.roles[3].tenants: role auditor covers every tenant`,
				`server.auth.roles[4].role: required`,
				`server.auth.roles[4].users[0]: empty name`,
			},
		},
		{
			name:   "oidc shape",
			server: "  auth:\n    oidc: {issuerURL: 'http://dex.example.com', clientSecretFrom: {env: A, file: /b}}\n    sessionKeyFrom: {}\n    roles: [{role: admin, users: [a]}]\n",
			want: []string{
				`server.auth.oidc.issuerURL: "http://dex.example.com" is plain http: use https`,
				`server.auth.oidc.clientID: required`,
				`server.auth.oidc.clientSecretFrom: set only one of env and file`,
				`server.auth.oidc.redirectURL: required when server.publicURL is not set`,
				`server.auth.sessionKeyFrom: set env: NAME or file: PATH`,
			},
		},
		{
			name:   "listeners",
			server: "  listen: 127.0.0.1:8080\n  webhookListen: 127.0.0.1:8080\n  metricsListen: nope\n",
			want:   []string{`server.webhookListen: "127.0.0.1:8080" is also server.listen`, `server.metricsListen: want host:port`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tenants + "server:\n" + tt.server))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want no error, got:\n%v", err)
				}
				return
			}
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("want Errors, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(fe.Error(), w) {
					t.Errorf("missing %q in:\n%s", w, fe.Error())
				}
			}
		})
	}
}

func TestIsLoopbackListen(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.1.2.3:80": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.1:8080": false, "[::]:8080": false, "nonsense": false,
	} {
		if got := IsLoopbackListen(addr); got != want {
			t.Errorf("IsLoopbackListen(%q) = %v, want %v", addr, got, want)
		}
	}
}
