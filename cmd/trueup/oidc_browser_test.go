package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trueup-dev/trueup/fixtures/browser"
	"github.com/trueup-dev/trueup/fixtures/dexenv"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// freeAddr returns a loopback address no one listens on (the OIDC
// redirect URL must be known before the daemon starts).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// demoBehindDex is the demo config for a daemon on base behind a Dex of
// its own, with the tenants and role bindings (YAML list items) that
// authz returns for that Dex's users.
func demoBehindDex(t *testing.T, env *kubeenv.Env, base string, authz func(*dexenv.Env) (tenants, roles string)) (*dexenv.Env, string) {
	t.Helper()
	dex := dexenv.Start(t, dexenv.Options{RedirectURIs: []string{base + "/auth/callback"}})
	secret := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secret, []byte(dex.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := demoSetup(t, env.Kubeconfig)
	tenants, roles := authz(dex)
	raw := readFile(t, cfg) + "tenants:" + tenants + `
server:
  publicURL: ` + base + `
  auth:
    oidc: {issuerURL: ` + dex.Issuer + `, clientID: ` + dex.ClientID + `, clientSecretFrom: {file: ` + secret + `}}
    roles:` + roles + "\n"
	if err := os.WriteFile(cfg, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	return dex, cfg
}

// The daemon's own pages behind a real OIDC login: headless Chromium asks
// 'trueup serve' for a target page, is sent to Dex, logs in as a viewer of
// team-a and comes back to the page; team-b's page is 403 and the API
// lists only team-a's target, in the same browser session.
func TestServeOIDCLoginInBrowser(t *testing.T) {
	env := kubeenv.Shared(t)
	ctx := browser.Start(t)
	addr := freeAddr(t)
	base := "http://" + addr
	dex, cfg := demoBehindDex(t, env, base, func(dex *dexenv.Env) (tenants, roles string) {
		return `
  - {name: team-a, targets: [web]}
  - {name: team-b, targets: [api-dev]}`, `
      - {role: viewer, users: [` + dex.Users[0].Email + `], tenants: [team-a]}`
	})
	alice, bob := dex.Users[0], dex.Users[1]
	startServe(t, cfg, addr, "listen")
	dir := browser.Artifacts(t)

	t.Run("a page asks for a login at Dex", func(t *testing.T) {
		if err := browser.Do(ctx, chromedp.Navigate(base+"/targets/web"), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
			t.Fatalf("open /targets/web: %v", err)
		}
		loc, _ := browser.Page(t, ctx)
		if !strings.HasPrefix(loc, dex.Issuer+"/") {
			t.Fatalf("at %s, want Dex's login page under %s", loc, dex.Issuer)
		}
		browser.Screenshot(t, ctx, dir, "1-dex-login")
	})
	t.Run("after the login the viewer sees its tenant's target", func(t *testing.T) {
		browser.DexLogin(t, ctx, alice.Email, alice.Password)
		h1, err := browser.VisibleText(ctx, "h1")
		if err != nil {
			t.Fatalf("target page after login: %v", err)
		}
		loc, _ := browser.Page(t, ctx)
		if h1 != "web" || loc != base+"/targets/web" {
			t.Fatalf("at %s showing %q, want %s/targets/web showing web", loc, h1, base)
		}
		browser.Screenshot(t, ctx, dir, "2-target-page")
	})
	t.Run("another tenant's target is forbidden", func(t *testing.T) {
		if err := browser.Do(ctx, chromedp.Navigate(base+"/targets/api-dev")); err != nil {
			t.Fatal(err)
		}
		_, text := browser.Page(t, ctx)
		if !strings.Contains(text, "forbidden") || !strings.Contains(text, "team-b") {
			t.Fatalf("team-b's page shows %q, want a 403 naming team-b", text)
		}
		browser.Screenshot(t, ctx, dir, "3-other-tenant")
	})
	t.Run("the API lists only the tenant's targets", func(t *testing.T) {
		if err := browser.Do(ctx, chromedp.Navigate(base+"/api/v1/targets")); err != nil {
			t.Fatal(err)
		}
		_, text := browser.Page(t, ctx)
		if strings.Contains(text, `"api-dev"`) {
			t.Fatalf("the viewer of team-a sees team-b's target: %s", text)
		}
	})
	t.Run("a user without a role is forbidden everywhere", func(t *testing.T) {
		ctx := browser.Start(t) // a browser of its own: no session of alice's
		if err := browser.Do(ctx, chromedp.Navigate(base+"/targets/web")); err != nil {
			t.Fatal(err)
		}
		browser.DexLogin(t, ctx, bob.Email, bob.Password)
		if err := browser.Do(ctx, chromedp.WaitVisible(chromedp.CSS("body"))); err != nil {
			t.Fatal(err)
		}
		_, text := browser.Page(t, ctx)
		if !strings.Contains(text, "forbidden") || !strings.Contains(text, bob.Email) {
			t.Fatalf("bob (no role) sees %q, want 403 naming him", text)
		}
		browser.Screenshot(t, ctx, dir, "4-no-role")
	})
}
