package auth

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/dexenv"
)

// These tests drive Dex's login form with a plain HTTP client (no browser)
// to reach the callback with a real authorization code, then change one
// thing the callback must check.

// dexApp is a relying party on a loopback server whose OIDC can be
// swapped, against one Dex.
type dexApp struct {
	srv *httptest.Server
	dex *dexenv.Env
	mux atomic.Pointer[http.ServeMux]
}

func startDexApp(t *testing.T) *dexApp {
	t.Helper()
	app := &dexApp{}
	app.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.mux.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(app.srv.Close)
	app.dex = dexenv.Start(t, dexenv.Options{RedirectURIs: []string{app.srv.URL + CallbackPath}})
	return app
}

// use makes an OIDC for the app with secret as the client secret, and
// serves it.
func (app *dexApp) use(t *testing.T, secret string) *OIDC {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := NewOIDC(ctx, OIDCOptions{
		IssuerURL:    app.dex.Issuer,
		ClientID:     app.dex.ClientID,
		ClientSecret: secret,
		RedirectURL:  app.srv.URL + CallbackPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	app.mux.Store(mux)
	return a
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// login starts a login at the app, submits Dex's password form as user,
// and returns the callback URL Dex sends the browser to, with the client
// (its jar holds the login cookie).
func (app *dexApp) login(t *testing.T, u dexenv.User) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), app.srv.URL+CallbackPath) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	resp, err := client.Get(app.srv.URL + LoginPath + "?next=%2Fapp")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no login form at %s (HTTP %d): %s", resp.Request.URL, resp.StatusCode, body)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.PostForm(action.String(), url.Values{"login": {u.Email}, "password": {u.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, app.srv.URL+CallbackPath) {
		t.Fatalf("Dex answered HTTP %d to the form with Location %q; want the callback", resp.StatusCode, loc)
	}
	return client, loc
}

// forgeLogin replaces the login cookie in the client's jar (made with
// from) with one that change edits, signed with to.
func forgeLogin(t *testing.T, from, to signer, client *http.Client, appURL string, change func(*loginState)) {
	t.Helper()
	u, _ := url.Parse(appURL)
	var ls loginState
	for _, c := range client.Jar.Cookies(u) {
		if c.Name == LoginCookie {
			if err := from.decode(purposeLogin, c.Value, time.Now(), &ls); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ls.State == "" {
		t.Fatal("no login cookie in the jar")
	}
	change(&ls)
	value, err := to.encode(purposeLogin, ls)
	if err != nil {
		t.Fatal(err)
	}
	client.Jar.SetCookies(u, []*http.Cookie{{Name: LoginCookie, Value: value, Path: "/"}})
}

// callback follows Dex's redirect to the app's callback, and no further.
func callback(t *testing.T, client *http.Client, loc string) (*http.Response, string) {
	t.Helper()
	once := *client
	once.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := once.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie && c.MaxAge > 0 {
			return c
		}
	}
	return nil
}

func TestCallbackWithDex(t *testing.T) {
	app := startDexApp(t)
	alice := app.dex.Users[0]

	t.Run("a real code starts a session", func(t *testing.T) {
		a := app.use(t, app.dex.ClientSecret)
		client, loc := app.login(t, alice)
		resp, body := callback(t, client, loc)
		c := sessionCookie(resp)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/app" || c == nil {
			t.Fatalf("callback: HTTP %d to %q, session %v; want 303 to /app with a session: %s", resp.StatusCode, resp.Header.Get("Location"), c, body)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure on http", c)
		}
		r := httptest.NewRequest(http.MethodGet, "/app", nil)
		r.AddCookie(c)
		u, ok, err := a.Authenticate(r)
		if err != nil || !ok || u.Name != alice.Email {
			t.Fatalf("Authenticate = %+v, %v, %v; want %s", u, ok, err, alice.Email)
		}
	})

	t.Run("an ID token with another nonce is refused", func(t *testing.T) {
		a := app.use(t, app.dex.ClientSecret)
		client, loc := app.login(t, alice)
		forgeLogin(t, a.cookies, a.cookies, client, app.srv.URL, func(ls *loginState) { ls.Nonce = "another-nonce" })
		resp, body := callback(t, client, loc)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "nonce") || sessionCookie(resp) != nil {
			t.Fatalf("callback: HTTP %d, session %v: %s; want 401 naming the nonce, no session", resp.StatusCode, sessionCookie(resp), body)
		}
	})

	t.Run("a code redeemed with another PKCE verifier is refused by Dex", func(t *testing.T) {
		a := app.use(t, app.dex.ClientSecret)
		client, loc := app.login(t, alice)
		forgeLogin(t, a.cookies, a.cookies, client, app.srv.URL, func(ls *loginState) { ls.Verifier = "another-verifier-another-verifier-another-verifier" })
		resp, body := callback(t, client, loc)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "refused the code exchange") || sessionCookie(resp) != nil {
			t.Fatalf("callback: HTTP %d, session %v: %s; want 502, the exchange refused, no session", resp.StatusCode, sessionCookie(resp), body)
		}
	})

	t.Run("a wrong client secret fails without showing it", func(t *testing.T) {
		wrong := "wrong-secret-" + app.dex.ClientSecret
		app.use(t, wrong)
		client, loc := app.login(t, alice)
		resp, body := callback(t, client, loc)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "invalid_client") || sessionCookie(resp) != nil {
			t.Fatalf("callback: HTTP %d: %s; want 502 naming invalid_client, no session", resp.StatusCode, body)
		}
		if strings.Contains(body, wrong) || strings.Contains(body, app.dex.ClientSecret) {
			t.Fatalf("the page shows the client secret: %s", body)
		}
		u, _ := url.Parse(loc)
		if code := u.Query().Get("code"); code == "" || strings.Contains(body, code) {
			t.Fatalf("the page shows the code (or Dex sent none): %s", body)
		}
	})

	t.Run("a login cookie signed with another key is refused", func(t *testing.T) {
		a := app.use(t, app.dex.ClientSecret)
		client, loc := app.login(t, alice)
		forgeLogin(t, a.cookies, signer{key: key(42)}, client, app.srv.URL, func(*loginState) {})
		resp, body := callback(t, client, loc)
		if resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Fatalf("callback: HTTP %d: %s; want 400, no session", resp.StatusCode, body)
		}
	})
}
