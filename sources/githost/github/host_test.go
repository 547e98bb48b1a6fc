package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/github"
)

const token = "ghp_faketoken0123456789abcdefABCDEF0123"

var repo = githost.Repo{Owner: fakeOwner, Name: fakeRepo}

// sha is a full commit id made from n.
func sha(n int) string { return fmt.Sprintf("%040x", n) }

func newHost(t *testing.T, f *fakeGitHub, opts ...github.Option) *github.Host {
	t.Helper()
	h, err := github.New(f.URL(), token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// setup is a fake with branches main, release, drift, other and stale,
// and a Host on it.
func setup(t *testing.T) (*fakeGitHub, *github.Host) {
	f := newFakeGitHub(t, token)
	for i, b := range []string{"main", "release", "drift", "other", "stale", "trueup/web"} {
		f.addBranch(b, sha(i+1))
	}
	return f, newHost(t, f)
}

// step runs one step of a scenario; a failed step ends the scenario.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

func wantRequests(t *testing.T, f *fakeGitHub, want ...string) {
	t.Helper()
	if got := f.takeRequests(); !slices.Equal(got, want) {
		t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestNew(t *testing.T) {
	h, err := github.New("", token)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name() != "github https://api.github.com" {
		t.Errorf("Name() = %q, want GitHub.com's API", h.Name())
	}
	ghe, err := github.New("https://ghe.example.com/api/v3", token)
	if err != nil || ghe.Name() != "github https://ghe.example.com/api/v3" {
		t.Errorf("GitHub Enterprise: %v, %v", ghe, err)
	}
	for _, s := range []string{h.String(), fmt.Sprint(h), fmt.Sprintf("%+v", h), fmt.Sprintf("%#v", h), fmt.Sprintf("%+v", reflect.ValueOf(h).Elem()), fmt.Sprintf("%#v", reflect.ValueOf(h).Elem())} {
		if strings.Contains(s, token) {
			t.Errorf("%q shows the token", s)
		}
	}
	for _, bad := range []struct{ url, token string }{{"", ""}, {"ftp://x", token}, {"https://user:pw@ghe.example.com/api/v3", token}} {
		if _, err := github.New(bad.url, bad.token); err == nil {
			t.Errorf("New(%q, %q) succeeded", bad.url, bad.token)
		}
	}
}

func TestPullRequestLifecycle(t *testing.T) {
	f, h := setup(t)
	ctx := t.Context()
	var first githost.PullRequest
	listDrift := "GET /repos/octo-org/deploy/pulls?base=main&direction=asc&head=octo-org%3Adrift&page=1&per_page=100&sort=created&state=open"

	step(t, "ensure opens a pull request", func(t *testing.T) {
		pr, created, err := h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Adopt drift", Body: "first body"})
		if err != nil || !created {
			t.Fatalf("EnsurePullRequest = %+v, %v, %v; want created", pr, created, err)
		}
		want := githost.PullRequest{Number: 1347, State: "open", Title: "Adopt drift", Body: "first body", Head: "drift", HeadSHA: sha(3), Base: "main",
			URL: "https://github.com/octo-org/deploy/pull/1347", Author: "trueup-bot"}
		if pr != want {
			t.Errorf("pull request = %+v, want %+v", pr, want)
		}
		wantRequests(t, f, listDrift, "POST /repos/octo-org/deploy/pulls")
		first = pr
	})

	step(t, "ensure again updates the same pull request", func(t *testing.T) {
		pr, created, err := h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Adopt drift", Body: "second body"})
		if err != nil || created || pr.Number != first.Number || pr.Body != "second body" {
			t.Fatalf("EnsurePullRequest = %+v, %v, %v; want #%d updated", pr, created, err, first.Number)
		}
		if got := f.pull(first.Number); got.body != "second body" || got.title != "Adopt drift" {
			t.Errorf("GitHub has title %q body %q", got.title, got.body)
		}
		wantRequests(t, f, listDrift, "PATCH /repos/octo-org/deploy/pulls/1347")
	})

	step(t, "ensure unchanged sends no update", func(t *testing.T) {
		pr, created, err := h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Adopt drift", Body: "second body"})
		if err != nil || created || pr.Number != first.Number {
			t.Fatalf("EnsurePullRequest = %+v, %v, %v", pr, created, err)
		}
		wantRequests(t, f, listDrift)
	})

	step(t, "list open pull requests by base, all pages", func(t *testing.T) {
		other, _, err := h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "other", Base: "release", Title: "Other", Body: ""})
		if err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		f.maxPerPage = 1
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.maxPerPage = 100; f.mu.Unlock() }()
		f.takeRequests()
		tests := []struct {
			base string
			want []int
		}{
			{"main", []int{first.Number}},
			{"release", []int{other.Number}},
			{"", []int{first.Number, other.Number}},
			{"no-such-branch", nil},
		}
		for _, tc := range tests {
			prs, err := h.ListOpenPullRequests(ctx, repo, tc.base)
			if err != nil {
				t.Fatalf("ListOpenPullRequests(%q): %v", tc.base, err)
			}
			var got []int
			for _, pr := range prs {
				got = append(got, pr.Number)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ListOpenPullRequests(%q) = %v, want %v", tc.base, got, tc.want)
			}
		}
		if reqs := f.takeRequests(); !slices.Contains(reqs, "GET /repos/octo-org/deploy/pulls?direction=asc&page=2&per_page=100&sort=created&state=open") {
			t.Errorf("no request for page 2 in %v", reqs)
		}
	})

	step(t, "set status", func(t *testing.T) {
		long := strings.Repeat("é", 200)
		if err := h.SetStatus(ctx, repo, first.HeadSHA, githost.Status{State: githost.StatusPending, Context: "trueup/preview/web"}); err != nil {
			t.Fatal(err)
		}
		if err := h.SetStatus(ctx, repo, first.HeadSHA, githost.Status{State: githost.StatusFailure, Context: "trueup/preview/web", Description: long, URL: "https://trueup.example.com/t/web"}); err != nil {
			t.Fatal(err)
		}
		got := f.statusesOn(first.HeadSHA)
		if len(got) != 2 || got[0].state != "pending" || got[0].context != "trueup/preview/web" || got[0].description != "" || got[0].targetURL != "" {
			t.Fatalf("statuses = %+v", got)
		}
		if got[1].state != "failure" || got[1].targetURL != "https://trueup.example.com/t/web" || got[1].description != strings.Repeat("é", 139)+"…" {
			t.Errorf("status = %+v, want failure with the URL and the description cut to 140 characters", got[1])
		}
		for _, st := range []githost.StatusState{githost.StatusSuccess, githost.StatusError} {
			if err := h.SetStatus(ctx, repo, first.HeadSHA, githost.Status{State: st, Context: "c"}); err != nil {
				t.Errorf("SetStatus(%s): %v", st, err)
			}
		}
		f.takeRequests()
	})

	step(t, "close with a comment", func(t *testing.T) {
		stale, _, err := h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "stale", Base: "main", Title: "Stale", Body: "b"})
		if err != nil {
			t.Fatal(err)
		}
		f.takeRequests()
		if err := h.ClosePullRequest(ctx, repo, stale.Number, "The drift is gone; closing."); err != nil {
			t.Fatal(err)
		}
		n := strconv.Itoa(stale.Number)
		wantRequests(t, f, "GET /repos/octo-org/deploy/pulls/"+n, "POST /repos/octo-org/deploy/issues/"+n+"/comments", "PATCH /repos/octo-org/deploy/pulls/"+n)
		if p := f.pull(stale.Number); p.state != "closed" || p.merged {
			t.Errorf("after close: state %s merged %v", p.state, p.merged)
		}
		if err := h.ClosePullRequest(ctx, repo, stale.Number, "The drift is gone; closing."); err != nil {
			t.Errorf("closing a closed pull request: %v", err)
		}
		wantRequests(t, f, "GET /repos/octo-org/deploy/pulls/"+n)
		if cs := f.commentsOn(stale.Number); len(cs) != 1 || cs[0].body != "The drift is gone; closing." {
			t.Errorf("comments = %+v, want the closing comment once", cs)
		}
		got, err := h.GetPullRequest(ctx, repo, stale.Number)
		if err != nil || got.State != "closed" || got.Merged || got.MergeSHA != "" {
			t.Errorf("GetPullRequest = %+v, %v; want closed, not merged", got, err)
		}
	})

	step(t, "get after merge", func(t *testing.T) {
		mergeSHA := f.merge(first.Number)
		got, err := h.GetPullRequest(ctx, repo, first.Number)
		if err != nil || !got.Merged || got.State != "closed" || got.MergeSHA != mergeSHA || got.Head != "drift" || got.HeadSHA != sha(3) {
			t.Errorf("GetPullRequest after merge = %+v, %v; want merged with %s", got, err, mergeSHA)
		}
		if err := h.ClosePullRequest(ctx, repo, first.Number, "not posted"); err != nil {
			t.Errorf("closing a merged pull request: %v", err)
		}
		if cs := f.commentsOn(first.Number); len(cs) != 0 {
			t.Errorf("comments on the merged pull request: %+v", cs)
		}
		// A new Ensure after the merge opens a new pull request.
		again, created, err := h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Again", Body: "b"})
		if err != nil || !created || again.Number == first.Number {
			t.Errorf("EnsurePullRequest after merge = #%d, %v, %v; want a new one", again.Number, created, err)
		}
	})
}

func TestEnsureIgnoresForks(t *testing.T) {
	f, h := setup(t)
	// A fork's pull request from a branch of the same name, into main.
	f.mu.Lock()
	now := time.Now().UTC()
	f.pulls[1] = &fakePull{number: 1, state: "open", title: "From a fork", head: "drift", headSHA: sha(9), base: "main", headRepo: "someone/deploy", created: now, updated: now}
	f.mu.Unlock()
	pr, created, err := h.EnsurePullRequest(t.Context(), repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Ours", Body: "b"})
	if err != nil || !created || pr.Number == 1 || pr.Title != "Ours" {
		t.Errorf("EnsurePullRequest = %+v, %v, %v; want a new pull request, the fork's untouched", pr, created, err)
	}
	if p := f.pull(1); p.title != "From a fork" {
		t.Errorf("the fork's pull request was edited: %+v", p)
	}
}

func TestEnsureAfterAConcurrentCreate(t *testing.T) {
	f, h := setup(t)
	existing, _, err := h.EnsurePullRequest(t.Context(), repo, githost.NewPullRequest{Head: "trueup/web", Base: "main", Title: "T", Body: "old"})
	if err != nil {
		t.Fatal(err)
	}
	// The lookup misses the pull request that another call just opened;
	// the create then fails with GitHub's 422 "already exists".
	f.failNext(routeListPulls, fakeAnswer{status: http.StatusOK, body: "[]"})
	f.takeRequests()
	pr, created, err := h.EnsurePullRequest(t.Context(), repo, githost.NewPullRequest{Head: "trueup/web", Base: "main", Title: "T", Body: "new"})
	if err != nil || created || pr.Number != existing.Number || pr.Body != "new" {
		t.Fatalf("EnsurePullRequest = %+v, %v, %v; want #%d updated", pr, created, err, existing.Number)
	}
	reqs := f.takeRequests()
	if len(reqs) != 4 || !strings.Contains(reqs[0], "head=octo-org%3Atrueup%2Fweb") || !strings.HasPrefix(reqs[1], "POST ") || !strings.HasPrefix(reqs[3], "PATCH ") {
		t.Errorf("requests = %v, want list, create (422), list, update", reqs)
	}

	// A 422 for another reason (an unknown head branch) is returned as it is.
	_, _, err = h.EnsurePullRequest(t.Context(), repo, githost.NewPullRequest{Head: "no-such-branch", Base: "main", Title: "T"})
	if err == nil || errors.Is(err, githost.ErrUnavailable) || errors.Is(err, githost.ErrNotFound) || errors.Is(err, githost.ErrAuth) || !strings.Contains(err.Error(), "HTTP 422: Validation Failed") {
		t.Errorf("error %v, want a terminal 422", err)
	}
}

func TestUpsertComment(t *testing.T) {
	f, h := setup(t)
	ctx := t.Context()
	pr, _, err := h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "T", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- trueup:preview:web -->"
	// Page 1 (two per page): another user's comment quoting the marker and
	// one of ours without it; page 2: ours with the marker.
	f.mu.Lock()
	f.maxPerPage = 2
	f.mu.Unlock()
	f.addComment(pr.Number, "alice", 7, "quoting "+marker)
	f.addComment(pr.Number, botLogin, botID, "an unrelated note")
	ours := f.addComment(pr.Number, botLogin, botID, marker+"\nplan v1")
	f.takeRequests()
	n := strconv.Itoa(pr.Number)
	list := func(page int) string {
		return fmt.Sprintf("GET /repos/octo-org/deploy/issues/%s/comments?page=%d&per_page=100", n, page)
	}

	step(t, "edits ours on page 2", func(t *testing.T) {
		id, created, err := h.UpsertComment(ctx, repo, pr.Number, marker, marker+"\nplan v2")
		if err != nil || created || id != ours {
			t.Fatalf("UpsertComment = %d, %v, %v; want %d edited", id, created, err, ours)
		}
		wantRequests(t, f, "GET /user", list(1), list(2), fmt.Sprintf("PATCH /repos/octo-org/deploy/issues/comments/%d", ours))
		cs := f.commentsOn(pr.Number)
		if len(cs) != 3 || cs[0].body != "quoting "+marker || cs[2].body != marker+"\nplan v2" {
			t.Errorf("comments = %+v", cs)
		}
	})

	step(t, "same body sends no edit; the user is kept", func(t *testing.T) {
		id, created, err := h.UpsertComment(ctx, repo, pr.Number, marker, marker+"\nplan v2")
		if err != nil || created || id != ours {
			t.Fatalf("UpsertComment = %d, %v, %v", id, created, err)
		}
		wantRequests(t, f, list(1), list(2))
	})

	step(t, "another marker creates a comment", func(t *testing.T) {
		id, created, err := h.UpsertComment(ctx, repo, pr.Number, "<!-- trueup:preview:api -->", "<!-- trueup:preview:api -->\napi")
		if err != nil || !created || id == ours {
			t.Fatalf("UpsertComment = %d, %v, %v; want a new comment", id, created, err)
		}
		if cs := f.commentsOn(pr.Number); len(cs) != 4 || cs[3].id != id || cs[3].user != botLogin {
			t.Errorf("comments = %+v", cs)
		}
		f.takeRequests()
	})

	step(t, "WithCommentAuthor does not ask GET /user", func(t *testing.T) {
		app := newHost(t, f, github.WithCommentAuthor(botLogin))
		id, created, err := app.UpsertComment(ctx, repo, pr.Number, marker, marker+"\nplan v2")
		if err != nil || created || id != ours {
			t.Fatalf("UpsertComment = %d, %v, %v", id, created, err)
		}
		for _, r := range f.takeRequests() {
			if strings.HasPrefix(r, "GET /user") {
				t.Errorf("request %s with WithCommentAuthor", r)
			}
		}
	})

	step(t, "concurrent use", func(t *testing.T) {
		fresh := newHost(t, f)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for range 8 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if _, _, err := fresh.UpsertComment(ctx, repo, pr.Number, marker, marker+"\nplan v2"); err != nil {
					errs <- err
				}
				if _, err := fresh.ListOpenPullRequests(ctx, repo, ""); err != nil {
					errs <- err
				}
				if err := fresh.SetStatus(ctx, repo, sha(3), githost.Status{State: githost.StatusSuccess, Context: "c"}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if cs := f.commentsOn(pr.Number); len(cs) != 4 {
			t.Errorf("%d comments after concurrent upserts of an unchanged body, want 4", len(cs))
		}
	})
}

// every calls each Host method once on repo and pull request 1347.
func every(ctx context.Context, h githost.Host) map[string]error {
	errs := map[string]error{}
	_, _, errs["EnsurePullRequest"] = h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "t", Body: "b"})
	_, errs["GetPullRequest"] = h.GetPullRequest(ctx, repo, 1347)
	_, errs["ListOpenPullRequests"] = h.ListOpenPullRequests(ctx, repo, "main")
	errs["ClosePullRequest"] = h.ClosePullRequest(ctx, repo, 1347, "closing")
	_, _, errs["UpsertComment"] = h.UpsertComment(ctx, repo, 1347, "<!-- m -->", "<!-- m --> body")
	errs["SetStatus"] = h.SetStatus(ctx, repo, sha(3), githost.Status{State: githost.StatusSuccess, Context: "trueup/x"})
	return errs
}

func checkErrs(t *testing.T, h githost.Host, errs map[string]error, want error) {
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

func TestErrors(t *testing.T) {
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	// echo is an error message that repeats the request's credentials,
	// as a misbehaving proxy might.
	echo := `"message": "Bearer ` + token + ` is not allowed (token ` + token + `)"`
	tests := []struct {
		name   string
		answer fakeAnswer
		want   error
	}{
		{"404", fakeAnswer{status: 404, body: `{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}`}, githost.ErrNotFound},
		{"401", fakeAnswer{status: 401, body: `{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}`}, githost.ErrAuth},
		{"403 without permission", fakeAnswer{status: 403, body: `{"message": "Resource not accessible by personal access token", "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "403"}`}, githost.ErrAuth},
		{"403 primary rate limit", fakeAnswer{status: 403,
			header: http.Header{"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Used": {"5000"}, "X-Ratelimit-Reset": {reset}, "X-Ratelimit-Resource": {"core"}},
			body:   `{"message": "API rate limit exceeded for user ID 1001.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits", "status": "403"}`}, githost.ErrUnavailable},
		{"403 secondary rate limit", fakeAnswer{status: 403, header: http.Header{"Retry-After": {"1"}},
			body: `{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", "status": "403"}`}, githost.ErrUnavailable},
		{"429", fakeAnswer{status: 429, body: `{"message": "Too Many Requests"}`}, githost.ErrUnavailable},
		{"500", fakeAnswer{status: 500, body: `{"message": "Server Error"}`}, githost.ErrUnavailable},
		{"502 HTML", fakeAnswer{status: 502, body: "<html><body>Bad Gateway</body></html>"}, githost.ErrUnavailable},
		{"503", fakeAnswer{status: 503, body: `{"message": "Service Unavailable"}`}, githost.ErrUnavailable},
		{"401 echoing the token", fakeAnswer{status: 401, body: "{" + echo + "}"}, githost.ErrAuth},
		{"500 echoing the token as text", fakeAnswer{status: 500, body: "upstream said: Authorization: Bearer " + token}, githost.ErrUnavailable},
		{"422 echoing the token", fakeAnswer{status: 422, body: `{"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "header Bearer ` + token + `"}]}`}, nil},
	}
	routes := []string{routeListPulls, routeGetPull, routeCreateComment, routeCreateStatus, routeUser, routeCreatePull}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A Host per case: go-github remembers a primary rate limit.
			f, h := setup(t)
			if _, _, err := h.EnsurePullRequest(t.Context(), repo, githost.NewPullRequest{Head: "drift", Base: "main", Title: "t", Body: "x"}); err != nil {
				t.Fatal(err)
			}
			h = newHost(t, f)
			for _, r := range routes {
				for range 3 {
					f.failNext(r, tc.answer)
				}
			}
			errs := every(t.Context(), h)
			if tc.want == nil {
				for method, err := range errs {
					if err == nil || errors.Is(err, githost.ErrUnavailable) || errors.Is(err, githost.ErrAuth) || errors.Is(err, githost.ErrNotFound) {
						t.Errorf("%s: error %v, want a terminal error without a sentinel", method, err)
					} else if strings.Contains(err.Error(), token) {
						t.Errorf("%s: error %q contains the token", method, err)
					}
				}
				return
			}
			checkErrs(t, h, errs, tc.want)
			if strings.Contains(tc.name, "echo") && !strings.Contains(errs["GetPullRequest"].Error(), "[REDACTED]") {
				t.Errorf("error %q: want the server's message with the token redacted", errs["GetPullRequest"])
			}
		})
	}
}

func TestErrorsFromState(t *testing.T) {
	f, h := setup(t)
	ctx := t.Context()

	t.Run("missing repository is ErrNotFound", func(t *testing.T) {
		missing := githost.Repo{Owner: fakeOwner, Name: "no-such-repo"}
		_, err := h.GetPullRequest(ctx, missing, 1)
		checkErrs(t, h, map[string]error{"GetPullRequest": err}, githost.ErrNotFound)
		if !strings.Contains(err.Error(), "get pull request octo-org/no-such-repo#1: not found (HTTP 404: Not Found)") {
			t.Errorf("error %q does not name the call and the status", err)
		}
		_, _, err = h.EnsurePullRequest(ctx, missing, githost.NewPullRequest{Head: "drift", Base: "main", Title: "t"})
		checkErrs(t, h, map[string]error{"EnsurePullRequest": err}, githost.ErrNotFound)
	})

	t.Run("missing pull request is ErrNotFound", func(t *testing.T) {
		_, err := h.GetPullRequest(ctx, repo, 999)
		checkErrs(t, h, map[string]error{"GetPullRequest": err}, githost.ErrNotFound)
		_, _, err = h.UpsertComment(ctx, repo, 999, "m", "m")
		checkErrs(t, h, map[string]error{"UpsertComment": err}, githost.ErrNotFound)
	})

	t.Run("wrong token is ErrAuth", func(t *testing.T) {
		wrong, err := github.New(f.URL(), "ghp_wrong")
		if err != nil {
			t.Fatal(err)
		}
		checkErrs(t, wrong, every(ctx, wrong), githost.ErrAuth)
	})

	t.Run("after a primary rate limit, calls fail without a request", func(t *testing.T) {
		f.failNext(routeGetPull, fakeAnswer{status: 403,
			header: http.Header{"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}},
			body:   `{"message": "API rate limit exceeded for user ID 1001.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits"}`})
		limited := newHost(t, f)
		f.takeRequests()
		_, err := limited.GetPullRequest(ctx, repo, 1)
		checkErrs(t, limited, map[string]error{"GetPullRequest": err}, githost.ErrUnavailable)
		_, err = limited.GetPullRequest(ctx, repo, 1)
		checkErrs(t, limited, map[string]error{"GetPullRequest again": err}, githost.ErrUnavailable)
		if reqs := f.takeRequests(); len(reqs) != 1 {
			t.Errorf("requests = %v, want only the first", reqs)
		}
	})
}

func TestErrorsWithoutAnAnswer(t *testing.T) {
	t.Run("connection refused is ErrUnavailable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		h, err := github.New(srv.URL, token)
		if err != nil {
			t.Fatal(err)
		}
		checkErrs(t, h, every(t.Context(), h), githost.ErrUnavailable)
	})

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	h, err := github.New(hang.URL, token)
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

func TestInvalidInputIsRefusedBeforeSending(t *testing.T) {
	f := newFakeGitHub(t, token)
	h := newHost(t, f)
	ctx := t.Context()
	calls := map[string]error{}
	_, calls["repo with a slash"] = h.GetPullRequest(ctx, githost.Repo{Owner: "o", Name: "r/../../user"}, 1)
	_, calls["dot-dot repo"] = h.ListOpenPullRequests(ctx, githost.Repo{Owner: "o", Name: ".."}, "")
	_, calls["number 0"] = h.GetPullRequest(ctx, repo, 0)
	_, _, calls["same head and base"] = h.EnsurePullRequest(ctx, repo, githost.NewPullRequest{Head: "main", Base: "main", Title: "t"})
	_, _, calls["body without marker"] = h.UpsertComment(ctx, repo, 1, "<!-- m -->", "body")
	calls["bad state"] = h.SetStatus(ctx, repo, sha(1), githost.Status{State: "warning", Context: "c"})
	calls["no context"] = h.SetStatus(ctx, repo, sha(1), githost.Status{State: githost.StatusError})
	for name, err := range calls {
		if err == nil || errors.Is(err, githost.ErrUnavailable) || errors.Is(err, githost.ErrNotFound) || errors.Is(err, githost.ErrAuth) {
			t.Errorf("%s: error %v, want a terminal error of its own", name, err)
		}
	}
	if reqs := f.takeRequests(); len(reqs) != 0 {
		t.Errorf("requests sent: %v", reqs)
	}
}
