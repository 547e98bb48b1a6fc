package hostapi_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name, in, display, path string
		wantErr                 bool
	}{
		{"root", "http://127.0.0.1:3000", "http://127.0.0.1:3000", "/", false},
		{"trailing slash", "http://127.0.0.1:3000/", "http://127.0.0.1:3000", "/", false},
		{"sub-path", "https://example.com/gitea", "https://example.com/gitea", "/gitea/", false},
		{"enterprise", " https://ghe.example.com/api/v3/ ", "https://ghe.example.com/api/v3", "/api/v3/", false},
		{"no scheme", "git.example.com", "", "", true},
		{"ftp", "ftp://git.example.com", "", "", true},
		{"credentials", "https://u:p@git.example.com", "", "", true},
		{"query", "https://git.example.com/?x=1", "", "", true},
		{"empty", "", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, display, err := hostapi.BaseURL(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Errorf("BaseURL(%q) = %v, want an error", tc.in, u)
				}
				return
			}
			if err != nil || display != tc.display || u.Path != tc.path {
				t.Errorf("BaseURL(%q) = %v, %q, %v; want path %q, display %q", tc.in, u, display, err, tc.path, tc.display)
			}
		})
	}
}

func TestToken(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "ghp_abc", "ghp_abc"},
		{"newline from a file", "ghp_abc\n", "ghp_abc"},
		{"empty", "  ", ""},
		{"inner space", "ghp abc", ""},
		{"inner newline", "ghp\nabc", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := hostapi.Token(tc.in)
			if got != tc.want || (tc.want == "") != (reason != "") {
				t.Errorf("Token(%q) = %q, %q; want %q", tc.in, got, reason, tc.want)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	ok := githost.NewPullRequest{Head: "trueup/drift", Base: "main", Title: "t"}
	tests := []struct {
		name   string
		reason string
		valid  bool
	}{
		{"repo", hostapi.CheckRepo(githost.Repo{Owner: "octo-org", Name: "deploy.v2_x"}), true},
		{"repo with a slash", hostapi.CheckRepo(githost.Repo{Owner: "o", Name: "a/b"}), false},
		{"repo ..", hostapi.CheckRepo(githost.Repo{Owner: "..", Name: "r"}), false},
		{"repo with a query", hostapi.CheckRepo(githost.Repo{Owner: "o", Name: "r?x=1"}), false},
		{"number", hostapi.CheckNumber(1), true},
		{"number 0", hostapi.CheckNumber(0), false},
		{"sha", hostapi.CheckSHA("0123456789abcdef0123456789abcdef01234567"), true},
		{"sha with a slash", hostapi.CheckSHA("../../x"), false},
		{"new pull request", hostapi.CheckNewPullRequest(ok), true},
		{"no head", hostapi.CheckNewPullRequest(githost.NewPullRequest{Base: "main", Title: "t"}), false},
		{"blank title", hostapi.CheckNewPullRequest(githost.NewPullRequest{Head: "a", Base: "main", Title: " "}), false},
		{"comment", hostapi.CheckComment("<!-- m -->", "x <!-- m --> y"), true},
		{"comment without marker", hostapi.CheckComment("<!-- m -->", "x"), false},
		{"empty marker", hostapi.CheckComment("", "x"), false},
		{"status", hostapi.CheckStatus(githost.Status{State: githost.StatusError, Context: "c"}), true},
		{"warning", hostapi.CheckStatus(githost.Status{State: "warning", Context: "c"}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.reason == "") != tc.valid {
				t.Errorf("reason %q, want valid %v", tc.reason, tc.valid)
			}
		})
	}
}

func TestLazy(t *testing.T) {
	var l hostapi.Lazy[string]
	boom := errors.New("boom")
	if _, err := l.Get(func() (string, error) { return "", boom }); err != boom {
		t.Fatalf("first Get: %v, want the fetch's error", err)
	}
	var fetches atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			v, err := l.Get(func() (string, error) { fetches.Add(1); return "me", nil })
			if v != "me" || err != nil {
				t.Errorf("Get = %q, %v", v, err)
			}
		})
	}
	wg.Wait()
	if v, _ := l.Get(func() (string, error) { t.Error("fetched after a success"); return "", nil }); v != "me" {
		t.Errorf("kept value %q", v)
	}
	if n := fetches.Load(); n < 1 || n > 16 {
		t.Errorf("%d fetches", n)
	}
}
