package gitea_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/giteaenv"
	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/gitea"
)

// every calls each Host method once on repo and pull request 1 and
// returns the errors by method name.
func every(ctx context.Context, h githost.Host, repo githost.Repo) map[string]error {
	errs := map[string]error{}
	_, _, errs["EnsurePullRequest"] = h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "t", Body: "b"})
	_, errs["GetPullRequest"] = h.GetPullRequest(ctx, repo, 1)
	_, errs["ListOpenPullRequests"] = h.ListOpenPullRequests(ctx, repo, "main")
	errs["ClosePullRequest"] = h.ClosePullRequest(ctx, repo, 1, "closing")
	_, _, errs["UpsertComment"] = h.UpsertComment(ctx, repo, 1, "<!-- m -->", "<!-- m --> body")
	errs["SetStatus"] = h.SetStatus(ctx, repo, "0123456789abcdef0123456789abcdef01234567", githost.Status{State: githost.StatusSuccess, Context: "trueup/x"})
	return errs
}

// checkErrs checks that every error wraps want, starts with the host's
// name and does not contain the token.
func checkErrs(t *testing.T, h githost.Host, token string, errs map[string]error, want error) {
	t.Helper()
	for method, err := range errs {
		switch {
		case !errors.Is(err, want):
			t.Errorf("%s: error %v, want %v", method, err, want)
		case strings.Contains(err.Error(), token):
			t.Errorf("%s: error %q contains the token", method, err)
		case !strings.HasPrefix(err.Error(), h.Name()+": "):
			t.Errorf("%s: error %q does not start with %q", method, err, h.Name())
		}
	}
}

func TestErrorsFromGitea(t *testing.T) {
	f := newFixture(t, "errors")
	ctx := t.Context()

	t.Run("missing repository is ErrNotFound", func(t *testing.T) {
		errs := every(ctx, f.host, githost.Repo{Owner: f.repo.Owner, Name: "no-such-repo"})
		checkErrs(t, f.host, f.env.Token, errs, githost.ErrNotFound)
		if msg := errs["GetPullRequest"].Error(); !strings.Contains(msg, "get pull request "+f.repo.Owner+"/no-such-repo#1") || !strings.Contains(msg, "HTTP 404") {
			t.Errorf("error %q does not name the call and the status", msg)
		}
	})

	t.Run("missing pull request is ErrNotFound", func(t *testing.T) {
		_, err := f.host.GetPullRequest(ctx, f.ghost, 999)
		checkErrs(t, f.host, f.env.Token, map[string]error{"GetPullRequest": err}, githost.ErrNotFound)
		err = f.host.ClosePullRequest(ctx, f.ghost, 999, "x")
		checkErrs(t, f.host, f.env.Token, map[string]error{"ClosePullRequest": err}, githost.ErrNotFound)
	})

	t.Run("wrong token is ErrAuth", func(t *testing.T) {
		const wrong = "0123456789abcdef0123456789abcdef01234567"
		h, err := gitea.New(f.env.URL, wrong)
		if err != nil {
			t.Fatal(err)
		}
		checkErrs(t, h, wrong, every(ctx, h, f.ghost), githost.ErrAuth)
	})

	t.Run("read-only token cannot write: ErrAuth", func(t *testing.T) {
		token := scopedToken(t, f.env, "read-only", "read:repository", "read:issue", "read:user")
		h, err := gitea.New(f.env.URL, token)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.ListOpenPullRequests(ctx, f.ghost, ""); err != nil {
			t.Fatalf("reading with a read-only token: %v", err)
		}
		_, _, err = h.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "drift", Base: "main", Title: "t", Body: "b"})
		checkErrs(t, h, token, map[string]error{"EnsurePullRequest": err}, githost.ErrAuth)
		err = h.SetStatus(ctx, f.ghost, f.shas["drift"].String(), githost.Status{State: githost.StatusPending, Context: "trueup/x"})
		checkErrs(t, h, token, map[string]error{"SetStatus": err}, githost.ErrAuth)
	})
}

func TestErrorsWithoutAnAnswer(t *testing.T) {
	const token = "secret-token-0123456789"
	repo := githost.Repo{Owner: "o", Name: "r"}

	t.Run("connection refused is ErrUnavailable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // nothing listens there any more
		h, err := gitea.New(srv.URL, token)
		if err != nil {
			t.Fatal(err)
		}
		checkErrs(t, h, token, every(t.Context(), h, repo), githost.ErrUnavailable)
	})

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	h, err := gitea.New(hang.URL, token)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("deadline is ErrUnavailable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := h.GetPullRequest(ctx, repo, 1)
		if !errors.Is(err, githost.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want ErrUnavailable and DeadlineExceeded", err)
		}
	})

	t.Run("cancellation is not ErrUnavailable", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := h.GetPullRequest(ctx, repo, 1)
		if !errors.Is(err, context.Canceled) || errors.Is(err, githost.ErrUnavailable) {
			t.Errorf("error %v, want context.Canceled only", err)
		}
	})
}

// TestErrorsNeverShowTheToken: a server (or a proxy in front of it) that
// repeats the Authorization header in its error answers, as JSON and as
// text, must not get the token into an error.
func TestErrorsNeverShowTheToken(t *testing.T) {
	const token = "c0ffee0123456789abcdef0123456789deadbeef"
	tests := []struct {
		status int
		json   bool
		want   error
	}{
		{http.StatusNotFound, true, githost.ErrNotFound},
		{http.StatusUnauthorized, true, githost.ErrAuth},
		{http.StatusForbidden, false, githost.ErrAuth},
		{http.StatusTooManyRequests, true, githost.ErrUnavailable},
		{http.StatusInternalServerError, false, githost.ErrUnavailable},
		{http.StatusBadGateway, false, githost.ErrUnavailable},
		{http.StatusServiceUnavailable, true, githost.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("HTTP %d json %v", tc.status, tc.json), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				echo := "bad request " + r.Method + " " + r.URL.Path + " with Authorization: " + r.Header.Get("Authorization") + " (" + strings.TrimPrefix(r.Header.Get("Authorization"), "token ") + ")"
				if tc.json {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tc.status)
					_ = json.NewEncoder(w).Encode(map[string]string{"message": echo, "url": "http://gitea/api/swagger"})
					return
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte("<html><body>\n" + echo + "\n</body></html>"))
			}))
			defer srv.Close()
			h, err := gitea.New(srv.URL, token)
			if err != nil {
				t.Fatal(err)
			}
			errs := every(t.Context(), h, githost.Repo{Owner: "o", Name: "r"})
			checkErrs(t, h, token, errs, tc.want)
			if msg := errs["GetPullRequest"].Error(); !strings.Contains(msg, "[REDACTED]") || !strings.Contains(msg, fmt.Sprintf("HTTP %d", tc.status)) {
				t.Errorf("error %q: want the status and the server's message with the token redacted", msg)
			}
		})
	}
}

func TestInvalidInputIsRefusedBeforeSending(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.URL)
	}))
	defer srv.Close()
	h, err := gitea.New(srv.URL, "token")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	repo := githost.Repo{Owner: "o", Name: "r"}
	calls := map[string]error{}
	_, calls["repo with a slash"] = h.GetPullRequest(ctx, githost.Repo{Owner: "o", Name: "r/../../admin"}, 1)
	_, calls["empty owner"] = h.ListOpenPullRequests(ctx, githost.Repo{Name: "r"}, "")
	_, calls["number 0"] = h.GetPullRequest(ctx, repo, 0)
	_, _, calls["same head and base"] = h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "main", Base: "main", Title: "t"})
	_, _, calls["no title"] = h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "a", Base: "main"})
	_, _, calls["body without marker"] = h.UpsertComment(ctx, repo, 1, "<!-- m -->", "body")
	calls["bad state"] = h.SetStatus(ctx, repo, "0123abcd", githost.Status{State: "warning", Context: "c"})
	calls["bad sha"] = h.SetStatus(ctx, repo, "main", githost.Status{State: githost.StatusPending, Context: "c"})
	for name, err := range calls {
		if err == nil || errors.Is(err, githost.ErrUnavailable) || errors.Is(err, githost.ErrNotFound) || errors.Is(err, githost.ErrAuth) {
			t.Errorf("%s: error %v, want a terminal error of its own", name, err)
		}
	}
}

// scopedToken creates a token of the administrator with only scopes.
func scopedToken(t *testing.T, env *giteaenv.Env, name string, scopes ...string) string {
	t.Helper()
	name = fmt.Sprintf("%s-%d", name, fixtureRuns.Add(1)) // unique on the shared server, also with -count
	b, _ := json.Marshal(map[string]any{"name": name, "scopes": scopes})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.URL+"api/v1/users/"+env.AdminUser+"/tokens", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(env.AdminUser, env.AdminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		SHA1 string `json:"sha1"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil || out.SHA1 == "" {
		t.Fatalf("create token %s: HTTP %d", name, resp.StatusCode)
	}
	return out.SHA1
}
