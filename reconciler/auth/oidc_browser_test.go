package auth_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trueup-dev/trueup/fixtures/dexenv"
	"github.com/trueup-dev/trueup/reconciler/auth"
)

// The browser tests drive Debian's headless Chromium (`make tools` installs
// it) through a real Dex (`make testenv` builds it). Like the other
// fixtures, a missing program fails the test with the command that installs
// it; nothing is skipped.

// browserTimeout bounds one browser test, stepTimeout one step of it (a
// page that never shows what the test waits for).
const (
	browserTimeout = 3 * time.Minute
	stepTimeout    = 30 * time.Second
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

// browser starts headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(1024, 768),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH: run `make tools` (it installs Debian's chromium package: apt-get install chromium)")
	return ""
}

// artifacts is where screenshots go: $TRUEUP_ARTIFACTS/<test name> when
// set (kept), else a temporary directory removed after the test.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("TRUEUP_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// screenshot saves the page as dir/name.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// page reads the location and the body's text.
func page(t *testing.T, ctx context.Context) (location, text string) {
	t.Helper()
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err == nil {
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	}
	if err != nil {
		t.Fatalf("read page: %v", err)
	}
	return location, text
}

// visibleText waits for the element that the CSS selector sel finds to be
// visible and returns its text.
func visibleText(ctx context.Context, sel string) (string, error) {
	if err := do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
}

// do runs the steps in the test's tab, within stepTimeout.
func do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// fillDexLogin submits Dex's password form.
func fillDexLogin(t *testing.T, ctx context.Context, email, password string) {
	t.Helper()
	err := do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SetValue(chromedp.CSS("#login"), email),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#submit-login")),
	)
	if err != nil {
		t.Fatalf("fill Dex's login form: %v", err)
	}
}

func TestOIDCBrowserLogin(t *testing.T) {
	ctx := browser(t)
	app := startLoginApp(t, dexenv.Options{})
	dir := artifacts(t)
	alice, bob := app.dex.Users[0], app.dex.Users[1]
	want := app.srv.URL + protectedPath + "?tab=drift"

	t.Run("anonymous is sent to Dex's login form", func(t *testing.T) {
		if err := do(ctx, chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
			t.Fatalf("open %s: %v", want, err)
		}
		loc, _ := page(t, ctx)
		if !strings.HasPrefix(loc, app.dex.Issuer+"/") {
			t.Fatalf("at %s, want Dex's login page under %s", loc, app.dex.Issuer)
		}
		screenshot(t, ctx, dir, "1-dex-login")
	})

	t.Run("a wrong password stays on Dex", func(t *testing.T) {
		fillDexLogin(t, ctx, alice.Email, alice.Password+"-wrong")
		if err := do(ctx, chromedp.WaitVisible(chromedp.CSS("#login-error"))); err != nil {
			t.Fatalf("no error on Dex's page: %v", err)
		}
		loc, text := page(t, ctx)
		if !strings.HasPrefix(loc, app.dex.Issuer+"/") || !strings.Contains(text, "Invalid") {
			t.Fatalf("at %s showing %q; want Dex's page saying the password is invalid", loc, text)
		}
		screenshot(t, ctx, dir, "2-wrong-password")
	})

	t.Run("the right password comes back to the page with the user", func(t *testing.T) {
		fillDexLogin(t, ctx, alice.Email, alice.Password)
		user, err := visibleText(ctx, "#user")
		var jsCookies string
		if err == nil {
			jsCookies, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
		}
		if err != nil {
			t.Fatalf("protected page after login: %v", err)
		}
		loc, _ := page(t, ctx)
		if user != alice.Email || loc != want {
			t.Fatalf("at %s as %q; want %s as %s", loc, user, want, alice.Email)
		}
		if strings.Contains(jsCookies, auth.SessionCookie) {
			t.Fatalf("the page's script reads the session cookie (%q): it must be HttpOnly", jsCookies)
		}
		screenshot(t, ctx, dir, "3-logged-in")
	})

	t.Run("logout ends the session", func(t *testing.T) {
		err := do(ctx, chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#logged-out")))
		var text string
		if err == nil {
			text, err = visibleText(ctx, "h1")
		}
		if err != nil || text != "Logged out" {
			t.Fatalf("logout page %q (%v), want Logged out", text, err)
		}
		screenshot(t, ctx, dir, "4-logged-out")
		if err := do(ctx, chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
			t.Fatalf("after logout, %s does not ask for a login: %v", want, err)
		}
		loc, _ := page(t, ctx)
		if !strings.HasPrefix(loc, app.dex.Issuer+"/") {
			t.Fatalf("after logout at %s, want Dex's login page", loc)
		}
	})

	t.Run("another user logs in after the logout", func(t *testing.T) {
		fillDexLogin(t, ctx, bob.Email, bob.Password)
		user, err := visibleText(ctx, "#user")
		if err != nil {
			t.Fatalf("protected page after bob's login: %v", err)
		}
		if user != bob.Email {
			t.Fatalf("page shows %q, want %s", user, bob.Email)
		}
		screenshot(t, ctx, dir, "5-bob")
	})
}

// TestOIDCBrowserLoginGroups logs in with Dex's mockCallback connector,
// whose user has a group: the groups claim of a real ID token reaches the
// session.
func TestOIDCBrowserLoginGroups(t *testing.T) {
	ctx := browser(t)
	app := startLoginApp(t, dexenv.Options{MockConnector: true})
	dir := artifacts(t)
	want := app.srv.URL + protectedPath

	// Two connectors: Dex asks which one.
	mock := `a[href*="/auth/mock"]`
	if err := do(ctx, chromedp.Navigate(want), chromedp.WaitVisible(chromedp.CSS(mock))); err != nil {
		t.Fatalf("open %s: no Dex connector choice: %v", want, err)
	}
	screenshot(t, ctx, dir, "1-dex-connectors")
	err := do(ctx, chromedp.Click(chromedp.CSS(mock)))
	var user, groups string
	if err == nil {
		user, err = visibleText(ctx, "#user")
	}
	if err == nil {
		groups, err = visibleText(ctx, "#groups")
	}
	if err != nil {
		t.Fatalf("protected page after the mock login: %v", err)
	}
	if user != dexenv.MockUser || groups != "groups: "+dexenv.MockGroup {
		t.Fatalf("page shows %q, %q; want %s with group %s", user, groups, dexenv.MockUser, dexenv.MockGroup)
	}
	screenshot(t, ctx, dir, "2-logged-in-with-groups")
}
