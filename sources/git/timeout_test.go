package git_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources/git"
)

// hangWhen blocks the requests whose URL contains the substring in *on
// (none while it is empty) in "METHOD url" until the client gives up or the test ends.
// Close stop before the server stops, or its shutdown waits for them.
func hangWhen(on *atomic.Value, stop <-chan struct{}) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s, _ := on.Load().(string); s != "" && strings.Contains(r.Method+" "+r.URL.String(), s) {
				select {
				case <-r.Context().Done():
				case <-stop:
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestSourceTimeoutIgnoredForGitCalls: sources[].timeout was not used, every
// call ran under the Client's 60 s. A source's Timeout must bound its
// ls-remote, fetch and push, well before the caller's own deadline.
func TestSourceTimeoutIgnoredForGitCalls(t *testing.T) {
	var hang atomic.Value
	hang.Store("")
	stop := make(chan struct{})
	hs := startHTTP(t, "", "", hangWhen(&hang, stop))
	t.Cleanup(func() { close(stop) })
	base := hs.repo.Commit(t, files("a.yaml", "1"), gitrepo.CommitOptions{})
	c := newClient(t, git.WithTimeout(10*time.Minute))
	src := branchSource("s", hs.url())
	src.Timeout = time.Second
	mustFetch(t, c, src)

	for _, tc := range []struct {
		name string
		hang string
		call func(ctx context.Context) error
	}{
		{name: "ls-remote", hang: "/info/refs", call: func(ctx context.Context) error {
			_, err := c.Fetch(ctx, src)
			return err
		}},
		{name: "fetch", hang: "POST /repo.git/git-upload-pack", call: func(ctx context.Context) error {
			hs.repo.Commit(t, files("a.yaml", "2"), gitrepo.CommitOptions{})
			_, err := c.Fetch(ctx, src)
			return err
		}},
		{name: "push", hang: "receive-pack", call: func(ctx context.Context) error {
			_, err := c.Push(ctx, src, git.PushRequest{Base: base.String(), Files: map[string][]byte{"a.yaml": []byte("3")},
				Branch: driftBranch, Author: pushAuthor, Message: "m"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hang.Store(tc.hang)
			defer hang.Store("")
			// The caller's deadline is far longer than the source's timeout
			// and far shorter than the Client's: only the source's ends the call.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := tc.call(ctx)
			if err == nil {
				t.Fatal("call against a hanging server succeeded")
			}
			if ctx.Err() != nil {
				t.Fatalf("call ended only with the caller's deadline (%v): the source's 1s timeout was not applied", err)
			}
			if !git.IsRetryable(err) {
				t.Fatalf("timeout %v is not retryable", err)
			}
		})
	}
}
