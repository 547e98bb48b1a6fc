package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/trueup-dev/trueup/reconciler/config"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testOIDC is an OIDC whose provider is never called: enough for the
// cookies, the login redirect and Authenticate.
func testOIDC(key []byte, secure bool) *OIDC {
	return &OIDC{
		oauth: oauth2.Config{
			ClientID:    "trueup",
			Endpoint:    oauth2.Endpoint{AuthURL: "https://idp.example/auth", TokenURL: "https://idp.example/token"},
			RedirectURL: "https://trueup.example/auth/callback",
			Scopes:      DefaultScopes,
		},
		cookies: signer{key: key},
		ttl:     DefaultSessionTTL,
		secure:  secure,
		now:     func() time.Time { return testNow },
	}
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func requestWithSession(value string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/targets", nil)
	if value != "" {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: value})
	}
	return r
}

func TestSessionCookie(t *testing.T) {
	a := testOIDC(key(1), false)
	valid, err := a.cookies.encode(purposeSession, session{User: "alice@example.com", Groups: []string{"team-a"}, Expires: testNow.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, _ := strings.Cut(valid, ".")
	// The same JSON with another user, under the original signature.
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"u":"admin@example.com","g":["admins"],"e":` + strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10) + `}`))
	otherKey, _ := signer{key: key(2)}.encode(purposeSession, session{User: "alice@example.com", Expires: testNow.Add(time.Hour).Unix()})
	expired, _ := a.cookies.encode(purposeSession, session{User: "alice@example.com", Expires: testNow.Unix()})
	login, _ := a.cookies.encode(purposeLogin, loginState{State: "s", Expires: testNow.Add(time.Hour).Unix()})
	noUser, _ := a.cookies.encode(purposeSession, session{Expires: testNow.Add(time.Hour).Unix()})

	tests := []struct {
		name    string
		cookie  string
		want    User
		wantOK  bool
		wantErr error
	}{
		{name: "valid", cookie: valid, want: User{Name: "alice@example.com", Groups: []string{"team-a"}}, wantOK: true},
		{name: "no cookie", cookie: ""},
		{name: "payload changed", cookie: forgedPayload + "." + sig, wantErr: ErrSessionInvalid},
		{name: "signature changed", cookie: payload + "." + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), wantErr: ErrSessionInvalid},
		{name: "signature cut", cookie: payload + "." + sig[:len(sig)-2], wantErr: ErrSessionInvalid},
		{name: "no signature", cookie: payload, wantErr: ErrSessionInvalid},
		{name: "signed with another key", cookie: otherKey, wantErr: ErrSessionInvalid},
		{name: "expired", cookie: expired, wantErr: ErrSessionExpired},
		{name: "login cookie as session", cookie: login, wantErr: ErrSessionInvalid},
		{name: "no user", cookie: noUser, wantErr: ErrSessionInvalid},
		{name: "garbage", cookie: "%%%.%%%", wantErr: ErrSessionInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok, err := a.Authenticate(requestWithSession(tt.cookie))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ok != tt.wantOK || !reflect.DeepEqual(u, tt.want) {
				t.Fatalf("Authenticate = %+v, %v; want %+v, %v", u, ok, tt.want, tt.wantOK)
			}
			if err != nil && strings.Contains(err.Error(), tt.cookie) {
				t.Fatalf("error %q quotes the cookie", err)
			}
		})
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct {
		next string
		want string // "" = refused
	}{
		{next: "", want: "/"},
		{next: "/", want: "/"},
		{next: "/targets/app?tab=drift#x", want: "/targets/app?tab=drift#x"},
		{next: "/history?since=2026-01-01", want: "/history?since=2026-01-01"},
		{next: "https://evil.example/"},
		{next: "http:evil.example"},
		{next: "//evil.example/path"},
		{next: "/\\evil.example"},
		{next: "\\\\evil.example"},
		{next: "/\tevil"},
		{next: "/\n/evil.example"},
		{next: "javascript:alert(1)"},
		{next: "targets"},
		{next: "?next=/"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			got, err := localPath(tt.next)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("localPath(%q) = %q, want refused", tt.next, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("localPath(%q) = %q, %v; want %q", tt.next, got, err, tt.want)
			}
		})
	}
}

func TestLoginRefusesOpenRedirect(t *testing.T) {
	mux := http.NewServeMux()
	testOIDC(key(1), true).Register(mux)
	for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example"} {
		t.Run(next, func(t *testing.T) {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, LoginPath+"?next="+url.QueryEscape(next), nil))
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", w.Code, w.Body)
			}
			if loc := w.Header().Get("Location"); loc != "" {
				t.Fatalf("redirects to %q", loc)
			}
			if len(w.Result().Cookies()) != 0 {
				t.Fatalf("sets cookies %v", w.Result().Cookies())
			}
			if !strings.Contains(w.Body.String(), "not a path on this server") {
				t.Fatalf("body does not say why: %s", w.Body)
			}
		})
	}
}

func TestLoginRedirectsToProvider(t *testing.T) {
	for _, secure := range []bool{false, true} {
		a := testOIDC(key(1), secure)
		mux := http.NewServeMux()
		a.Register(mux)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, LoginPath+"?next=%2Ftargets%2Fapp", nil))
		if w.Code != http.StatusFound {
			t.Fatalf("status %d, want 302", w.Code)
		}
		loc, err := url.Parse(w.Header().Get("Location"))
		if err != nil || loc.Host != "idp.example" {
			t.Fatalf("Location %q, want the provider", w.Header().Get("Location"))
		}
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Name != LoginCookie {
			t.Fatalf("cookies %v, want one %s", cookies, LoginCookie)
		}
		c := cookies[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure {
			t.Fatalf("cookie HttpOnly=%v SameSite=%v Secure=%v; want true, Lax, %v", c.HttpOnly, c.SameSite, c.Secure, secure)
		}
		var ls loginState
		if err := a.cookies.decode(purposeLogin, c.Value, testNow, &ls); err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		want := map[string]string{
			"state":                 ls.State,
			"nonce":                 ls.Nonce,
			"code_challenge":        oauth2.S256ChallengeFromVerifier(ls.Verifier),
			"code_challenge_method": "S256",
			"client_id":             "trueup",
			"redirect_uri":          "https://trueup.example/auth/callback",
			"response_type":         "code",
		}
		for k, v := range want {
			if q.Get(k) != v || v == "" {
				t.Errorf("%s=%q, want %q", k, q.Get(k), v)
			}
		}
		if ls.Next != "/targets/app" {
			t.Errorf("next %q, want /targets/app", ls.Next)
		}
	}
}

func TestCallbackRefusesForeignState(t *testing.T) {
	a := testOIDC(key(1), false)
	mux := http.NewServeMux()
	a.Register(mux)
	ls := loginState{State: "mine", Nonce: "n", Verifier: "v", Next: "/", Expires: testNow.Add(time.Minute).Unix()}
	value, _ := a.cookies.encode(purposeLogin, ls)
	for name, tc := range map[string]struct {
		query  string
		cookie string
	}{
		"other state":    {query: "state=theirs&code=c", cookie: value},
		"no login":       {query: "state=mine&code=c"},
		"forged login":   {query: "state=mine&code=c", cookie: mustEncode(t, signer{key: key(9)}, ls)},
		"provider error": {query: "error=access_denied&error_description=no", cookie: value},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, CallbackPath+"?"+tc.query, nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: LoginCookie, Value: tc.cookie})
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code < 400 {
				t.Fatalf("status %d, want an error", w.Code)
			}
			for _, c := range w.Result().Cookies() {
				if c.Name == SessionCookie && c.MaxAge >= 0 {
					t.Fatalf("session cookie set: %v", c)
				}
			}
		})
	}
}

func mustEncode(t *testing.T, s signer, v sealed) string {
	t.Helper()
	out, err := s.encode(purposeLogin, v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogout(t *testing.T) {
	a := testOIDC(key(1), true)
	mux := http.NewServeMux()
	a.Register(mux)

	r := httptest.NewRequest(http.MethodPost, "https://trueup.example"+LogoutPath, nil)
	r.Header.Set("Origin", "https://evil.example")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Fatalf("cross-site logout: status %d, cookies %v; want 403 and none", w.Code, w.Result().Cookies())
	}

	r = httptest.NewRequest(http.MethodPost, "https://trueup.example"+LogoutPath, nil)
	r.Header.Set("Origin", "https://trueup.example")
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	cookies := w.Result().Cookies()
	if w.Code != http.StatusOK || len(cookies) != 1 || cookies[0].Name != SessionCookie || cookies[0].MaxAge >= 0 {
		t.Fatalf("logout: status %d, cookies %v; want 200 and the session cookie deleted", w.Code, cookies)
	}
}

func TestExchangeErrorHidesResponse(t *testing.T) {
	secret := "s3cr3t-client-secret"
	err := exchangeError(&oauth2.RetrieveError{
		Response:  &http.Response{StatusCode: http.StatusUnauthorized},
		Body:      []byte(`{"error":"invalid_client","echo":"` + secret + `"}`),
		ErrorCode: "invalid_client",
	})
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("error %q: want the error code and not the body", err)
	}
}

func TestOIDCOptionsDefaults(t *testing.T) {
	o, secure, err := OIDCOptions{IssuerURL: "http://idp", ClientID: "c", RedirectURL: "https://t.example/auth/callback"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !secure || o.UsernameClaim != "email" || o.GroupsClaim != "groups" || o.SessionTTL != 8*time.Hour ||
		len(o.SessionKey) != 32 || !reflect.DeepEqual(o.Scopes, DefaultScopes) || o.HTTPClient == nil {
		t.Fatalf("defaults: %+v secure=%v", o, secure)
	}
	for name, bad := range map[string]OIDCOptions{
		"short key":     {IssuerURL: "http://idp", ClientID: "c", RedirectURL: "http://t/auth/callback", SessionKey: []byte("short")},
		"other path":    {IssuerURL: "http://idp", ClientID: "c", RedirectURL: "http://t/callback"},
		"relative":      {IssuerURL: "http://idp", ClientID: "c", RedirectURL: "/auth/callback"},
		"no client id":  {IssuerURL: "http://idp", RedirectURL: "http://t/auth/callback"},
		"no issuer url": {ClientID: "c", RedirectURL: "http://t/auth/callback"},
	} {
		if _, _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o, _, _ = OIDCOptions{IssuerURL: "http://idp", ClientID: "c", RedirectURL: "http://t/auth/callback", Scopes: []string{"email"}}.withDefaults()
	if !reflect.DeepEqual(o.Scopes, []string{"openid", "email"}) {
		t.Fatalf("scopes %v, want openid added", o.Scopes)
	}
}

func TestOIDCOptionsFromConfig(t *testing.T) {
	t.Setenv("TRUEUP_TEST_OIDC_SECRET", "client-secret")
	t.Setenv("TRUEUP_TEST_SESSION_KEY", strings.Repeat("k", 40))
	s := config.Server{
		PublicURL: "https://trueup.example.com/",
		Auth: &config.ServerAuth{
			OIDC: &config.OIDC{
				IssuerURL:        "https://dex.example.com/dex",
				ClientID:         "trueup",
				ClientSecretFrom: &config.SecretRef{Env: "TRUEUP_TEST_OIDC_SECRET"},
				GroupsClaim:      "roles",
			},
			SessionKeyFrom: &config.SecretRef{Env: "TRUEUP_TEST_SESSION_KEY"},
		},
	}
	o, err := OIDCOptionsFromConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	if o.RedirectURL != "https://trueup.example.com/auth/callback" || o.ClientSecret != "client-secret" ||
		string(o.SessionKey) != strings.Repeat("k", 40) || o.GroupsClaim != "roles" {
		t.Fatalf("options %+v", o)
	}
	t.Setenv("TRUEUP_TEST_SESSION_KEY", "short")
	if _, err := OIDCOptionsFromConfig(s); err == nil || !strings.Contains(err.Error(), "server.auth.sessionKeyFrom") || strings.Contains(err.Error(), "short") {
		t.Fatalf("short key: err = %v, want one naming the field and not the key", err)
	}
}

func TestRedirectToLogin(t *testing.T) {
	a := testOIDC(key(1), true)
	r := httptest.NewRequest(http.MethodGet, "/targets/app?tab=drift", nil)
	w := httptest.NewRecorder()
	a.RedirectToLogin(w, r)
	want := LoginPath + "?next=" + url.QueryEscape("/targets/app?tab=drift")
	if w.Code != http.StatusFound || w.Header().Get("Location") != want {
		t.Fatalf("HTTP %d to %q, want 302 to %q", w.Code, w.Header().Get("Location"), want)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != SessionCookie || cookies[0].MaxAge >= 0 {
		t.Fatalf("cookies %v, want the session cookie deleted", cookies)
	}
}
