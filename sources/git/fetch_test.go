package git_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

func TestFetchLocalURLs(t *testing.T) {
	repo := newRepo(t)
	author := object.Signature{Name: "Ada", Email: "ada@example.com", When: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	h := repo.Commit(t, files("a.yaml", "a: 1\n"), gitrepo.CommitOptions{Author: author, Message: "add a\n\nbody"})

	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		url  string
	}{
		{name: "absolute path", url: repo.Dir},
		{name: "relative path", url: rel},
		{name: "file url", url: repo.URL()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			rev := mustFetch(t, c, branchSource("platform", tc.url))
			want := sources.Revision{
				Source:    "platform",
				Ref:       "branch main",
				Commit:    h.String(),
				Author:    sources.Person{Name: "Ada", Email: "ada@example.com", When: author.When},
				Committer: sources.Person{Name: "Ada", Email: "ada@example.com", When: author.When},
				Message:   "add a\n\nbody",
				Signature: sources.Signature{Kind: sources.SignatureNone},
			}
			if !rev.Author.When.Equal(want.Author.When) || !rev.Committer.When.Equal(want.Committer.When) {
				t.Fatalf("times: %v %v, want %v", rev.Author.When, rev.Committer.When, author.When)
			}
			rev.Author.When, rev.Committer.When = want.Author.When, want.Committer.When
			if rev != want {
				t.Fatalf("revision\n got %+v\nwant %+v", rev, want)
			}
			got, err := c.ReadFiles(testCtx(t), branchSource("platform", tc.url), rev.Commit, git.DefaultReadOptions())
			if err != nil {
				t.Fatal(err)
			}
			if string(got["a.yaml"]) != "a: 1\n" || len(got) != 1 {
				t.Fatalf("files = %v", got)
			}
		})
	}
}

func TestFetchRefs(t *testing.T) {
	repo := newRepo(t)
	c1 := repo.Commit(t, files("v", "1.0.0"), gitrepo.CommitOptions{})
	repo.Tag(t, "v1.0.0", c1, "")
	c2 := repo.Commit(t, files("v", "1.2.0"), gitrepo.CommitOptions{})
	repo.Tag(t, "v1.2.0", c2, "release 1.2.0") // annotated
	c3 := repo.Commit(t, files("v", "1.10.0-rc.1"), gitrepo.CommitOptions{})
	repo.Tag(t, "v1.10.0-rc.1", c3, "")
	c4 := repo.Commit(t, files("v", "2.0.0"), gitrepo.CommitOptions{})
	repo.Tag(t, "2.0.0", c4, "")
	repo.Tag(t, "not-a-version", c4, "")
	dev := repo.Commit(t, files("v", "dev"), gitrepo.CommitOptions{Branch: "dev", Orphan: true})

	for _, tc := range []struct {
		name    string
		ref     git.RefSpec
		want    plumbing.Hash
		wantRef string
		wantErr error
	}{
		{name: "branch", ref: git.RefSpec{Branch: "main"}, want: c4, wantRef: "branch main"},
		{name: "other branch", ref: git.RefSpec{Branch: "dev"}, want: dev},
		{name: "lightweight tag", ref: git.RefSpec{Tag: "v1.0.0"}, want: c1, wantRef: "tag v1.0.0"},
		{name: "annotated tag peeled to its commit", ref: git.RefSpec{Tag: "v1.2.0"}, want: c2},
		{name: "semver range picks highest match", ref: git.RefSpec{SemVer: ">=1.0.0 <2.0.0"}, want: c2, wantRef: "semver >=1.0.0 <2.0.0"},
		{name: "semver with prereleases", ref: git.RefSpec{SemVer: ">=1.0.0-0 <2.0.0"}, want: c3},
		{name: "semver without v prefix", ref: git.RefSpec{SemVer: "^2"}, want: c4},
		{name: "commit in history", ref: git.RefSpec{Commit: c2.String()}, want: c2, wantRef: "commit " + c2.String()},
		{name: "commit upper case", ref: git.RefSpec{Commit: strings.ToUpper(c1.String())}, want: c1},
		{name: "missing branch", ref: git.RefSpec{Branch: "nope"}, wantErr: git.ErrRefNotFound},
		{name: "missing tag", ref: git.RefSpec{Tag: "v9"}, wantErr: git.ErrRefNotFound},
		{name: "no semver match", ref: git.RefSpec{SemVer: ">=3"}, wantErr: git.ErrRefNotFound},
		{name: "unknown commit", ref: git.RefSpec{Commit: strings.Repeat("ab", 20)}, wantErr: git.ErrRefNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			rev, err := c.Fetch(testCtx(t), git.Source{Name: "s", URL: repo.URL(), Ref: tc.ref})
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, false)
				if _, ok := c.LastGood("s"); ok {
					t.Fatal("a failed first fetch left a last good revision")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantCommit(t, rev, tc.want)
			if tc.wantRef != "" && rev.Ref != tc.wantRef {
				t.Fatalf("ref = %q, want %q", rev.Ref, tc.wantRef)
			}
			if last, ok := c.LastGood("s"); !ok || last != rev {
				t.Fatalf("LastGood = %+v, %v", last, ok)
			}
		})
	}
}

// TestFetchHistory follows one branch through the changes a poller meets,
// in order: no change, a fast-forward, a force push, a deleted branch.
func TestFetchHistory(t *testing.T) {
	hs := startHTTP(t, "", "")
	c := newClient(t)
	src := branchSource("platform", hs.url())
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	first := hs.repo.Commit(t, map[string]gitrepo.Entry{"big.bin": {Content: big}, "a.yaml": gitrepo.File("a: 1")}, gitrepo.CommitOptions{})
	var rev sources.Revision

	t.Run("first fetch", func(t *testing.T) {
		rev = mustFetch(t, c, src)
		wantCommit(t, rev, first)
		if rev.Previous != "" || rev.ForcePushed {
			t.Fatalf("first revision has previous %q forcePushed %v", rev.Previous, rev.ForcePushed)
		}
		if got := hs.counter.uploadPacks.Load(); got != 1 {
			t.Fatalf("upload-pack requests = %d, want 1", got)
		}
		if got := hs.counter.packBytes.Load(); got < 1<<20 {
			t.Fatalf("first pack is %d bytes, want the whole 1 MiB history", got)
		}
	})

	t.Run("unchanged ref lists but does not fetch", func(t *testing.T) {
		ads, packs := hs.counter.advertisements.Load(), hs.counter.uploadPacks.Load()
		for range 3 {
			again := mustFetch(t, c, src)
			wantCommit(t, again, first)
			if again.Previous != first.String() || again.ForcePushed {
				t.Fatalf("previous = %q forcePushed %v", again.Previous, again.ForcePushed)
			}
		}
		if got := hs.counter.uploadPacks.Load() - packs; got != 0 {
			t.Fatalf("%d upload-pack requests for an unchanged ref, want 0", got)
		}
		if got := hs.counter.advertisements.Load() - ads; got != 3 {
			t.Fatalf("%d ref listings, want 3 (one per poll)", got)
		}
	})

	var second plumbing.Hash
	t.Run("moved ref fetches incrementally", func(t *testing.T) {
		second = hs.repo.Commit(t, map[string]gitrepo.Entry{"big.bin": {Content: big}, "a.yaml": gitrepo.File("a: 2")}, gitrepo.CommitOptions{})
		packs, bytes := hs.counter.uploadPacks.Load(), hs.counter.packBytes.Load()
		rev = mustFetch(t, c, src)
		wantCommit(t, rev, second)
		if rev.Previous != first.String() || rev.ForcePushed {
			t.Fatalf("previous = %q forcePushed %v, want %s false", rev.Previous, rev.ForcePushed, first)
		}
		if got := hs.counter.uploadPacks.Load() - packs; got != 1 {
			t.Fatalf("%d upload-pack requests, want 1", got)
		}
		if got := hs.counter.packBytes.Load() - bytes; got > 64<<10 {
			t.Fatalf("incremental pack is %d bytes; the unchanged 1 MiB blob was sent again", got)
		}
	})

	t.Run("force push is detected", func(t *testing.T) {
		rewritten := hs.repo.Commit(t, files("a.yaml", "a: rewritten"), gitrepo.CommitOptions{Orphan: true})
		rev = mustFetch(t, c, src)
		wantCommit(t, rev, rewritten)
		if rev.Previous != second.String() || !rev.ForcePushed {
			t.Fatalf("previous = %q forcePushed %v, want %s true", rev.Previous, rev.ForcePushed, second)
		}
		got, err := c.ReadFiles(testCtx(t), src, rev.Commit, git.DefaultReadOptions())
		if err != nil {
			t.Fatal(err)
		}
		if string(got["a.yaml"]) != "a: rewritten" || got["big.bin"] != nil {
			t.Fatalf("files after force push = %v", keys(got))
		}
	})

	t.Run("branch reset to an older commit", func(t *testing.T) {
		forced := rev.Commit
		hs.repo.SetRef(t, plumbing.NewBranchReferenceName("main"), second)
		rev = mustFetch(t, c, src)
		wantCommit(t, rev, second)
		if rev.Previous != forced || !rev.ForcePushed {
			t.Fatalf("previous = %q forcePushed %v, want %s true", rev.Previous, rev.ForcePushed, forced)
		}
	})

	t.Run("deleted branch keeps the last good revision", func(t *testing.T) {
		hs.repo.DeleteRef(t, plumbing.NewBranchReferenceName("main"))
		_, err := c.Fetch(testCtx(t), src)
		wantErr(t, err, git.ErrRefNotFound, false)
		msg := err.Error()
		if !strings.HasPrefix(msg, `source "platform": `) || !strings.Contains(msg, `branch "main" does not exist`) {
			t.Fatalf("error %q does not name the source and branch", msg)
		}
		last, ok := c.LastGood("platform")
		if !ok || last != rev {
			t.Fatalf("LastGood = %+v %v, want %+v", last, ok, rev)
		}
		if _, err := c.ReadFiles(testCtx(t), src, last.Commit, git.DefaultReadOptions()); err != nil {
			t.Fatalf("last good revision is not readable: %v", err)
		}
	})
}

func keys(f sources.Files) []string {
	var out []string
	for k := range f {
		out = append(out, k)
	}
	return out
}

func TestFetchPinnedCommitDoesNotContactRemote(t *testing.T) {
	hs := startHTTP(t, "", "")
	pinned := hs.repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	hs.repo.Commit(t, files("a", "2"), gitrepo.CommitOptions{})
	c := newClient(t)
	src := git.Source{Name: "pinned", URL: hs.url(), Ref: git.RefSpec{Commit: pinned.String()}}
	wantCommit(t, mustFetch(t, c, src), pinned)
	ads := hs.counter.advertisements.Load()
	hs.srv.StopHTTP()
	wantCommit(t, mustFetch(t, c, src), pinned)
	if got := hs.counter.advertisements.Load() - ads; got != 0 {
		t.Fatalf("%d requests for a cached pinned commit, want 0", got)
	}
}

func TestFetchUnreachable(t *testing.T) {
	closedPort := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	hanging := func(t *testing.T) string {
		stop := make(chan struct{})
		srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stop })}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		t.Cleanup(func() { close(stop); srv.Close() })
		return l.Addr().String()
	}
	failing := func(t *testing.T) string {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		})}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		return l.Addr().String()
	}
	for _, tc := range []struct {
		name string
		addr func(t *testing.T) string
	}{
		{name: "connection refused", addr: closedPort},
		{name: "server hangs past the timeout", addr: hanging},
		{name: "server error 503", addr: failing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := startHTTP(t, "", "")
			good := hs.repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
			c := newClient(t, git.WithTimeout(2*time.Second))
			wantCommit(t, mustFetch(t, c, branchSource("s", hs.url())), good)

			src := branchSource("s", "http://"+tc.addr(t)+"/repo.git")
			_, err := c.Fetch(testCtx(t), src)
			wantErr(t, err, git.ErrUnreachable, true)
			if !strings.HasPrefix(err.Error(), `source "s": list refs at http://`) {
				t.Fatalf("error %q does not start with the source and url", err)
			}
			if last, ok := c.LastGood("s"); !ok || last.Commit != good.String() {
				t.Fatalf("LastGood = %+v %v after an unreachable remote", last, ok)
			}
		})
	}
}

func TestFetchServerStopped(t *testing.T) {
	hs := startHTTP(t, "", "")
	good := hs.repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	c := newClient(t)
	src := branchSource("s", hs.url())
	wantCommit(t, mustFetch(t, c, src), good)
	hs.srv.StopHTTP()
	_, err := c.Fetch(testCtx(t), src)
	wantErr(t, err, git.ErrUnreachable, true)
	last, ok := c.LastGood("s")
	if !ok || last.Commit != good.String() {
		t.Fatalf("LastGood = %+v %v", last, ok)
	}
	if _, err := c.ReadFiles(testCtx(t), src, last.Commit, git.DefaultReadOptions()); err != nil {
		t.Fatalf("read last good while remote is down: %v", err)
	}
}

func TestFetchCancelledIsNotRetryable(t *testing.T) {
	repo := newRepo(t)
	repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(t).Fetch(ctx, branchSource("s", repo.URL()))
	if !errors.Is(err, context.Canceled) || git.IsRetryable(err) {
		t.Fatalf("error %v: want context.Canceled, not retryable", err)
	}
}

func TestFetchConcurrent(t *testing.T) {
	hs := startHTTP(t, "", "")
	head := hs.repo.Commit(t, files("a", "1", "b/c", "2"), gitrepo.CommitOptions{})
	cacheDir := t.TempDir()
	// Two clients on one cache dir stand for two processes: they share
	// only the lock file.
	clients := []*git.Client{git.New(cacheDir), git.New(cacheDir)}
	src := branchSource("shared", hs.url())
	errs := runConcurrently(16, func(i int) error {
		c := clients[i%2]
		rev, err := c.Fetch(testCtx(t), src)
		if err != nil {
			return err
		}
		if rev.Commit != head.String() {
			return fmt.Errorf("commit %s, want %s", rev.Commit, head)
		}
		got, err := c.ReadFiles(testCtx(t), src, rev.Commit, git.DefaultReadOptions())
		if err != nil {
			return err
		}
		if string(got["b/c"]) != "2" {
			return fmt.Errorf("files = %v", keys(got))
		}
		_, _ = c.LastGood("shared")
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	if got := hs.counter.uploadPacks.Load(); got != 1 {
		t.Fatalf("%d upload-pack requests for 16 concurrent fetches of one commit, want 1", got)
	}
}

func TestFetchCacheFollowsURLChange(t *testing.T) {
	a, b := newRepo(t), newRepo(t)
	ha := a.Commit(t, files("which", "a"), gitrepo.CommitOptions{})
	hb := b.Commit(t, files("which", "b"), gitrepo.CommitOptions{})
	c := newClient(t)
	wantCommit(t, mustFetch(t, c, branchSource("s", a.URL())), ha)
	rev := mustFetch(t, c, branchSource("s", b.URL()))
	wantCommit(t, rev, hb)
	if rev.Previous != "" {
		t.Fatalf("previous %q comes from the cache of another url", rev.Previous)
	}
	_, err := c.ReadFiles(testCtx(t), branchSource("s", b.URL()), ha.String(), git.DefaultReadOptions())
	wantErr(t, err, git.ErrCommitNotFound, false)
}

func TestFetchInvalidSource(t *testing.T) {
	_, err := newClient(t).Fetch(testCtx(t), git.Source{Name: "../x", URL: "/tmp", Ref: git.RefSpec{Branch: "main"}})
	wantErr(t, err, git.ErrInvalidSource, false)
}
