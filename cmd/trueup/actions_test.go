package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// actionsConfig is authConfig with an operator for each tenant:
// operator-a (team-a: web) and operator-b (team-b: api-dev).
func actionsConfig(t *testing.T, env *kubeenv.Env, ns string) string {
	t.Helper()
	cfg := authConfig(t, env, ns, "")
	sa := func(name string) string { return `"system:serviceaccount:` + ns + `:` + name + `"` }
	raw := strings.NewReplacer(
		"{name: team-a, targets: [web]}", "{name: team-a, targets: [web], namespaces: [web], createNamespaces: true}",
		"{name: team-b, targets: [api-dev]}", "{name: team-b, targets: [api-dev], namespaces: [api-dev], createNamespaces: true}",
	).Replace(readFile(t, cfg)) + `      - {role: operator, users: [` + sa("operator-a") + `], tenants: [team-a]}
      - {role: operator, users: [` + sa("operator-b") + `], tenants: [team-b]}
`
	if err := os.WriteFile(cfg, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runLoops runs the daemon's loops (without watches) until the test ends
// or the returned stop is called, after every target's first reconcile.
func runLoops(t *testing.T, d *daemon) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	r := d.gen().r
	go func() {
		defer close(done)
		ro := reconciler.DefaultRunOptions()
		ro.Watch = false
		_ = r.Run(ctx, ro)
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	waitUntil(t, "every target's first reconcile", func() bool { return len(r.Pending()) == 0 && len(r.Status()) >= 1 })
	return stop
}

// post sends an action: JSON body, bearer token ("" for none), extra
// headers as "Name: value".
func post(h http.Handler, path, token, contentType, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Host = "trueup.example:8080"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// actionRecords are the history's records of target of one type.
func actionRecords(t *testing.T, d *daemon, target, typ string) []history.Record {
	t.Helper()
	recs, err := d.h.Query(t.Context(), history.Filter{Target: target, Types: []string{typ}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// On the real API server, through the real gate: every action reaches the
// reconciler and the cluster and is a history record with the user as its
// actor; viewers get 403 naming the operator role, anonymous requests 401,
// another tenant's operator 403; a browser's form post passes the CSRF
// check only from the daemon's own origin and is sent on with 303.
func TestOperatorActions(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	cfg := actionsConfig(t, env, ns)
	m, d := testDaemon(t, cfg)
	runLoops(t, d)
	for _, o := range d.gen().r.Status() {
		if o.Err != nil {
			t.Fatalf("target %s: first reconcile failed: %v", o.Target, o.Err)
		}
	}
	opA, opB := serviceAccountToken(t, env, ns, "operator-a"), serviceAccountToken(t, env, ns, "operator-b")
	viewerA := serviceAccountToken(t, env, ns, "viewer-a")
	actorA := "system:serviceaccount:" + ns + ":operator-a"
	actorB := "system:serviceaccount:" + ns + ":operator-b"

	t.Run("refused: anonymous 401, viewer 403 naming the role, other tenant 403", func(t *testing.T) {
		for _, p := range []string{"/api/v1/targets/web/reconcile", "/api/v1/targets/web/suspend", "/api/v1/targets/web/resume",
			"/api/v1/targets/web/pullrequest", "/api/v1/episodes/web/Deployment.apps/web/web/1/accept"} {
			if rec := post(m, p, "", "application/json", ""); rec.Code != 401 || !strings.Contains(rec.Body.String(), "kubectl create token") {
				t.Errorf("anonymous %s: %d %q, want 401 saying how to get a token", p, rec.Code, rec.Body.String())
			}
			if rec := post(m, p, viewerA, "application/json", `{"for":"1h"}`); rec.Code != 403 || !strings.Contains(rec.Body.String(), "role operator and tenants [team-a]") {
				t.Errorf("viewer %s: %d %q, want 403 naming role operator of team-a", p, rec.Code, rec.Body.String())
			}
		}
		if rec := post(m, "/api/v1/targets/api-dev/suspend", opA, "application/json", ""); rec.Code != 403 || !strings.Contains(rec.Body.String(), `tenant "team-b"`) {
			t.Errorf("operator of team-a suspending api-dev: %d %q, want 403", rec.Code, rec.Body.String())
		}
		if recs := actionRecords(t, d, "web", history.TypeSuspend); len(recs) != 0 {
			t.Errorf("a refused suspend left records: %+v", recs)
		}
	})

	t.Run("reconcile now with wait: the outcome, a record with the operator as actor", func(t *testing.T) {
		kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=4")
		rec := post(m, "/api/v1/targets/web/reconcile?wait=true", opA, "application/json", "")
		var ans reconcileAnswer
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &ans) != nil || ans.Action != "healed" || ans.Target != "web" {
			t.Fatalf("reconcile web: %d %q, want 200 with action healed", rec.Code, rec.Body.String())
		}
		if got := kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got == "4" {
			t.Errorf("web's replicas still 4 after the reconcile healed it")
		}
		found := false
		for _, r := range actionRecords(t, d, "web", history.TypeReconcile) {
			var data struct{ Trigger string }
			_ = json.Unmarshal(r.Data, &data)
			found = found || data.Trigger == "operator" && r.Actor == actorA && r.Outcome == "healed"
		}
		if !found {
			t.Errorf("no reconcile record with trigger operator, actor %s, outcome healed", actorA)
		}
	})

	t.Run("suspend: recorded, refuses reconciles, resume runs again", func(t *testing.T) {
		rec := post(m, "/api/v1/targets/web/suspend", opA, "application/json", `{"reason":"maintenance"}`)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"by":"`+actorA+`"`) {
			t.Fatalf("suspend: %d %q", rec.Code, rec.Body.String())
		}
		recs := actionRecords(t, d, "web", history.TypeSuspend)
		if len(recs) != 1 || recs[0].Actor != actorA || !strings.Contains(recs[0].Message, "maintenance") {
			t.Fatalf("suspend records: %+v, want one by %s with the reason", recs, actorA)
		}
		if rec := post(m, "/api/v1/targets/web/reconcile", opA, "application/json", ""); rec.Code != 409 || !strings.Contains(rec.Body.String(), "resume it first") {
			t.Errorf("reconcile of a suspended target: %d %q, want 409", rec.Code, rec.Body.String())
		}
		code, body := request(m, "GET", "/api/v1/targets", opA)
		if code != 200 || !strings.Contains(body, `"suspended":{"by":"`+actorA+`","reason":"maintenance"`) {
			t.Errorf("/api/v1/targets does not show the suspension: %d %s", code, body)
		}
		if rec := post(m, "/api/v1/targets/web/resume", opA, "application/json", ""); rec.Code != 200 {
			t.Fatalf("resume: %d %q", rec.Code, rec.Body.String())
		}
		if recs := actionRecords(t, d, "web", history.TypeResume); len(recs) != 1 || recs[0].Actor != actorA {
			t.Errorf("resume records: %+v", recs)
		}
		if rec := post(m, "/api/v1/targets/web/reconcile?wait=true", opA, "application/json", ""); rec.Code != 200 {
			t.Errorf("reconcile after resume: %d %q", rec.Code, rec.Body.String())
		}
	})

	t.Run("accept: the episode closes as accepted, no new episode until it expires", func(t *testing.T) {
		kubectl(t, env, "-n", "api-dev", "scale", "deployment", "dev-api", "--replicas=5")
		if rec := post(m, "/api/v1/targets/api-dev/reconcile?wait=true", opB, "application/json", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"action":"detected"`) {
			t.Fatalf("reconcile api-dev: %d %q, want drift detected", rec.Code, rec.Body.String())
		}
		code, body := request(m, "GET", "/api/v1/episodes?target=api-dev&open=true", opB)
		var eps []apiEpisode
		if code != 200 || json.Unmarshal([]byte(body), &eps) != nil || len(eps) != 1 {
			t.Fatalf("open episodes of api-dev: %d %s, want one", code, body)
		}
		id := eps[0].ID
		if rec := post(m, "/api/v1/episodes/"+id+"/accept", opB, "application/json", `{"for":"nope"}`); rec.Code != 400 {
			t.Errorf("accept for nope: %d %q, want 400", rec.Code, rec.Body.String())
		}
		if rec := post(m, "/api/v1/episodes/"+id+"/accept", opA, "application/json", `{"for":"1h"}`); rec.Code != 403 {
			t.Errorf("operator of team-a accepting team-b's episode: %d, want 403", rec.Code)
		}
		rec := post(m, "/api/v1/episodes/"+id+"/accept", opB, "application/json", `{"for":"4s","reason":"load test"}`)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"accepted"`) {
			t.Fatalf("accept: %d %q", rec.Code, rec.Body.String())
		}
		acc := actionRecords(t, d, "api-dev", history.TypeDriftAccepted)
		if len(acc) != 1 || acc[0].Actor != actorB || !strings.Contains(acc[0].Message, "load test") {
			t.Fatalf("accept records: %+v", acc)
		}
		if rec := post(m, "/api/v1/episodes/"+id+"/accept", opB, "application/json", `{"for":"1h"}`); rec.Code != 409 {
			t.Errorf("accepting a closed episode: %d, want 409", rec.Code)
		}
		opened := len(actionRecords(t, d, "api-dev", history.TypeDriftOpened))
		if rec := post(m, "/api/v1/targets/api-dev/reconcile?wait=true", opB, "application/json", ""); rec.Code != 200 {
			t.Fatalf("reconcile api-dev: %d %q", rec.Code, rec.Body.String())
		}
		if n := len(actionRecords(t, d, "api-dev", history.TypeDriftOpened)); n != opened {
			t.Errorf("a reconcile while accepted opened an episode (%d drift-opened records, was %d)", n, opened)
		}
		// The acceptance wakes the target when it ends: a new episode opens.
		waitUntil(t, "a new episode after the acceptance ended", func() bool {
			return len(actionRecords(t, d, "api-dev", history.TypeDriftOpened)) == opened+1
		})
	})

	t.Run("form posts: 303 to next from the daemon's origin, 403 cross-site", func(t *testing.T) {
		form := url.Values{"reason": {"from the console"}, "next": {"/targets/web?done=1"}}.Encode()
		rec := post(m, "/api/v1/targets/web/suspend", opA, "application/x-www-form-urlencoded", form)
		if rec.Code != 303 || rec.Header().Get("Location") != "/targets/web?done=1" {
			t.Errorf("form suspend: %d Location %q, want 303 to next", rec.Code, rec.Header().Get("Location"))
		}
		evil := url.Values{"next": {"//evil.example/"}}.Encode()
		rec = post(m, "/api/v1/targets/web/resume", opA, "application/x-www-form-urlencoded", evil)
		if rec.Code != 303 || rec.Header().Get("Location") != "/targets/web" {
			t.Errorf("form resume with an off-site next: %d Location %q, want 303 to the target's page", rec.Code, rec.Header().Get("Location"))
		}
		// From the daemon's own origin, the gate decides (no session: 401).
		rec = post(m, "/api/v1/targets/web/suspend", "", "application/x-www-form-urlencoded", form, "Origin: http://trueup.example:8080")
		if rec.Code != 401 {
			t.Errorf("same-origin post without a session: %d, want 401 from the gate", rec.Code)
		}
	})
}

// A request no bearer token vouches for must come from the daemon's own
// pages.
func TestCrossSite(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		refused bool
	}{
		{name: "bearer token", headers: []string{"Authorization: Bearer x", "Origin: https://evil.example"}},
		{name: "same origin", headers: []string{"Origin: http://trueup.example:8080", "Cookie: s=1"}},
		{name: "same referer", headers: []string{"Referer: http://trueup.example:8080/targets/web", "Cookie: s=1"}},
		{name: "other origin", headers: []string{"Origin: https://evil.example", "Cookie: s=1"}, refused: true},
		{name: "other port", headers: []string{"Origin: http://trueup.example:9090"}, refused: true},
		{name: "other referer", headers: []string{"Referer: https://evil.example/x", "Cookie: s=1"}, refused: true},
		{name: "null origin", headers: []string{"Origin: null", "Cookie: s=1"}, refused: true},
		{name: "cross-site fetch", headers: []string{"Sec-Fetch-Site: cross-site", "Origin: http://trueup.example:8080"}, refused: true},
		{name: "cookie without origin or referer", headers: []string{"Cookie: s=1"}, refused: true},
		{name: "a client without cookie (auth off, CLI)", headers: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/v1/targets/web/suspend", nil)
			req.Host = "trueup.example:8080"
			for _, hv := range tt.headers {
				k, v, _ := strings.Cut(hv, ": ")
				req.Header.Set(k, v)
			}
			if msg := crossSite(req); (msg != "") != tt.refused {
				t.Errorf("crossSite = %q, refused want %v", msg, tt.refused)
			}
		})
	}
}
