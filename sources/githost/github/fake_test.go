package github_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGitHub is a stateful stand-in for the part of GitHub's REST API that
// the Host uses (https://docs.github.com/rest): pulls, issue comments,
// commit statuses and the authenticated user, for one repository. GitHub
// cannot be reached from the tests, so this is the seam where a fake is
// allowed; it checks what the client sends against the documentation
// (method and path, query parameters, JSON body fields, Authorization,
// Accept and X-GitHub-Api-Version headers) and fails the test on anything
// it does not recognise. Answers carry the documented fields, rate limit
// headers and Link pagination.
type fakeGitHub struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu sync.Mutex
	// maxPerPage caps per_page (GitHub: 100); tests lower it to see
	// several pages.
	maxPerPage int
	branches   map[string]string // name -> sha
	pulls      map[int]*fakePull
	nextNumber int // issues and pull requests share numbers
	comments   []*fakeComment
	statuses   []*fakeStatus
	nextID     int64
	injected   map[string][]fakeAnswer // by route pattern
	requests   []string                // "METHOD /path?query", in order
}

const (
	fakeOwner  = "octo-org"
	fakeRepo   = "deploy"
	fakeRepoID = 1296269
	botLogin   = "trueup-bot"
	botID      = 1001
	apiVersion = "2022-11-28"
)

type fakePull struct {
	number                       int
	state                        string
	title, body                  string
	head, headSHA, base          string
	headRepo                     string // full name of the head repository
	merged                       bool
	mergeSHA                     string
	created, updated             time.Time
	closedAt, mergedAt           *time.Time
	maintainerCanModify, isDraft bool
}

type fakeComment struct {
	id, userID       int64
	issue            int
	user, body       string
	created, updated time.Time
}

type fakeStatus struct {
	id                                          int64
	sha, state, context, description, targetURL string
	created                                     time.Time
}

// fakeAnswer is an answer given instead of the normal one.
type fakeAnswer struct {
	status int
	header http.Header
	body   string
}

// The routes, as ServeMux patterns; failNext takes them too.
const (
	routeUser          = "GET /user"
	routeListPulls     = "GET /repos/{owner}/{repo}/pulls"
	routeCreatePull    = "POST /repos/{owner}/{repo}/pulls"
	routeGetPull       = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
	routeUpdatePull    = "PATCH /repos/{owner}/{repo}/pulls/{pull_number}"
	routeListComments  = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"
	routeCreateComment = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
	routeUpdateComment = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
	routeCreateStatus  = "POST /repos/{owner}/{repo}/statuses/{sha}"
)

func newFakeGitHub(t *testing.T, token string) *fakeGitHub {
	f := &fakeGitHub{
		t: t, token: token, maxPerPage: 100, nextNumber: 1347, nextID: 1_000_000,
		branches: map[string]string{}, pulls: map[int]*fakePull{}, injected: map[string][]fakeAnswer{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(routeUser, f.checked(nil, f.getUser))
	mux.HandleFunc(routeListPulls, f.checked([]string{"state", "head", "base", "sort", "direction", "per_page", "page"}, f.listPulls))
	mux.HandleFunc(routeCreatePull, f.checked(nil, f.createPull))
	mux.HandleFunc(routeGetPull, f.checked(nil, f.getPull))
	mux.HandleFunc(routeUpdatePull, f.checked(nil, f.updatePull))
	mux.HandleFunc(routeListComments, f.checked([]string{"since", "per_page", "page"}, f.listComments))
	mux.HandleFunc(routeCreateComment, f.checked(nil, f.createComment))
	mux.HandleFunc(routeUpdateComment, f.checked(nil, f.updateComment))
	mux.HandleFunc(routeCreateStatus, f.checked(nil, f.createStatus))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		t.Errorf("fake GitHub: unexpected request %s %s", r.Method, r.URL)
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the API root to give New.
func (f *fakeGitHub) URL() string { return f.srv.URL }

func (f *fakeGitHub) api(path string) string { return f.srv.URL + path }

// addBranch makes branch exist at sha.
func (f *fakeGitHub) addBranch(name, sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.branches[name] = sha
}

// addComment posts a comment as user, as if from elsewhere.
func (f *fakeGitHub) addComment(issue int, user string, userID int64, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newComment(issue, user, userID, body).id
}

// merge merges pull request number with a merge commit.
func (f *fakeGitHub) merge(number int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pulls[number]
	now := time.Now().UTC().Truncate(time.Second)
	p.state, p.merged, p.mergeSHA = "closed", true, fmt.Sprintf("%040x", 0xfeed0000+number)
	p.closedAt, p.mergedAt, p.updated = &now, &now, now
	f.branches[p.base] = p.mergeSHA
	return p.mergeSHA
}

// failNext makes the next request to route get this answer instead.
func (f *fakeGitHub) failNext(route string, a fakeAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injected[route] = append(f.injected[route], a)
}

// pull is a copy of pull request number.
func (f *fakeGitHub) pull(number int) fakePull {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.pulls[number]
}

// commentsOn returns the comments on issue, oldest first.
func (f *fakeGitHub) commentsOn(issue int) []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeComment
	for _, c := range f.comments {
		if c.issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

// statusesOn returns the statuses set on sha, oldest first.
func (f *fakeGitHub) statusesOn(sha string) []fakeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeStatus
	for _, s := range f.statuses {
		if s.sha == sha {
			out = append(out, *s)
		}
	}
	return out
}

// takeRequests returns the requests since the last call.
func (f *fakeGitHub) takeRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.requests
	f.requests = nil
	return out
}

func (f *fakeGitHub) record(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
}

// checked wraps a route's handler with what every request must satisfy:
// credentials, media type, API version, known query parameters, the
// repository; then it gives an injected answer or calls h under the lock.
func (f *fakeGitHub) checked(query []string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		if auth := r.Header.Get("Authorization"); auth != "Bearer "+f.token && auth != "token "+f.token {
			if auth == "" {
				f.t.Errorf("fake GitHub: %s %s without Authorization", r.Method, r.URL.Path)
			}
			writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
			return
		}
		if accept := r.Header.Get("Accept"); !strings.Contains(accept, "application/vnd.github") && !strings.Contains(accept, "application/json") {
			f.t.Errorf("fake GitHub: %s %s: Accept %q, want application/vnd.github+json", r.Method, r.URL.Path, accept)
		}
		if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != apiVersion && v != "2026-03-10" {
			f.t.Errorf("fake GitHub: %s %s: unsupported X-GitHub-Api-Version %q", r.Method, r.URL.Path, v)
			writeError(w, http.StatusBadRequest, "Unsupported API version", "https://docs.github.com/rest/overview/api-versions")
			return
		}
		if r.Header.Get("User-Agent") == "" {
			f.t.Errorf("fake GitHub: %s %s without User-Agent (GitHub refuses those)", r.Method, r.URL.Path)
		}
		for key := range r.URL.Query() {
			if !slices.Contains(query, key) {
				f.t.Errorf("fake GitHub: %s %s: unknown query parameter %q", r.Method, r.URL.Path, key)
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if answers := f.injected[r.Pattern]; len(answers) > 0 {
			f.injected[r.Pattern] = answers[1:]
			a := answers[0]
			for k, v := range a.header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(a.status)
			_, _ = io.WriteString(w, a.body)
			return
		}
		if owner := r.PathValue("owner"); owner != "" && (!strings.EqualFold(owner, fakeOwner) || !strings.EqualFold(r.PathValue("repo"), fakeRepo)) {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
			return
		}
		rateHeaders(w)
		h(w, r)
	}
}

func rateHeaders(w http.ResponseWriter) {
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Used", "1")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	w.Header().Set("X-RateLimit-Resource", "core")
	w.Header().Set("X-GitHub-Api-Version-Selected", apiVersion)
}

// decode reads a JSON request body into v, refusing unknown fields.
func (f *fakeGitHub) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("fake GitHub: %s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.t.Errorf("fake GitHub: %s %s: body: %v", r.Method, r.URL.Path, err)
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest")
		return false
	}
	return true
}

// invalid answers 422 Validation Failed.
func invalid(w http.ResponseWriter, doc string, errs ...map[string]string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusUnprocessableEntity)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": "Validation Failed", "errors": errs, "documentation_url": doc, "status": "422"})
}

func writeError(w http.ResponseWriter, status int, message, doc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// page cuts items by per_page and page and sets the Link header the way
// GitHub does (its URLs name the repository by id).
func page[T any](f *fakeGitHub, w http.ResponseWriter, r *http.Request, linkPath string, items []T) ([]T, bool) {
	q := r.URL.Query()
	perPage, pageNo := 30, 1
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			f.t.Errorf("fake GitHub: per_page %q, want 1 to 100", s)
			writeError(w, http.StatusUnprocessableEntity, "per_page out of range", "https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api")
			return nil, false
		}
		perPage = n
	}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f.t.Errorf("fake GitHub: page %q", s)
		}
		pageNo = max(n, 1)
	}
	perPage = min(perPage, f.maxPerPage)
	last := max((len(items)+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, f.srv.URL, linkPath, v.Encode(), rel)
	}
	var links []string
	if pageNo > 1 {
		links = append(links, link(pageNo-1, "prev"))
	}
	if pageNo < last {
		links = append(links, link(pageNo+1, "next"), link(last, "last"))
	}
	if pageNo > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((pageNo-1)*perPage, len(items))
	return items[start:min(start+perPage, len(items))], true
}
