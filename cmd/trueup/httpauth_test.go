package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// authConfig is the demo config with two tenants (team-a owns web,
// team-b owns api-dev), bearer tokens checked by the demo cluster's
// TokenReview, and role bindings for ServiceAccounts of namespace ns.
func authConfig(t *testing.T, env *kubeenv.Env, ns, server string) string {
	t.Helper()
	cfg, _ := demoSetup(t, env.Kubeconfig)
	sa := func(name string) string { return `"system:serviceaccount:` + ns + `:` + name + `"` }
	raw := readFile(t, cfg) + `tenants:
  - {name: team-a, targets: [web]}
  - {name: team-b, targets: [api-dev]}
server:
` + server + `  auth:
    tokenReview: {cluster: local}
    roles:
      - {role: viewer, users: [` + sa("viewer-a") + `, ` + sa("gone") + `], tenants: [team-a]}
      - {role: viewer, users: [` + sa("viewer-b") + `], tenants: [team-b], maskValues: true}
      - {role: auditor, users: [` + sa("auditor") + `]}
`
	if err := os.WriteFile(cfg, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testDaemon wires the daemon's HTTP surface from a config as serve does:
// the real reconciler, state, history and gate.
func testDaemon(t *testing.T, path string) (*serverMux, *daemon) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := selectTargets(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, h, st, err := recording(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	r, err := newReconciler(cfg, targets, rec...)
	if err != nil {
		t.Fatal(err)
	}
	d := newDaemon(cfg, r, st, h, prometheus.NewRegistry())
	if d.webhook, err = webhookHandler(cfg, d, d.reg); err != nil {
		t.Fatal(err)
	}
	gate, login, err := newAuthGate(t.Context(), cfg, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return newServerMux(d, gate, login...), d
}

// request asks h for path with a bearer token ("" for none).
func request(h http.Handler, method, path, token string) (int, string) {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// openRoutes are the only routes of the main listener that answer without
// a user. Adding one here needs a reason.
var openRoutes = map[string]routeAccess{
	"GET /healthz":    openProbe,  // liveness probe
	"GET /readyz":     openProbe,  // readiness probe
	"POST /hooks/git": openSigned, // HMAC-signed webhook
}

// Every route of the main listener, but the probes and the signed
// webhook, answers 401 with a Bearer challenge and how to get a token to
// an anonymous request. The routes come from the mux itself, so a route
// added later is covered, and one added as open fails here unless it is
// in openRoutes.
func TestEveryRouteNeedsAUser(t *testing.T) {
	env := kubeenv.Shared(t)
	m, _ := testDaemon(t, authConfig(t, env, "unused", ""))
	if len(m.routes) < 8 {
		t.Fatalf("the main mux has %d routes, want at least 8 (pages, API, metrics, webhook, probes)", len(m.routes))
	}
	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	for _, rt := range m.routes {
		t.Run(rt.pattern, func(t *testing.T) {
			method, path, _ := strings.Cut(rt.pattern, " ")
			path = wildcard.ReplaceAllString(path, "x")
			want, open := openRoutes[rt.pattern]
			if rt.access != needsUser && (!open || rt.access != want) {
				t.Fatalf("route %s is open (%d) but not in openRoutes: a route that needs no user must be listed there with its reason", rt.pattern, rt.access)
			}
			code, body := request(m, method, path, "")
			if open {
				if code == http.StatusUnauthorized && strings.Contains(body, "authentication required") {
					t.Fatalf("open route %s asks for a user: %d %q", rt.pattern, code, body)
				}
				return
			}
			if code != http.StatusUnauthorized || !strings.Contains(body, "kubectl create token") {
				t.Fatalf("anonymous %s %s: %d %q, want 401 saying how to get a token", method, path, code, body)
			}
		})
	}
	for _, p := range []string{"GET /metrics", "GET /api/v1/history", "GET /api/v1/episodes", "GET /targets/{name}", "GET /episodes/{id...}"} {
		if !slices.ContainsFunc(m.routes, func(rt route) bool { return rt.pattern == p }) {
			t.Errorf("route %s is not on the main listener", p)
		}
	}
	// Paths no route serves, and wrong methods, need a user too.
	for _, mp := range [][2]string{{"GET", "/nope"}, {"POST", "/targets/web"}, {"DELETE", "/api/v1/targets"}} {
		if code, _ := request(m, mp[0], mp[1], ""); code != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: %d, want 401", mp[0], mp[1], code)
		}
	}
}

// serviceAccountToken creates the ServiceAccount (if needed) and a token
// for it with the TokenRequest API, as the admin.
func serviceAccountToken(t *testing.T, env *kubeenv.Env, ns, name string, audiences ...string) string {
	t.Helper()
	ctx := t.Context()
	sas := env.Clientset.CoreV1().ServiceAccounts(ns)
	if _, err := sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	tr, err := sas.CreateToken(ctx, name, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: audiences}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// reTokened re-signs a real token with the API server's own key after
// change edits its claims: a token the API server would accept but for
// that change.
func reTokened(t *testing.T, env *kubeenv.Env, token string, change func(claims map[string]any)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	change(claims)
	payload, _ := json.Marshal(claims)
	signed := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload)
	pemKey, err := os.ReadFile(env.ServiceAccountSigningKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemKey)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// firstReconciles runs the daemon's loop until every target has finished
// a first reconcile, so the API has outcomes and the history records.
func firstReconciles(t *testing.T, r *reconciler.Reconciler) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ro := reconciler.DefaultRunOptions()
		ro.Watch = false
		_ = r.Run(ctx, ro)
	}()
	waitUntil(t, "every target's first reconcile", func() bool { return len(r.Pending()) == 0 && len(r.Status()) == 2 })
	cancel()
	<-done
}

// targetsOf lists the "target" members of a JSON array (or of its
// "records").
func targetsOf(t *testing.T, body string) []string {
	t.Helper()
	var items []map[string]any
	if strings.HasPrefix(body, "{") {
		var page struct{ Records []map[string]any }
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		items = page.Records
	} else if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, it := range items {
		s, _ := it["target"].(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// On the real API server: a viewer of tenant A sees A's targets, episodes
// and history and gets 403 on B's; a viewer with maskValues sees no
// drifted value; an auditor reads every tenant's history; forged,
// expired, wrong-audience and deleted-account tokens are refused.
func TestTenantsSeeOnlyTheirTargets(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	m, d := testDaemon(t, authConfig(t, env, ns, ""))
	firstReconciles(t, d.gen().r)
	now := time.Now()
	episodes := map[string]string{}
	for target, obj := range map[string]string{"web": "Deployment.apps/web/web", "api-dev": "Deployment.apps/api-dev/api"} {
		id := state.EpisodeID(target, obj, now)
		episodes[target] = id
		err := d.st.UpsertEpisode(state.Episode{ID: id, Target: target, Object: obj, Drift: drift.Drifted, Status: state.EpisodeOpen,
			Fields: []drift.FieldDiff{{Path: "/spec/replicas", Desired: 1, Live: 7}}, Opened: now, LastSeen: now})
		if err != nil {
			t.Fatal(err)
		}
	}
	viewerA := serviceAccountToken(t, env, ns, "viewer-a")
	viewerB := serviceAccountToken(t, env, ns, "viewer-b")
	auditor := serviceAccountToken(t, env, ns, "auditor")
	nobody := serviceAccountToken(t, env, ns, "nobody")

	t.Run("viewer of A", func(t *testing.T) {
		code, body := request(m, "GET", "/api/v1/targets", viewerA)
		if got := targetsOf(t, body); code != 200 || !slices.Equal(got, []string{"web"}) {
			t.Errorf("/api/v1/targets: %d, targets %v, want [web]", code, got)
		}
		if code, body := request(m, "GET", "/targets/web", viewerA); code != 200 || !strings.Contains(body, `<code>/spec/replicas</code></th><td class="git"><code>1</code></td><td class="live"><code>7</code></td>`) {
			t.Errorf("/targets/web: %d %q, want the page with its episode", code, body)
		}
		code, body = request(m, "GET", "/targets/api-dev", viewerA)
		if code != 403 || !strings.Contains(body, `may not view targets of tenant "team-b"`) || !strings.Contains(body, "tenants [team-b]") {
			t.Errorf("/targets/api-dev: %d %q, want 403 naming tenant team-b and the binding to add", code, body)
		}
		if code, _ := request(m, "GET", "/targets/no-such-target", viewerA); code != 403 {
			t.Errorf("/targets/no-such-target: %d, want 403 (a viewer does not learn which targets exist)", code)
		}
		code, body = request(m, "GET", "/api/v1/episodes", viewerA)
		if got := targetsOf(t, body); code != 200 || !slices.Equal(got, []string{"web"}) {
			t.Errorf("/api/v1/episodes: %d, targets %v, want [web]", code, got)
		}
		if code, _ := request(m, "GET", "/episodes/"+episodes["api-dev"], viewerA); code != 403 {
			t.Errorf("B's episode page: %d, want 403", code)
		}
		if code, _ := request(m, "GET", "/episodes/"+episodes["web"], viewerA); code != 200 {
			t.Errorf("A's episode page: %d, want 200", code)
		}
		code, body = request(m, "GET", "/api/v1/history", viewerA)
		if got := targetsOf(t, body); code != 200 || !slices.Equal(got, []string{"web"}) {
			t.Errorf("/api/v1/history: %d, targets %v, want [web] only (no other tenant, no daemon-wide record)", code, got)
		}
		if code, _ := request(m, "GET", "/api/v1/history?target=api-dev", viewerA); code != 403 {
			t.Errorf("/api/v1/history?target=api-dev: %d, want 403", code)
		}
		if code, _ := request(m, "GET", "/metrics", viewerA); code != 200 {
			t.Errorf("/metrics on the main listener: %d, want 200 for a user with a role", code)
		}
	})

	t.Run("viewer of B with maskValues", func(t *testing.T) {
		for _, path := range []string{"/api/v1/episodes", "/episodes/" + episodes["api-dev"], "/targets/api-dev"} {
			code, body := request(m, "GET", path, viewerB)
			if code != 200 || strings.Contains(body, "live: 7") || strings.Contains(body, `"live":7`) || strings.Contains(body, "<code>7</code>") || !strings.Contains(body, "masked") {
				t.Errorf("%s: %d %q, want the drift with its values masked", path, code, body)
			}
		}
		code, body := request(m, "GET", "/api/v1/history", viewerB)
		if got := targetsOf(t, body); code != 200 || !slices.Equal(got, []string{"api-dev"}) {
			t.Errorf("/api/v1/history: %d, targets %v, want [api-dev]", code, got)
		}
	})

	t.Run("auditor", func(t *testing.T) {
		code, body := request(m, "GET", "/api/v1/history?limit=1000", auditor)
		if got := targetsOf(t, body); code != 200 || !slices.Contains(got, "web") || !slices.Contains(got, "api-dev") {
			t.Errorf("/api/v1/history: %d, targets %v, want every tenant's", code, got)
		}
		if code, _ := request(m, "GET", "/targets/api-dev", auditor); code != 200 {
			t.Errorf("/targets/api-dev: %d, want 200 (auditors read every target)", code)
		}
	})

	t.Run("authenticated without a role", func(t *testing.T) {
		code, body := request(m, "GET", "/api/v1/targets", nobody)
		if code != 403 || !strings.Contains(body, ":nobody\" (groups") || !strings.Contains(body, "server.auth.roles") {
			t.Errorf("%d %q, want 403 naming the user and server.auth.roles", code, body)
		}
	})

	refused := func(t *testing.T, token string) {
		t.Helper()
		code, body := request(m, "GET", "/api/v1/targets", token)
		if code != 401 || !strings.Contains(body, "credentials refused") {
			t.Errorf("%d %q, want 401 credentials refused", code, body)
		}
		if strings.Contains(body, token) {
			t.Errorf("the answer holds the token")
		}
	}
	t.Run("forged: claims changed, signature kept", func(t *testing.T) {
		parts := strings.Split(viewerA, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload := strings.ReplaceAll(string(raw), "viewer-a", "auditor")
		refused(t, parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(payload))+"."+parts[2])
	})
	t.Run("not a token", func(t *testing.T) { refused(t, "not-a-token") })
	t.Run("expired, signed by the API server's key", func(t *testing.T) {
		at := func(exp time.Time) func(map[string]any) {
			return func(c map[string]any) {
				c["exp"], c["iat"], c["nbf"] = exp.Unix(), exp.Add(-time.Hour).Unix(), exp.Add(-time.Hour).Unix()
			}
		}
		// The same minting with an expiry ahead is accepted: only the
		// expiry refuses the other.
		if code, body := request(m, "GET", "/api/v1/targets", reTokened(t, env, viewerA, at(time.Now().Add(time.Hour)))); code != 200 {
			t.Fatalf("a re-signed token that has not expired: %d %q, want 200", code, body)
		}
		refused(t, reTokened(t, env, viewerA, at(time.Now().Add(-2*time.Hour))))
	})
	t.Run("for another audience", func(t *testing.T) {
		refused(t, serviceAccountToken(t, env, ns, "viewer-a", "https://someone-else.example.com"))
	})
	t.Run("of a deleted ServiceAccount", func(t *testing.T) {
		gone := serviceAccountToken(t, env, ns, "gone")
		if code, _ := request(m, "GET", "/targets/web", gone); code != 200 {
			t.Fatalf("before the deletion: %d, want 200", code)
		}
		if err := env.Clientset.CoreV1().ServiceAccounts(ns).Delete(t.Context(), "gone", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Refused once the API server knows and the 10s cache has expired.
		waitUntil(t, "the deleted account's token refused", func() bool {
			code, _ := request(m, "GET", "/targets/web", gone)
			return code == http.StatusUnauthorized
		})
		refused(t, gone)
	})
}
