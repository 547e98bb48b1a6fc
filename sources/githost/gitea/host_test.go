package gitea_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/trueup-dev/trueup/fixtures/giteaenv"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/gitea"
)

func TestMain(m *testing.M) { giteaenv.Main(m) }

// fixture is a Gitea repository with branches to open pull requests from:
// main (base), release (from base), and drift, other, stale (one commit
// each on top of base).
type fixture struct {
	env   *giteaenv.Env
	repo  giteaenv.Repo
	host  *gitea.Host
	shas  map[string]plumbing.Hash
	ghost githost.Repo
	local *gitrepo.Repo
}

// fixtureRuns makes repository names unique on the shared server, also
// when tests run more than once (-count).
var fixtureRuns atomic.Int64

func newFixture(t *testing.T, name string) *fixture {
	t.Helper()
	env := giteaenv.Shared(t)
	repo := env.CreateRepo(t, fmt.Sprintf("%s-%d", name, fixtureRuns.Add(1)))
	local := gitrepo.Init(t, t.TempDir())
	base := local.Commit(t, map[string]gitrepo.Entry{"app.yaml": gitrepo.File("replicas: 1\n")}, gitrepo.CommitOptions{Message: "base"})
	shas := map[string]plumbing.Hash{"main": base}
	refspecs := []string{"refs/heads/main:refs/heads/main"}
	for _, branch := range []string{"release", "drift", "other", "stale"} {
		files := map[string]gitrepo.Entry{"app.yaml": gitrepo.File("replicas: 1\n"), branch + ".txt": gitrepo.File(branch + "\n")}
		shas[branch] = local.Commit(t, files, gitrepo.CommitOptions{Branch: branch, Parents: []plumbing.Hash{base}, Message: branch})
		refspecs = append(refspecs, "refs/heads/"+branch+":refs/heads/"+branch)
	}
	env.Push(t, repo, local.Git, refspecs...)
	waitBranches(t, env, repo, shas)
	host, err := gitea.New(env.URL, env.Token)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, repo: repo, host: host, shas: shas, ghost: githost.Repo{Owner: repo.Owner, Name: repo.Name}, local: local}
}

// step runs one step of a scenario; a failed step ends the scenario.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

func TestNewDoesNoIO(t *testing.T) {
	// Nothing listens on port 1: New must not try to reach it.
	h, err := gitea.New("http://127.0.0.1:1/", "secret-token")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if h.Name() != "gitea http://127.0.0.1:1" {
		t.Errorf("Name() = %q", h.Name())
	}
	for _, s := range []string{h.Name(), h.String(), fmt.Sprint(h), fmt.Sprintf("%+v", h), fmt.Sprintf("%#v", h), fmt.Sprintf("%+v", reflect.ValueOf(h).Elem()), fmt.Sprintf("%#v", reflect.ValueOf(h).Elem())} {
		if strings.Contains(s, "secret-token") {
			t.Errorf("%q shows the token", s)
		}
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct{ name, url, token string }{
		{"no token", "http://127.0.0.1:3000", ""},
		{"not http", "ftp://127.0.0.1:3000", "t"},
		{"no host", "http://", "t"},
		{"credentials in URL", "http://user:pw@127.0.0.1:3000", "t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := gitea.New(tc.url, tc.token); err == nil {
				t.Errorf("New(%q) succeeded", tc.url)
			} else if strings.Contains(err.Error(), "pw") {
				t.Errorf("error %q shows the URL's password", err)
			}
		})
	}
}

func TestPullRequestLifecycle(t *testing.T) {
	f := newFixture(t, "lifecycle")
	ctx := t.Context()
	var first githost.PullRequest

	step(t, "ensure opens a pull request", func(t *testing.T) {
		pr, created, err := f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Adopt drift", Body: "first body"})
		if err != nil || !created {
			t.Fatalf("EnsurePullRequest = %+v, created %v, %v; want created", pr, created, err)
		}
		want := githost.PullRequest{Number: pr.Number, State: "open", Title: "Adopt drift", Body: "first body",
			Head: "drift", HeadSHA: f.shas["drift"].String(), Base: "main", URL: pr.URL, Author: f.env.AdminUser}
		if pr != want || pr.Number == 0 || !strings.HasPrefix(pr.URL, f.env.URL) {
			t.Errorf("pull request = %+v, want %+v with a number and a URL under %s", pr, want, f.env.URL)
		}
		if got := f.env.PullRequest(t, f.repo, pr.Number); got.Title != "Adopt drift" || got.Body != "first body" || got.HeadRef != "drift" || got.BaseRef != "main" {
			t.Errorf("Gitea has %+v", got)
		}
		first = pr
	})

	step(t, "ensure again updates the same pull request", func(t *testing.T) {
		pr, created, err := f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Adopt drift (2)", Body: "second body"})
		if err != nil || created || pr.Number != first.Number {
			t.Fatalf("EnsurePullRequest = #%d, created %v, %v; want #%d updated", pr.Number, created, err, first.Number)
		}
		if got := f.env.PullRequest(t, f.repo, first.Number); got.Title != "Adopt drift (2)" || got.Body != "second body" {
			t.Errorf("Gitea has title %q body %q, want the new ones", got.Title, got.Body)
		}
		if pr.Body != "second body" || pr.Title != "Adopt drift (2)" {
			t.Errorf("returned %+v, want the new title and body", pr)
		}
	})

	step(t, "ensure unchanged returns it as it is", func(t *testing.T) {
		pr, created, err := f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Adopt drift (2)", Body: "second body"})
		if err != nil || created || pr.Number != first.Number || pr.Body != "second body" {
			t.Fatalf("EnsurePullRequest = %+v, created %v, %v", pr, created, err)
		}
	})

	var other githost.PullRequest
	step(t, "list open pull requests by base", func(t *testing.T) {
		var err error
		other, _, err = f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "other", Base: "release", Title: "Other", Body: "into release"})
		if err != nil {
			t.Fatal(err)
		}
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
			prs, err := f.host.ListOpenPullRequests(ctx, f.ghost, tc.base)
			if err != nil {
				t.Fatalf("ListOpenPullRequests(%q): %v", tc.base, err)
			}
			if got := numbers(prs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ListOpenPullRequests(%q) = %v, want %v", tc.base, got, tc.want)
			}
		}
	})

	step(t, "set status", func(t *testing.T) {
		st := githost.Status{State: githost.StatusFailure, Context: "trueup/preview/web", Description: "2 objects drift", URL: "https://trueup.example.com/targets/web"}
		if err := f.host.SetStatus(ctx, f.ghost, first.HeadSHA, st); err != nil {
			t.Fatal(err)
		}
		st.State = githost.StatusSuccess
		st.Description = "no drift"
		if err := f.host.SetStatus(ctx, f.ghost, first.HeadSHA, st); err != nil {
			t.Fatal(err)
		}
		// Gitea orders statuses set within the same second arbitrarily.
		got := f.env.CommitStatuses(t, f.repo, first.HeadSHA)
		want := []giteaenv.CommitStatus{
			{State: "failure", Context: "trueup/preview/web", Description: "2 objects drift", TargetURL: "https://trueup.example.com/targets/web"},
			{State: "success", Context: "trueup/preview/web", Description: "no drift", TargetURL: "https://trueup.example.com/targets/web"},
		}
		if len(got) != 2 || !slices.Contains(got, want[0]) || !slices.Contains(got, want[1]) {
			t.Errorf("statuses = %+v, want %+v", got, want)
		}
	})

	step(t, "close with a comment", func(t *testing.T) {
		stale, _, err := f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "stale", Base: "main", Title: "Stale", Body: "to close"})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.host.ClosePullRequest(ctx, f.ghost, stale.Number, "The drift is gone; closing."); err != nil {
			t.Fatal(err)
		}
		if got := f.env.PullRequest(t, f.repo, stale.Number); got.State != "closed" || got.Merged {
			t.Errorf("after close: %+v, want closed, not merged", got)
		}
		if err := f.host.ClosePullRequest(ctx, f.ghost, stale.Number, "The drift is gone; closing."); err != nil {
			t.Errorf("closing a closed pull request: %v", err)
		}
		comments := f.env.ListComments(t, f.repo, stale.Number)
		if len(comments) != 1 || comments[0].Body != "The drift is gone; closing." || comments[0].User != giteaenv.AdminUser {
			t.Errorf("comments = %+v, want the one closing comment", comments)
		}
		got, err := f.host.GetPullRequest(ctx, f.ghost, stale.Number)
		if err != nil || got.State != "closed" || got.Merged || got.MergeSHA != "" {
			t.Errorf("GetPullRequest = %+v, %v; want closed, not merged", got, err)
		}
		prs, err := f.host.ListOpenPullRequests(ctx, f.ghost, "main")
		if err != nil || fmt.Sprint(numbers(prs)) != fmt.Sprint([]int{first.Number}) {
			t.Errorf("open into main after close = %v, %v; want [%d]", numbers(prs), err, first.Number)
		}
		// A new Ensure for the closed branch opens a new pull request.
		again, created, err := f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "stale", Base: "main", Title: "Stale", Body: "to close"})
		if err != nil || !created || again.Number == stale.Number {
			t.Errorf("EnsurePullRequest after close = #%d, created %v, %v; want a new one", again.Number, created, err)
		}
	})

	step(t, "ensure right after a push of a new branch", func(t *testing.T) {
		// The reconciler pushes a branch and opens its pull request at once.
		files := map[string]gitrepo.Entry{"app.yaml": gitrepo.File("replicas: 4\n")}
		head := f.local.Commit(t, files, gitrepo.CommitOptions{Branch: "trueup/fresh", Parents: []plumbing.Hash{f.shas["main"]}, Message: "fresh"})
		f.env.Push(t, f.repo, f.local.Git, "refs/heads/trueup/fresh:refs/heads/trueup/fresh")
		pr, created, err := f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "trueup/fresh", Base: "main", Title: "Fresh", Body: "b"})
		if err != nil || !created || pr.HeadSHA != head.String() || pr.Head != "trueup/fresh" {
			t.Errorf("EnsurePullRequest = %+v, created %v, %v; want a new pull request at %s", pr, created, err, head)
		}
	})

	step(t, "get after merge", func(t *testing.T) {
		f.env.MergePullRequest(t, f.repo, first.Number)
		got, err := f.host.GetPullRequest(ctx, f.ghost, first.Number)
		if err != nil {
			t.Fatal(err)
		}
		want := f.env.PullRequest(t, f.repo, first.Number)
		if !got.Merged || got.State != "closed" || got.MergeSHA == "" || got.MergeSHA != want.MergeCommitSHA || got.Head != "drift" || got.Base != "main" {
			t.Errorf("GetPullRequest after merge = %+v, want merged, closed, merge commit %s", got, want.MergeCommitSHA)
		}
		if err := f.host.ClosePullRequest(ctx, f.ghost, first.Number, "should not be posted"); err != nil {
			t.Errorf("closing a merged pull request: %v", err)
		}
		if n := len(f.env.ListComments(t, f.repo, first.Number)); n != 0 {
			t.Errorf("%d comments on the merged pull request, want none", n)
		}
	})
}

func TestUpsertComment(t *testing.T) {
	f := newFixture(t, "upsert-comment")
	ctx := t.Context()
	pr, _, err := f.host.EnsurePullRequest(ctx, f.ghost, githost.NewPullRequest{Head: "drift", Base: "main", Title: "Preview", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- trueup:preview:web -->"
	// Another user's comment that quotes the marker comes first; it must
	// never be edited.
	other := createUser(t, f.env, "upsert-other")
	commentAs(t, f.env, f.repo, pr.Number, other, "quoting "+marker+" in my review")
	var id int64

	step(t, "creates", func(t *testing.T) {
		var created bool
		id, created, err = f.host.UpsertComment(ctx, f.ghost, pr.Number, marker, marker+"\nplan v1")
		if err != nil || !created || id == 0 {
			t.Fatalf("UpsertComment = %d, created %v, %v; want a new comment", id, created, err)
		}
		wantComments(t, f, pr.Number, []giteaenv.Comment{
			{User: other, Body: "quoting " + marker + " in my review"},
			{ID: id, User: giteaenv.AdminUser, Body: marker + "\nplan v1"},
		})
	})

	step(t, "same body changes nothing", func(t *testing.T) {
		got, created, err := f.host.UpsertComment(ctx, f.ghost, pr.Number, marker, marker+"\nplan v1")
		if err != nil || created || got != id {
			t.Fatalf("UpsertComment = %d, created %v, %v; want %d unchanged", got, created, err, id)
		}
		wantComments(t, f, pr.Number, []giteaenv.Comment{
			{User: other, Body: "quoting " + marker + " in my review"},
			{ID: id, User: giteaenv.AdminUser, Body: marker + "\nplan v1"},
		})
	})

	step(t, "new body edits the comment", func(t *testing.T) {
		if _, _, err := f.host.UpsertComment(ctx, f.ghost, pr.Number, "<!-- trueup:preview:api -->", "<!-- trueup:preview:api -->\napi plan"); err != nil {
			t.Fatal(err)
		}
		got, created, err := f.host.UpsertComment(ctx, f.ghost, pr.Number, marker, marker+"\nplan v2")
		if err != nil || created || got != id {
			t.Fatalf("UpsertComment = %d, created %v, %v; want %d edited", got, created, err, id)
		}
		comments := f.env.ListComments(t, f.repo, pr.Number)
		if len(comments) != 3 || comments[1].ID != id || comments[1].Body != marker+"\nplan v2" || comments[2].Body != "<!-- trueup:preview:api -->\napi plan" {
			t.Errorf("comments = %+v, want the other user's, ours edited, the api one", comments)
		}
	})

	step(t, "finds its comment after a page of others", func(t *testing.T) {
		// Gitea pages at 50 (MAX_RESPONSE_ITEMS): put ours after 55 others.
		for i := range 55 {
			commentAs(t, f.env, f.repo, pr.Number, other, fmt.Sprintf("review note %d", i))
		}
		const late = "<!-- trueup:preview:late -->"
		lateID, created, err := f.host.UpsertComment(ctx, f.ghost, pr.Number, late, late+"\nv1")
		if err != nil || !created {
			t.Fatalf("UpsertComment = %d, created %v, %v; want a new comment", lateID, created, err)
		}
		got, created, err := f.host.UpsertComment(ctx, f.ghost, pr.Number, late, late+"\nv2")
		if err != nil || created || got != lateID {
			t.Fatalf("UpsertComment = %d, created %v, %v; want %d edited", got, created, err, lateID)
		}
		comments := f.env.ListComments(t, f.repo, pr.Number)
		if len(comments) != 3+55+1 || comments[len(comments)-1].ID != lateID || comments[len(comments)-1].Body != late+"\nv2" {
			t.Errorf("%d comments, last %+v; want %d with ours edited last", len(comments), comments[len(comments)-1], 3+55+1)
		}
	})

	step(t, "concurrent use", func(t *testing.T) {
		// One Host, many goroutines, each with its own context: the race
		// detector watches the per-call clients and the cached user.
		h, err := gitea.New(f.env.URL, f.env.Token)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 8 {
			wg.Go(func() {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				if _, _, err := h.UpsertComment(ctx, f.ghost, pr.Number, marker, marker+"\nplan v2"); err != nil {
					errs <- err
				}
				if _, err := h.GetPullRequest(ctx, f.ghost, pr.Number); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := len(f.env.ListComments(t, f.repo, pr.Number)); n != 3+55+1 {
			t.Errorf("%d comments after concurrent upserts of an unchanged body, want %d", n, 3+55+1)
		}
	})
}

// waitBranches waits until Gitea has processed the push: it records
// branches in the background, and refuses pull requests (404) until then.
func waitBranches(t *testing.T, env *giteaenv.Env, repo giteaenv.Repo, shas map[string]plumbing.Hash) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for branch, sha := range shas {
		for {
			var out struct {
				Commit struct {
					ID string `json:"id"`
				} `json:"commit"`
			}
			code := apiGet(t, env, fmt.Sprintf("repos/%s/%s/branches/%s", repo.Owner, repo.Name, branch), &out)
			if code == http.StatusOK && out.Commit.ID == sha.String() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("branch %s of %s not at %s after 30s (HTTP %d)", branch, repo.Name, sha, code)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func numbers(prs []githost.PullRequest) []int {
	var out []int
	for _, pr := range prs {
		out = append(out, pr.Number)
	}
	return out
}

// wantComments compares the pull request's comments with want, ignoring
// ids where want has none.
func wantComments(t *testing.T, f *fixture, number int, want []giteaenv.Comment) {
	t.Helper()
	got := f.env.ListComments(t, f.repo, number)
	if len(got) != len(want) {
		t.Fatalf("comments = %+v, want %+v", got, want)
	}
	for i := range want {
		if want[i].ID == 0 {
			want[i].ID = got[i].ID
		}
		if got[i] != want[i] {
			t.Errorf("comment %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// createUser creates a user through the admin API and returns its login.
// The login gets a suffix that is unique on the shared server, also when
// tests run more than once (-count).
func createUser(t *testing.T, env *giteaenv.Env, login string) string {
	t.Helper()
	login = fmt.Sprintf("%s-%d", login, fixtureRuns.Add(1))
	apiCall(t, env, http.MethodPost, "admin/users", "", map[string]any{
		"username": login, "email": login + "@example.test", "password": "Passw0rd-" + login, "must_change_password": false,
	})
	return login
}

// commentAs posts a comment as user, through the administrator's token
// and Gitea's Sudo header.
func commentAs(t *testing.T, env *giteaenv.Env, repo giteaenv.Repo, number int, user, body string) {
	t.Helper()
	apiCall(t, env, http.MethodPost, fmt.Sprintf("repos/%s/%s/issues/%d/comments", repo.Owner, repo.Name, number), user, map[string]string{"body": body})
}

// apiGet reads path into out (on 200) and returns the HTTP status.
func apiGet(t *testing.T, env *giteaenv.Env, path string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.URL+"api/v1/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+env.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func apiCall(t *testing.T, env *giteaenv.Env, method, path, sudo string, in any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, env.URL+"api/v1/"+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "token "+env.Token)
	if sudo != "" {
		req.Header.Set("Sudo", sudo)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
}
