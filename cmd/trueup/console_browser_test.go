package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trueup-dev/trueup/fixtures/browser"
	"github.com/trueup-dev/trueup/fixtures/dexenv"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// consoleDaemon runs 'trueup serve' (watching the cluster) on the demo
// config behind Dex: alice operates team-a (web) and views team-b
// (api-dev). It returns the daemon's base URL, a browser logged in as
// alice on /, and where screenshots go.
func consoleDaemon(t *testing.T, env *kubeenv.Env) (base string, ctx context.Context, dir string) {
	t.Helper()
	ctx = browser.Start(t)
	addr := freeAddr(t)
	base = "http://" + addr
	dex, cfg := demoBehindDex(t, env, base, func(dex *dexenv.Env) (tenants, roles string) {
		return `
  - {name: team-a, targets: [web], namespaces: [web], createNamespaces: true}
  - {name: team-b, targets: [api-dev], namespaces: [api-dev], createNamespaces: true}`, `
      - {role: operator, users: [` + dex.Users[0].Email + `], tenants: [team-a]}
      - {role: viewer, users: [` + dex.Users[0].Email + `], tenants: [team-b]}`
	})
	alice := dex.Users[0]
	// api-dev only alerts on drift: undo what other tests on the shared
	// control plane may have left (nothing to undo on a fresh one).
	_, _ = kubectlTry(env, "-n", "api-dev", "scale", "deployment", "dev-api", "--replicas=2")
	d := startDaemonOn(t, cfg, addr)
	waitUntil(t, "both targets to reconcile", func() bool {
		return len(d.records(t, "--type", history.TypeReconcile, "--target", "web")) > 0 && len(d.records(t, "--type", history.TypeReconcile, "--target", "api-dev")) > 0
	})
	dir = browser.Artifacts(t)
	if err := browser.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("open /: %v", err)
	}
	browser.DexLogin(t, ctx, alice.Email, alice.Password)
	if err := browser.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#targets"))); err != nil {
		loc, text := browser.Page(t, ctx)
		t.Fatalf("after the login, at %s showing %q: %v", loc, text, err)
	}
	return base, ctx, dir
}

// text is the text of the first element sel finds, "" when none.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(n)
}

// shownTargets are the targets of the index's rows, in order.
func shownTargets(t *testing.T, ctx context.Context) []string {
	t.Helper()
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#rows tr[data-target]')].map(r => r.dataset.target)`))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	code, err := browser.Open(ctx, url)
	if err != nil || code != 200 {
		t.Fatalf("open %s: %d %v", url, code, err)
	}
}

// The web console in headless Chromium against a daemon reconciling into
// the real control plane: the index, its filters and search, every link it
// leads to, a kubectl edit showing up without a reload, the target and
// episode pages with the field diff, and the history with its exports.
func TestConsoleInBrowser(t *testing.T) {
	env := kubeenv.Shared(t)
	base, ctx, dir := consoleDaemon(t, env)

	t.Run("the index lists every target the user may see", func(t *testing.T) {
		if got := shownTargets(t, ctx); !slices.Equal(got, []string{"web", "api-dev"}) {
			t.Fatalf("the index shows %v, want web and api-dev", got)
		}
		for _, target := range []string{"web", "api-dev"} {
			row := `#rows tr[data-target="` + target + `"]`
			if st := text(t, ctx, row+" .state"); st != stateInSync {
				t.Errorf("%s is %q, want %q", target, st, stateInSync)
			}
			if rev := text(t, ctx, row+" code"); len(rev) != 12 {
				t.Errorf("%s shows revision %q, want a short SHA", target, rev)
			}
		}
		browser.Screenshot(t, ctx, dir, "1-index")
	})
	t.Run("search and filters are a plain GET form", func(t *testing.T) {
		code, err := browser.Follow(ctx, chromedp.SetValue(chromedp.CSS("#q"), "api"), chromedp.Click(chromedp.CSS("form.filters button")))
		if err != nil || code != 200 {
			t.Fatalf("submit the search: %d %v", code, err)
		}
		if loc, _ := browser.Page(t, ctx); !strings.Contains(loc, "q=api") {
			t.Fatalf("the search went to %s", loc)
		}
		if got := shownTargets(t, ctx); !slices.Equal(got, []string{"api-dev"}) {
			t.Fatalf("searching api shows %v", got)
		}
		browser.Screenshot(t, ctx, dir, "2-search")
		open(t, ctx, base+"/?state=failed")
		if got := shownTargets(t, ctx); len(got) != 0 {
			t.Fatalf("state=failed shows %v", got)
		}
		open(t, ctx, base+"/?destination=local&state="+stateInSync)
		if got := shownTargets(t, ctx); len(got) != 2 {
			t.Fatalf("destination local, in sync shows %v", got)
		}
	})
	t.Cleanup(func() { _, _ = kubectlTry(env, "-n", "api-dev", "scale", "deployment", "dev-api", "--replicas=2") })
	t.Run("a kubectl edit shows up on the index without a reload", func(t *testing.T) {
		open(t, ctx, base+"/")
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.trueupMarker = 'this page'`)); err != nil {
			t.Fatal(err)
		}
		kubectl(t, env, "-n", "api-dev", "scale", "deployment", "dev-api", "--replicas=5")
		waitUntil(t, "api-dev to show as drifted", func() bool { return text(t, ctx, `#rows tr[data-target="api-dev"] .state`) == stateDrifted })
		if m, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.trueupMarker`)); err != nil || m != "this page" {
			t.Fatalf("the page was reloaded (marker %q, %v)", m, err)
		}
		if n := text(t, ctx, `#rows tr[data-target="api-dev"] td:nth-child(7)`); n != "1" {
			t.Errorf("api-dev shows %q open drift episodes, want 1", n)
		}
		browser.Screenshot(t, ctx, dir, "3-drifted")
	})
	t.Run("the target page shows the drift Git | live", func(t *testing.T) {
		open(t, ctx, base+"/targets/api-dev")
		diff := text(t, ctx, "#episodes + section table.diff tbody")
		if !strings.Contains(diff, "/spec/replicas\t2\t5") {
			t.Errorf("the drift table reads %q, want /spec/replicas, 2 in Git, 5 live", diff)
		}
		if origin := text(t, ctx, "#objects + table tbody td"); !strings.HasPrefix(origin, "apps/api/") {
			t.Errorf("the first object's origin file is %q, want one under apps/api/", origin)
		}
		browser.Screenshot(t, ctx, dir, "4-target")
		if code, err := browser.Follow(ctx, chromedp.Click(chromedp.CSS("#episodes + section h3 a"))); err != nil || code != 200 {
			t.Fatalf("follow the episode's link: %d %v", code, err)
		}
		if h1 := text(t, ctx, "h1"); h1 != "Drift of Deployment.apps/api-dev/dev-api" {
			t.Errorf("the episode page reads %q", h1)
		}
		browser.Screenshot(t, ctx, dir, "5-episode")
	})
	t.Run("every link from / leads to a page", func(t *testing.T) {
		pages := crawl(t, ctx, base+"/", 2, 80)
		for _, want := range []string{base + "/targets/api-dev", base + "/history", base + "/api/v1/targets"} {
			if !slices.Contains(pages, want) {
				t.Errorf("the crawl did not reach %s: %v", want, pages)
			}
		}
		t.Logf("%d pages crawled, every one 200", len(pages))
	})
	t.Run("the history shows the drift and exports it", func(t *testing.T) {
		open(t, ctx, base+"/history?target=api-dev&type=drift-opened")
		if rows := text(t, ctx, "#records tbody"); !strings.Contains(rows, "drift-opened\tapi-dev\tDeployment.apps/api-dev/dev-api") {
			t.Fatalf("the history reads %q", rows)
		}
		browser.Screenshot(t, ctx, dir, "6-history")
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('export-csv').href`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := browser.Fetch(ctx, href)
		if err != nil || got.Status != 200 {
			t.Fatalf("export %s: %d %v", href, got.Status, err)
		}
		rows, err := csv.NewReader(strings.NewReader(got.Body)).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][2] != history.TypeDriftOpened || rows[1][4] != "Deployment.apps/api-dev/dev-api" {
			t.Fatalf("the CSV export (%v) reads %q", err, rows)
		}
		got, err = browser.Fetch(ctx, strings.Replace(href, "format=csv", "format=json", 1))
		var recs []history.Record
		if err != nil || json.Unmarshal([]byte(got.Body), &recs) != nil || len(recs) != 1 || recs[0].Target != "api-dev" {
			t.Fatalf("the JSON export (%v) reads %s", err, got.Body)
		}
	})
	t.Run("the pages pass axe-core's WCAG 2.1 A and AA checks", func(t *testing.T) {
		open(t, ctx, base+"/targets/api-dev")
		episode, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#episodes + section h3 a').getAttribute('href')`))
		if err != nil {
			t.Fatal(err)
		}
		// web's page has the operator's forms, api-dev's a drift.
		for _, path := range []string{"/", "/?q=web&state=in+sync", "/targets/web", "/targets/api-dev", episode, "/history", "/history?target=api-dev&type=drift-opened", "/history/1"} {
			open(t, ctx, base+path)
			violations, passed := browser.Axe(t, ctx)
			if len(violations) > 0 || passed < 20 {
				t.Errorf("%s: %d rules passed, violations: %+v", path, passed, violations)
			}
		}
	})
	t.Cleanup(func() { _, _ = kubectlTry(env, "-n", "web", "scale", "deployment", "web", "--replicas=2") })
	t.Run("an operator suspends a target in the browser and resumes it", func(t *testing.T) {
		open(t, ctx, base+"/targets/api-dev")
		if n := text(t, ctx, "#actions"); n != "" {
			t.Fatalf("alice, a viewer of api-dev's tenant, is offered actions: %q", n)
		}
		open(t, ctx, base+"/targets/web")
		code, err := browser.Follow(ctx, chromedp.SetValue(chromedp.CSS("#suspend-reason"), "hands off during the demo"), chromedp.Click(chromedp.CSS("#suspend")))
		if err != nil || code != 200 {
			t.Fatalf("suspend: %d %v", code, err)
		}
		if loc, _ := browser.Page(t, ctx); loc != base+"/targets/web" {
			t.Fatalf("the suspend form led to %s", loc)
		}
		if s := text(t, ctx, "#suspension"); !strings.Contains(s, "Suspended by alice@example.com") || !strings.Contains(s, "hands off during the demo") {
			t.Fatalf("the page says %q, want who suspended it and why", s)
		}
		browser.Screenshot(t, ctx, dir, "7-suspended")
		// Suspended, the daemon leaves a kubectl edit alone.
		kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=4")
		time.Sleep(3 * time.Second)
		replicas := func() string {
			return kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}")
		}
		if r := replicas(); r != "4" {
			t.Fatalf("the suspended target's Deployment has %s replicas, want the edit's 4 left alone", r)
		}
		open(t, ctx, base+"/")
		if st := text(t, ctx, `#rows tr[data-target="web"] .state`); st != stateSuspended {
			t.Errorf("the index shows web %q, want %q", st, stateSuspended)
		}
		open(t, ctx, base+"/targets/web")
		if code, err := browser.Follow(ctx, chromedp.Click(chromedp.CSS("#resume"))); err != nil || code != 200 {
			t.Fatalf("resume: %d %v", code, err)
		}
		waitUntil(t, "the resumed target to heal the edit", func() bool { return replicas() == "2" })
		open(t, ctx, base+"/history?target=web&order=asc")
		rows := text(t, ctx, "#records tbody")
		suspend := strings.Index(rows, "suspend\tweb\t\t\talice@example.com\tsuspended\treconciles suspended: hands off during the demo")
		resume := strings.Index(rows, "resume\tweb\t\t\talice@example.com\tresumed")
		heal := strings.LastIndex(rows, "heal\tweb\tDeployment.apps/web/web")
		if suspend < 0 || resume < suspend || heal < resume {
			t.Fatalf("the history of web lacks suspend, resume by alice and then the heal, in order:\n%s", rows)
		}
		browser.Screenshot(t, ctx, dir, "8-history-of-the-action")
	})
}

// crawl follows the links of start's page and of the pages they lead to,
// depth levels deep and at most limit pages, each once, and fails on a
// page that does not answer 200. Exports (format=) are fetched instead:
// they are downloads. It returns the pages it opened.
func crawl(t *testing.T, ctx context.Context, start string, depth, limit int) []string {
	t.Helper()
	seen := map[string]bool{start: true}
	level, pages := []string{start}, []string{}
	for d := 0; d <= depth && len(level) > 0; d++ {
		var next []string
		for _, u := range level {
			if len(pages) == limit {
				return pages
			}
			if strings.Contains(u, "format=") {
				got, err := browser.Fetch(ctx, u)
				if err != nil || got.Status != 200 {
					t.Errorf("fetch %s: %d %v", u, got.Status, err)
				}
				continue
			}
			code, err := browser.Open(ctx, u)
			if err != nil || code != 200 {
				t.Errorf("open %s: %d %v", u, code, err)
				continue
			}
			pages = append(pages, u)
			if strings.Contains(u, "/api/") {
				continue
			}
			links, err := browser.Links(ctx)
			if err != nil {
				t.Fatalf("links of %s: %v", u, err)
			}
			for _, l := range links {
				if !seen[l] {
					seen[l] = true
					next = append(next, l)
				}
			}
		}
		level = next
	}
	return pages
}
