package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// headerUser is a test authenticator: "X-Test-User: name" is that user,
// "X-Test-User: bad" is refused credentials.
type headerUser struct{}

func (headerUser) Authenticate(r *http.Request) (User, bool, error) {
	switch v := r.Header.Get("X-Test-User"); v {
	case "":
		return User{}, false, nil
	case "bad":
		return User{}, false, fmt.Errorf("%w: test refusal", ErrRefused)
	default:
		return User{Name: v}, true, nil
	}
}

func TestGate(t *testing.T) {
	policy := NewPolicy([]config.RoleBinding{{Role: config.RoleViewer, Users: []string{"alice"}, Tenants: []string{"a"}}})
	served := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served %v", FromContext(r.Context()).Roles())
	}
	tests := []struct {
		name      string
		gate      Gate
		header    map[string]string
		path      string
		code      int
		body      string
		challenge string
		location  string
	}{
		{name: "no credentials", gate: Gate{Authenticator: headerUser{}, Policy: policy, Hint: "run kubectl create token"},
			code: 401, body: "authentication required: run kubectl create token", challenge: `Bearer realm="trueup"`},
		{name: "bad credentials", gate: Gate{Authenticator: headerUser{}, Policy: policy}, header: map[string]string{"X-Test-User": "bad"},
			code: 401, body: "credentials refused: test refusal", challenge: `error="invalid_token"`},
		{name: "no role", gate: Gate{Authenticator: headerUser{}, Policy: policy}, header: map[string]string{"X-Test-User": "bob"},
			code: 403, body: `user "bob" with no role: add them (or one of their groups) to server.auth.roles`},
		{name: "a user with a role", gate: Gate{Authenticator: headerUser{}, Policy: policy}, header: map[string]string{"X-Test-User": "alice"},
			code: 200, body: "served [viewer]"},
		{name: "open route", gate: Gate{Authenticator: headerUser{}, Policy: policy, Open: func(r *http.Request) bool { return r.URL.Path == "/healthz" }},
			path: "/healthz", code: 200, body: "served []"},
		{name: "authentication off", gate: Gate{}, code: 200, body: "served [admin]"},
		{name: "browser sent to login", gate: Gate{Authenticator: headerUser{}, Policy: policy, LoginPath: "/auth/login"},
			header: map[string]string{"Accept": "text/html,application/xhtml+xml"}, path: "/targets/web?x=1", code: 302, location: "/auth/login?next=%2Ftargets%2Fweb%3Fx%3D1"},
		{name: "API client not sent to login", gate: Gate{Authenticator: headerUser{}, Policy: policy, LoginPath: "/auth/login"},
			header: map[string]string{"Accept": "application/json"}, code: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "/api/v1/targets"
			}
			req := httptest.NewRequest(http.MethodGet, path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tt.gate.Wrap(http.HandlerFunc(served)).ServeHTTP(rec, req)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("%d %q, want %d with %q", rec.Code, rec.Body.String(), tt.code, tt.body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (tt.code == 401) != (got != "") {
				t.Errorf("WWW-Authenticate %q, want it on 401s only, with %q", got, tt.challenge)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
		})
	}
}

// When the API server cannot be asked, a request with a token is answered
// 503 and not served, and nothing is cached: it is never anonymous.
func TestTokenReviewUnreachableIs503(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port nobody listens on: connection refused
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTokenReview("prod", cs.AuthenticationV1().TokenReviews(), DefaultTokenReviewOptions())
	var logged []error
	g := Gate{Authenticator: Chain{tr}, Policy: NewPolicy(nil), OnError: func(_ *http.Request, err error) { logged = append(logged, err) }}
	const token = "some-secret-token-value"
	for range 2 {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/targets", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { t.Error("served without a user") })).ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "cluster prod: token review: credentials cannot be checked now") {
			t.Fatalf("%d %q, want 503 saying the credentials cannot be checked", rec.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), token) {
			t.Fatalf("the answer holds the token: %q", rec.Body.String())
		}
	}
	if len(logged) != 2 {
		t.Errorf("OnError told %d times, want 2 (a failed review is not cached)", len(logged))
	}
	for _, err := range logged {
		if strings.Contains(err.Error(), token) {
			t.Errorf("the logged error holds the token: %v", err)
		}
	}
}
