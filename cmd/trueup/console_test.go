package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/policy"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources"
)

const evil = `<script>alert("x")</script>`

// Names, messages and values from Git, the cluster or the history reach
// every console page escaped: none runs as a script.
func TestConsolePagesEscapeWhatTheyShow(t *testing.T) {
	ref := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: evil}
	field := drift.FieldDiff{Path: "/metadata/annotations/" + evil, Desired: evil, Live: "x" + evil}
	ep := state.Episode{ID: "web/" + ref.String() + "/1", Target: "web", Object: ref.String(), Drift: drift.Drifted, Opened: time.Unix(0, 0),
		Fields: []drift.FieldDiff{field}, Status: state.EpisodeOpen, Actor: &drift.Actor{Manager: evil}, PullRequest: "javascript:alert(1)"}
	out := &reconciler.Outcome{Target: "web", Revision: sources.Revision{Commit: evil, Author: sources.Person{Name: evil}, Message: evil},
		Report: drift.Report{Objects: []drift.ObjectReport{{Ref: ref, Status: drift.Drifted, Origin: evil + ".yaml"}}}, Err: errors.New(evil), Held: evil}
	rec := history.Record{Seq: 1, Type: evil, Target: evil, Object: evil, Revision: evil, Actor: evil, Outcome: evil, Message: evil}
	pages := []struct {
		name string
		exec func(*bytes.Buffer) error
	}{
		{"index", func(b *bytes.Buffer) error {
			return indexPage.ExecuteTemplate(b, "layout.html", indexPageData{consoleUser: consoleUser{User: evil}, Filter: indexFilter{Q: evil},
				Rows: []targetRow{{Name: evil, Tenant: evil, Destination: evil, Commit: evil, Author: evil, State: evil, Error: evil, Owner: evil}}, Destinations: []string{evil}})
		}},
		{"target", func(b *bytes.Buffer) error {
			return targetPage.ExecuteTemplate(b, "layout.html", targetPageData{Name: evil, Outcome: out, Objects: []objectRow{{Object: evil, Origin: evil, Message: evil}},
				Prune: []objectRow{{Object: evil}}, Episodes: []state.Episode{ep}, History: []history.Record{rec},
				targetActions: targetActions{CanAct: true, Suspension: &reconciler.Suspension{By: evil, Reason: evil}, Accepted: map[string]time.Time{evil: time.Now()}}})
		}},
		{"episode", func(b *bytes.Buffer) error {
			return episodePage.ExecuteTemplate(b, "layout.html", episodePageData{Episode: ep, targetActions: targetActions{CanAct: true}})
		}},
		{"history", func(b *bytes.Buffer) error {
			q := map[string][]string{"target": {evil}, "after": {"3"}}
			return historyBrowser.ExecuteTemplate(b, "layout.html", historyPageData{Query: q, Types: []string{evil}, Selected: map[string]bool{}, Records: []history.Record{rec}, Next: 2})
		}},
		{"record", func(b *bytes.Buffer) error {
			return recordPage.ExecuteTemplate(b, "layout.html", recordPageData{Record: rec, Details: evil})
		}},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := p.exec(&b); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			if strings.Contains(page, `<script>alert`) || strings.Contains(page, `href="javascript:`) {
				t.Fatalf("the page carries the script unescaped:\n%s", page)
			}
			if !strings.Contains(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
				t.Fatalf("the page does not show the name escaped:\n%s", page)
			}
		})
	}
}

func TestTargetState(t *testing.T) {
	failed := &reconciler.Outcome{Action: reconciler.ActionFailed, Err: errors.New("boom")}
	drifted := drift.Report{Objects: []drift.ObjectReport{{Status: drift.Drifted}}}
	tests := []struct {
		name      string
		suspended bool
		outcome   *reconciler.Outcome
		episodes  int
		elsewhere bool
		want      string
	}{
		{"suspended in the config", true, failed, 1, false, stateSuspended},
		{"another replica's", false, nil, 0, true, stateElsewhere},
		{"not reconciled yet", false, nil, 0, false, statePending},
		{"failed", false, failed, 1, false, stateFailed},
		{"manual apply waits", false, &reconciler.Outcome{Action: reconciler.ActionPending}, 0, false, stateManual},
		{"a freeze window holds it", false, &reconciler.Outcome{Action: reconciler.ActionFrozen}, 1, false, stateFrozen},
		{"dependencies not ready", false, &reconciler.Outcome{Action: reconciler.ActionWaiting}, 0, false, stateWaiting},
		{"open episode", false, &reconciler.Outcome{Action: reconciler.ActionInSync}, 1, false, stateDrifted},
		{"alert mode", false, &reconciler.Outcome{Action: reconciler.ActionDetected, Report: drifted}, 0, false, stateDrifted},
		{"healed", false, &reconciler.Outcome{Action: reconciler.ActionHealed, Report: drifted, Apply: &kube.Result{}}, 0, false, stateInSync},
		{"unknown", false, &reconciler.Outcome{Action: reconciler.ActionUnknown}, 0, false, stateUnknown},
		{"in sync", false, &reconciler.Outcome{Action: reconciler.ActionInSync}, 0, false, stateInSync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := targetStateOf(tt.outcome, tt.suspended, tt.episodes, tt.elsewhere); got != tt.want {
				t.Errorf("state %q, want %q", got, tt.want)
			}
		})
	}
}

// consoleHistoryDaemon is a daemon with a real SQLite history of 120
// records of target a (tenant team-a) and 60 of b (team-b) in
// twoTenantsConfig, and no reconciler: the history pages read only the history.
func consoleHistoryDaemon(t *testing.T) *daemon {
	t.Helper()
	cfg := twoTenantsConfig(t)
	h, err := history.OpenSQLite(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	var recs []history.Record
	for i := range 180 {
		target, typ := "a", history.TypeReconcile
		if i%3 == 2 {
			target = "b"
		}
		if i%10 == 0 {
			typ = history.TypeDriftOpened
		}
		data := fmt.Sprintf(`{"fields":[{"path":"/spec/replicas","git":1,"live":%d}]}`, i)
		recs = append(recs, history.Record{Type: typ, Target: target, Object: "Deployment.apps/web/web", Actor: "kubectl-edit",
			Outcome: "succeeded", Message: fmt.Sprintf("record %d, \"quoted\", with a comma", i), Data: json.RawMessage(data)})
	}
	if _, err := h.Append(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	return newDaemon(cfg, nil, nil, h, nil)
}

func viewerOf(tenant string, masked bool) *auth.Access {
	return auth.NewPolicy([]config.RoleBinding{{Role: config.RoleViewer, Users: []string{"v"}, Tenants: []string{tenant}, MaskValues: masked}}).Access(auth.User{Name: "v"})
}

func operatorOf(tenant string) *auth.Access {
	return auth.NewPolicy([]config.RoleBinding{{Role: config.RoleOperator, Users: []string{"o"}, Tenants: []string{tenant}}}).Access(auth.User{Name: "o"})
}

// getAs asks the history pages for path as user a.
func getAs(d *daemon, a *auth.Access, path string) *httptest.ResponseRecorder {
	m := http.NewServeMux()
	m.Handle("GET /history", historyHandler(d))
	m.Handle("GET /history/{seq}", recordHandler(d))
	req := httptest.NewRequest("GET", path, nil)
	req = req.WithContext(auth.WithAccess(req.Context(), a))
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	return rec
}

var recordLink = regexp.MustCompile(`<a href="/history/(\d+)">`)

// The history browser shows a viewer its tenant's records only, a page at
// a time, newest first, with the filters of 'trueup history', and exports
// what they match as CSV and JSON that parse back to the same records.
func TestHistoryBrowser(t *testing.T) {
	d := consoleHistoryDaemon(t)
	viewer := viewerOf("team-a", false)

	t.Run("pages newest first, own tenant only", func(t *testing.T) {
		path, seen, pages := "/history", map[string]bool{}, 0
		for path != "" {
			rec := getAs(d, viewer, path)
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
			}
			body := rec.Body.String()
			if strings.Contains(body, `<a href="/targets/b">`) {
				t.Fatalf("%s shows team-b's records", path)
			}
			links := recordLink.FindAllStringSubmatch(body, -1)
			for i, l := range links {
				if seen[l[1]] {
					t.Fatalf("%s: record %s again", path, l[1])
				}
				seen[l[1]] = true
				if i > 0 && atoi(t, l[1]) > atoi(t, links[i-1][1]) {
					t.Fatalf("%s: record %s after %s: not newest first", path, l[1], links[i-1][1])
				}
			}
			path = ""
			if m := regexp.MustCompile(`id="next" rel="next" href="([^"]+)"`).FindStringSubmatch(body); m != nil {
				path = "/history" + html.UnescapeString(m[1])
				if len(links) != historyPageSize {
					t.Fatalf("a page of %d records has a next page", len(links))
				}
			}
			pages++
		}
		if len(seen) != 120 || pages != 3 {
			t.Fatalf("%d records in %d pages, want team-a's 120 in 3", len(seen), pages)
		}
	})
	t.Run("filters", func(t *testing.T) {
		body := getAs(d, viewer, "/history?type=drift-opened&limit=1000").Body.String()
		if n := len(recordLink.FindAllString(body, -1)); n != 12 {
			t.Fatalf("%d drift-opened records of a, want 12", n)
		}
		if !strings.Contains(body, `<option selected>drift-opened</option>`) {
			t.Errorf("the form does not keep the chosen type")
		}
	})
	t.Run("exports parse", func(t *testing.T) {
		rec := getAs(d, viewer, "/history?format=csv&type=drift-opened")
		rows, err := csv.NewReader(rec.Body).ReadAll()
		if err != nil || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("csv: %v (%s)", err, rec.Header().Get("Content-Type"))
		}
		if len(rows) != 13 || strings.Join(rows[0], ",") != strings.Join(recordColumns, ",") || rows[1][3] != "a" || !strings.Contains(rows[1][8], `"quoted", with a comma`) {
			t.Fatalf("csv has %d rows, want a header and 12 records of a: %q", len(rows), rows[:min(len(rows), 2)])
		}
		var recs []history.Record
		rec = getAs(d, viewer, "/history?format=json&type=drift-opened&order=asc")
		if err := json.Unmarshal(rec.Body.Bytes(), &recs); err != nil || len(recs) != 12 {
			t.Fatalf("json: %v, %d records, want 12", err, len(recs))
		}
		if recs[0].Seq > recs[1].Seq || recs[0].Target != "a" || rec.Header().Get("Content-Disposition") != `attachment; filename="trueup-history.json"` {
			t.Fatalf("json export: %+v", recs[:2])
		}
	})
	t.Run("another tenant's target is forbidden", func(t *testing.T) {
		for _, path := range []string{"/history?target=b", "/history?target=b&format=csv", "/history/3"} {
			if rec := getAs(d, viewer, path); rec.Code != 403 {
				t.Errorf("%s: %d, want 403", path, rec.Code)
			}
		}
	})
	t.Run("bad filters say what to use", func(t *testing.T) {
		rec := getAs(d, viewer, "/history?since=yesterday")
		if rec.Code != 400 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(rec.Body.String(), "use RFC 3339") || !strings.Contains(rec.Body.String(), `value="yesterday"`) {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		if rec := getAs(d, viewer, "/history?format=xml"); rec.Code != 400 {
			t.Fatalf("format=xml: %d", rec.Code)
		}
	})
	t.Run("a record in full, masked for maskValues", func(t *testing.T) {
		body := getAs(d, viewer, "/history/2").Body.String()
		if !strings.Contains(body, `&#34;live&#34;: 1`) {
			t.Fatalf("record 2 lacks its data:\n%s", body)
		}
		body = getAs(d, viewerOf("team-a", true), "/history/2").Body.String()
		if strings.Contains(body, `&#34;live&#34;: 1`) || !strings.Contains(body, "masked") {
			t.Fatalf("record 2 is not masked for a maskValues viewer:\n%s", body)
		}
		if rec := getAs(d, viewer, "/history/100000"); rec.Code != 404 {
			t.Fatalf("a record that does not exist: %d", rec.Code)
		}
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// serveAs asks the daemon's routes (behind the gate: the test brings the
// user's access) for path.
func serveAs(m *serverMux, a *auth.Access, path string) (int, string) {
	req := httptest.NewRequest("GET", path, nil)
	req = req.WithContext(auth.WithAccess(req.Context(), a))
	rec := httptest.NewRecorder()
	m.mux.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// A cluster-scoped object's episode id holds "//" (no namespace): the
// console's links to its page and its accept form must reach it, not a
// path the mux cleans into another.
func TestConsoleLinksToAClusterScopedEpisode(t *testing.T) {
	env := kubeenv.Shared(t)
	m, d := testDaemon(t, authConfig(t, env, "unused", ""))
	t0 := time.Now().Add(-time.Minute)
	e := state.Episode{Target: "web", Object: "Namespace//web", Fields: []drift.FieldDiff{{Path: "/metadata/labels/team", Desired: "a", Live: "b"}},
		Drift: drift.Drifted, Opened: t0, LastSeen: t0, Status: state.EpisodeOpen}
	e.ID = state.EpisodeID(e.Target, e.Object, t0)
	if !strings.Contains(e.ID, "//") {
		t.Fatalf("episode id %q: want the empty namespace as //", e.ID)
	}
	if err := d.st.UpsertEpisode(e); err != nil {
		t.Fatal(err)
	}
	code, body := serveAs(m, operatorOf("team-a"), "/targets/web")
	if code != 200 {
		t.Fatalf("/targets/web: %d:\n%s", code, body)
	}
	link := regexp.MustCompile(`href="(/episodes/[^"]*)"`).FindStringSubmatch(body)
	accept := regexp.MustCompile(`action="(/api/v1/episodes/[^"]*)"`).FindStringSubmatch(body)
	if link == nil || accept == nil {
		t.Fatalf("/targets/web has no episode link or accept form:\n%s", body)
	}
	code, page := serveAs(m, operatorOf("team-a"), html.UnescapeString(link[1]))
	if code != 200 || !strings.Contains(page, "/metadata/labels/team") {
		t.Errorf("the episode link %s answers %d:\n%s", link[1], code, page)
	}
	form := url.Values{"for": {"1h"}, "reason": {"test"}}
	req := httptest.NewRequest("POST", html.UnescapeString(accept[1]), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+req.Host)
	req = req.WithContext(auth.WithAccess(req.Context(), operatorOf("team-a")))
	rec := httptest.NewRecorder()
	m.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303:\n%s", accept[1], rec.Code, rec.Body.String())
	}
	if code, _ := serveAs(m, operatorOf("team-a"), rec.Header().Get("Location")); code != 200 {
		t.Errorf("after the accept, %s answers %d", rec.Header().Get("Location"), code)
	}
	got, err := d.st.Episode(nil, e.ID)
	if err != nil || got == nil || got.Status != state.EpisodeAccepted {
		t.Errorf("episode %s after the accept: %+v, %v; want accepted", e.ID, got, err)
	}
}

// The index and the target page show a user the targets of their tenants
// only, with drifted values masked for a maskValues binding and a
// Secret's values masked for everyone; the index's refresh answers its
// rows only.
func TestConsoleScopedToTheUser(t *testing.T) {
	env := kubeenv.Shared(t)
	m, d := testDaemon(t, authConfig(t, env, "unused", ""))
	t0 := time.Now().Add(-time.Minute)
	for _, e := range []state.Episode{
		{Target: "api-dev", Object: "Deployment.apps/api-dev/dev-api", Fields: []drift.FieldDiff{{Path: "/spec/replicas", Desired: 2, Live: 5}}},
		{Target: "web", Object: "Secret/web/token", Fields: []drift.FieldDiff{{Path: "/data/token", Desired: "aHVudGVyMg==", Live: "c2VjcmV0"}}},
	} {
		e.ID, e.Drift, e.Opened, e.LastSeen, e.Status = state.EpisodeID(e.Target, e.Object, t0), drift.Drifted, t0, t0, state.EpisodeOpen
		if err := d.st.UpsertEpisode(e); err != nil {
			t.Fatal(err)
		}
	}
	admin := auth.Unrestricted()
	tests := []struct {
		name    string
		access  *auth.Access
		path    string
		code    int
		want    []string
		notWant []string
	}{
		{"an admin sees every target", admin, "/", 200, []string{`data-target="web"`, `data-target="api-dev"`, "2 of 2 targets shown"}, nil},
		{"search by name", admin, "/?q=API", 200, []string{`data-target="api-dev"`, "1 of 2 targets shown"}, []string{`data-target="web"`}},
		{"filter by state", admin, "/?state=drifted", 200, []string{"0 of 2 targets shown", "No target matches."}, []string{`data-target=`}},
		{"filter by destination", admin, "/?destination=local", 200, []string{"2 of 2 targets shown", `<option selected>local</option>`}, nil},
		{"the refresh answers the rows only", admin, "/?partial=rows&q=web", 200, []string{`<table><tbody><tr data-target="web">`, `id="shown-text">1 of 2`}, []string{"<html", "<form"}},
		{"a viewer sees its tenant's targets only", viewerOf("team-a", false), "/", 200, []string{`data-target="web"`, "1 of 1 targets shown"}, []string{"api-dev"}},
		{"nor another tenant's page", viewerOf("team-a", false), "/targets/api-dev", 403, []string{"forbidden: target api-dev"}, nil},
		{"a Secret's values are masked for everyone", admin, "/targets/web", 200, []string{"/data/token", drift.MaskedChanged}, []string{"aHVudGVyMg", "c2VjcmV0"}},
		{"the episode page too", admin, "/episodes/" + state.EpisodeID("web", "Secret/web/token", t0), 200, []string{drift.MaskedChanged}, []string{"aHVudGVyMg", "c2VjcmV0"}},
		{"values show unmasked", viewerOf("team-b", false), "/targets/api-dev", 200, []string{`<td class="git"><code>2</code></td><td class="live"><code>5</code></td>`}, nil},
		{"an operator gets the actions", operatorOf("team-a"), "/targets/web", 200, []string{`action="/api/v1/targets/web/suspend"`, `action="/api/v1/targets/web/reconcile"`,
			`action="/api/v1/episodes/` + url.PathEscape(state.EpisodeID("web", "Secret/web/token", t0)) + `/accept"`}, nil},
		{"and on the episode page", operatorOf("team-a"), "/episodes/" + state.EpisodeID("web", "Secret/web/token", t0), 200, []string{`/accept" aria-label=`}, nil},
		{"a viewer does not", viewerOf("team-a", false), "/targets/web", 200, []string{"/data/token"}, []string{`method="post"`, "Actions"}},
		{"nor an operator of another tenant", operatorOf("team-a"), "/episodes/" + state.EpisodeID("api-dev", "Deployment.apps/api-dev/dev-api", t0), 403, nil, nil},
		{"and masked for maskValues", viewerOf("team-b", true), "/targets/api-dev", 200, []string{"/spec/replicas", drift.MaskedChanged}, []string{"<code>5</code>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := serveAs(m, tt.access, tt.path)
			if code != tt.code {
				t.Fatalf("%s: %d, want %d:\n%s", tt.path, code, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) && !strings.Contains(body, html.EscapeString(w)) {
					t.Errorf("%s lacks %q:\n%s", tt.path, w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("%s shows %q:\n%s", tt.path, w, body)
				}
			}
		})
	}
}

// BenchmarkConsolePages renders the index of 200 targets and the page of
// a target of 500 objects with 20 drifted ones (5 fields each), as served
// (layout and all). Run: go test ./cmd/trueup -run '^$' -bench ConsolePages
func BenchmarkConsolePages(b *testing.B) {
	var rows []targetRow
	for i := range 200 {
		rows = append(rows, targetRow{Name: fmt.Sprintf("team-%d-app", i), Tenant: "team", Destination: "prod", Commit: strings.Repeat("a", 40),
			Author: "Dev", LastReconcile: time.Now(), State: stateInSync})
	}
	index := indexPageData{Rows: rows, Total: len(rows), States: consoleStates, Destinations: []string{"prod"}, Now: time.Now()}
	page := targetPageData{Name: "app", Outcome: &reconciler.Outcome{Action: reconciler.ActionDetected, Start: time.Now()}}
	for i := range 500 {
		page.Objects = append(page.Objects, objectRow{Object: fmt.Sprintf("ConfigMap/app/cm-%d", i), Origin: "apps/app/configmaps.yaml", Status: drift.InSync})
	}
	for i := range 20 {
		ep := state.Episode{ID: fmt.Sprintf("app/Deployment.apps/app/d-%d/1", i), Target: "app", Object: fmt.Sprintf("Deployment.apps/app/d-%d", i), Drift: drift.Drifted, Status: state.EpisodeOpen}
		for f := range 5 {
			ep.Fields = append(ep.Fields, drift.FieldDiff{Path: fmt.Sprintf("/spec/template/metadata/annotations/a%d", f), Desired: "x", Live: "y"})
		}
		page.Episodes = append(page.Episodes, ep)
	}
	for _, bc := range []struct {
		name string
		exec func(*bytes.Buffer) error
	}{
		{"index-200-targets", func(w *bytes.Buffer) error { return indexPage.ExecuteTemplate(w, "layout.html", index) }},
		{"index-refresh-200-targets", func(w *bytes.Buffer) error { return indexPage.ExecuteTemplate(w, "partial", index) }},
		{"target-500-objects-20-drifted", func(w *bytes.Buffer) error { return targetPage.ExecuteTemplate(w, "layout.html", page) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var w bytes.Buffer
			for b.Loop() {
				w.Reset()
				if err := bc.exec(&w); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(w.Len())/1024, "KiB/page")
		})
	}
}

// A row counts the compliance findings that are not excepted, and shows
// the revision's author and the failure.
// The target page says why a frozen or waiting target holds its revision.
func TestTargetPageSaysWhyARevisionIsHeld(t *testing.T) {
	held := `freeze window "weekend" holds revision c0ffee1 until 2026-12-14T07:00:00Z`
	var b bytes.Buffer
	err := targetPage.ExecuteTemplate(&b, "layout.html", targetPageData{Name: "shop",
		Outcome: &reconciler.Outcome{Action: reconciler.ActionFrozen, Start: time.Now(), Held: held}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Held: " + template.HTMLEscapeString(held); !strings.Contains(b.String(), want) {
		t.Errorf("target page of a frozen target lacks %q:\n%s", want, b.String())
	}
}

// A cloud drift's actor on the target and episode pages is the CloudTrail
// identity with its call, session issuer and source address.
func TestPagesShowTheCloudActor(t *testing.T) {
	actor := &drift.Actor{Principal: "arn:aws:sts::111122223333:assumed-role/Admin/alice", SessionIssuer: "arn:aws:iam::111122223333:role/Admin",
		SourceIP: "203.0.113.7", Event: "PutBucketPublicAccessBlock"}
	ep := state.Episode{ID: "s3/bucket/1", Target: "s3", Object: "Bucket/logs", Drift: drift.Drifted, Opened: time.Unix(0, 0), Status: state.EpisodeOpen,
		Actor: actor, Fields: []drift.FieldDiff{{Path: "/spec/publicAccessBlock/blockPublicAcls", Desired: true, Live: false, Actor: actor}}}
	want := template.HTMLEscapeString(actor.Summary())
	for name, exec := range map[string]func(*bytes.Buffer) error{
		"target": func(b *bytes.Buffer) error {
			return targetPage.ExecuteTemplate(b, "layout.html", targetPageData{Name: "s3", Episodes: []state.Episode{ep},
				Outcome: &reconciler.Outcome{Action: reconciler.ActionDetected, Start: time.Now()}})
		},
		"episode": func(b *bytes.Buffer) error {
			return episodePage.ExecuteTemplate(b, "layout.html", episodePageData{Episode: ep})
		},
	} {
		var b bytes.Buffer
		if err := exec(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "from 203.0.113.7") {
			t.Errorf("%s page lacks the actor %q:\n%s", name, want, b.String())
		}
	}
}

func TestTargetRowFromOutcome(t *testing.T) {
	o := &reconciler.Outcome{Action: reconciler.ActionFailed, Err: errors.New("apply: denied"), Start: time.Unix(100, 0),
		Revision:   sources.Revision{Commit: "c0ffee", Author: sources.Person{Name: "Ada"}},
		Compliance: []policy.Finding{{Policy: "a"}, {Policy: "b", Excepted: &policy.Exception{}}, {Policy: "c"}}}
	row := targetRow{Name: "web", Episodes: 2}
	row.fill(o, false)
	want := targetRow{Name: "web", Episodes: 2, Commit: "c0ffee", Author: "Ada", LastReconcile: time.Unix(100, 0), Error: "apply: denied", Findings: 2, State: stateFailed}
	if row != want {
		t.Errorf("row %+v, want %+v", row, want)
	}
}
