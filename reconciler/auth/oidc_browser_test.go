package auth_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trueup-dev/trueup/fixtures/browser"
	"github.com/trueup-dev/trueup/fixtures/dexenv"
	"github.com/trueup-dev/trueup/reconciler/auth"
)

// protectedPath is the test's page behind the login.
const protectedPath = "/app/page"

// loginApp serves the OIDC routes and a page that needs a user: without a
// session it sends the browser to the login, with one it prints the user
// and their groups and offers a logout button.
type loginApp struct {
	srv  *httptest.Server
	oidc *auth.OIDC
	dex  *dexenv.Env
}

func startLoginApp(t *testing.T, o dexenv.Options) *loginApp {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	o.RedirectURIs = []string{srv.URL + auth.CallbackPath}
	dex := dexenv.Start(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := auth.NewOIDC(ctx, auth.OIDCOptions{
		IssuerURL:    dex.Issuer,
		ClientID:     dex.ClientID,
		ClientSecret: dex.ClientSecret,
		RedirectURL:  srv.URL + auth.CallbackPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Register(mux)
	mux.HandleFunc("GET "+protectedPath, func(w http.ResponseWriter, r *http.Request) {
		u, ok, err := a.Authenticate(r)
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
		case !ok:
			a.RedirectToLogin(w, r)
		default:
			fmt.Fprintf(w, `<!doctype html><title>protected</title><h1 id="user">%s</h1><p id="groups">groups: %s</p>
<form method="post" action="%s"><button id="logout" type="submit">Log out</button></form>`,
				html.EscapeString(u.Name), html.EscapeString(strings.Join(u.Groups, ",")), auth.LogoutPath)
		}
	})
	return &loginApp{srv: srv, oidc: a, dex: dex}
}

func TestOIDCBrowserLogin(t *testing.T) {
	ctx := browser.Start(t)
	app := startLoginApp(t, dexenv.Options{})
	dir := browser.Artifacts(t)
	alice, bob := app.dex.Users[0], app.dex.Users[1]
	want := app.srv.URL + protectedPath + "?tab=drift"

	t.Run("anonymous is sent to Dex's login form", func(t *testing.T) {
		if err := browser.Do(ctx, chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
			t.Fatalf("open %s: %v", want, err)
		}
		loc, _ := browser.Page(t, ctx)
		if !strings.HasPrefix(loc, app.dex.Issuer+"/") {
			t.Fatalf("at %s, want Dex's login page under %s", loc, app.dex.Issuer)
		}
		browser.Screenshot(t, ctx, dir, "1-dex-login")
	})

	t.Run("a wrong password stays on Dex", func(t *testing.T) {
		browser.DexSubmit(t, ctx, alice.Email, alice.Password+"-wrong")
		if err := browser.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#login-error"))); err != nil {
			t.Fatalf("no error on Dex's page: %v", err)
		}
		loc, text := browser.Page(t, ctx)
		if !strings.HasPrefix(loc, app.dex.Issuer+"/") || !strings.Contains(text, "Invalid") {
			t.Fatalf("at %s showing %q; want Dex's page saying the password is invalid", loc, text)
		}
		browser.Screenshot(t, ctx, dir, "2-wrong-password")
	})

	t.Run("the right password comes back to the page with the user", func(t *testing.T) {
		browser.DexLogin(t, ctx, alice.Email, alice.Password)
		user, err := browser.VisibleText(ctx, "#user")
		var jsCookies string
		if err == nil {
			jsCookies, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
		}
		if err != nil {
			t.Fatalf("protected page after login: %v", err)
		}
		loc, _ := browser.Page(t, ctx)
		if user != alice.Email || loc != want {
			t.Fatalf("at %s as %q; want %s as %s", loc, user, want, alice.Email)
		}
		if strings.Contains(jsCookies, auth.SessionCookie) {
			t.Fatalf("the page's script reads the session cookie (%q): it must be HttpOnly", jsCookies)
		}
		browser.Screenshot(t, ctx, dir, "3-logged-in")
	})

	t.Run("logout ends the session", func(t *testing.T) {
		err := browser.Do(ctx, chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#logged-out")))
		var text string
		if err == nil {
			text, err = browser.VisibleText(ctx, "h1")
		}
		if err != nil || text != "Logged out" {
			t.Fatalf("logout page %q (%v), want Logged out", text, err)
		}
		browser.Screenshot(t, ctx, dir, "4-logged-out")
		if err := browser.Do(ctx, chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
			t.Fatalf("after logout, %s does not ask for a login: %v", want, err)
		}
		loc, _ := browser.Page(t, ctx)
		if !strings.HasPrefix(loc, app.dex.Issuer+"/") {
			t.Fatalf("after logout at %s, want Dex's login page", loc)
		}
	})

	t.Run("another user logs in after the logout", func(t *testing.T) {
		browser.DexLogin(t, ctx, bob.Email, bob.Password)
		user, err := browser.VisibleText(ctx, "#user")
		if err != nil {
			t.Fatalf("protected page after bob's login: %v", err)
		}
		if user != bob.Email {
			t.Fatalf("page shows %q, want %s", user, bob.Email)
		}
		browser.Screenshot(t, ctx, dir, "5-bob")
	})
}

// TestOIDCBrowserLoginGroups logs in with Dex's mockCallback connector,
// whose user has a group: the groups claim of a real ID token reaches the
// session.
func TestOIDCBrowserLoginGroups(t *testing.T) {
	ctx := browser.Start(t)
	app := startLoginApp(t, dexenv.Options{MockConnector: true})
	dir := browser.Artifacts(t)
	want := app.srv.URL + protectedPath

	// Two connectors: Dex asks which one.
	mock := `a[href*="/auth/mock"]`
	if err := browser.Do(ctx, chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS(mock))); err != nil {
		t.Fatalf("open %s: no Dex connector choice: %v", want, err)
	}
	browser.Screenshot(t, ctx, dir, "1-dex-connectors")
	err := browser.Do(ctx, chromedp.Click(chromedp.CSS(mock)))
	var user, groups string
	if err == nil {
		user, err = browser.VisibleText(ctx, "#user")
	}
	if err == nil {
		groups, err = browser.VisibleText(ctx, "#groups")
	}
	if err != nil {
		t.Fatalf("protected page after the mock login: %v", err)
	}
	if user != dexenv.MockUser || groups != "groups: "+dexenv.MockGroup {
		t.Fatalf("page shows %q, %q; want %s with group %s", user, groups, dexenv.MockUser, dexenv.MockGroup)
	}
	browser.Screenshot(t, ctx, dir, "2-logged-in-with-groups")
}
