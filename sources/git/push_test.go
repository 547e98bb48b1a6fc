package git_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

// driftBranch is a branch name as the reconciler makes them.
const driftBranch = "trueup/drift/web/apps.Deployment.prod.api"

// pushBase is the tree of the commit pushes start from: files, an
// executable, a symlink, a submodule and nested directories.
func pushBase() map[string]gitrepo.Entry {
	return map[string]gitrepo.Entry{
		"apps/prod/deploy.yaml": gitrepo.File("replicas: 1\n"),
		"apps/prod/run.sh":      gitrepo.Executable("#!/bin/sh\n"),
		"apps/base/svc.yaml":    gitrepo.File("kind: Service\n"),
		"README.md":             gitrepo.File("# platform\n"),
		"file.txt":              gitrepo.File("plain"),
		"link":                  gitrepo.Symlink("apps/prod"),
		"vendor/lib":            gitrepo.Submodule(strings.Repeat("1", 40)),
	}
}

var pushAuthor = sources.Person{Name: "trueup", Email: "trueup@example.com"}

// treeEntry is one non-directory entry of a tree.
type treeEntry struct {
	mode filemode.FileMode
	hash plumbing.Hash
}

// openBare opens a fresh handle on a bare repository, so that packs a push
// added after a fixture opened it are seen.
func openBare(t *testing.T, dir string) *gogit.Repository {
	t.Helper()
	r, err := gogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// remoteBranch returns the commit a branch of the bare repository at dir
// points at, or the zero hash when it does not exist.
func remoteBranch(t *testing.T, dir, branch string) plumbing.Hash {
	t.Helper()
	ref, err := openBare(t, dir).Reference(plumbing.NewBranchReferenceName(branch), false)
	if err != nil {
		return plumbing.ZeroHash
	}
	return ref.Hash()
}

// treeEntries lists every entry of a commit's tree but directories.
func treeEntries(t *testing.T, r *gogit.Repository, commit plumbing.Hash) map[string]treeEntry {
	t.Helper()
	c, err := r.CommitObject(commit)
	if err != nil {
		t.Fatalf("commit %s: %v", commit, err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]treeEntry{}
	var walk func(tr *object.Tree, dir string)
	walk = func(tr *object.Tree, dir string) {
		for _, e := range tr.Entries {
			p := strings.TrimPrefix(dir+"/"+e.Name, "/")
			if e.Mode != filemode.Dir {
				out[p] = treeEntry{mode: e.Mode, hash: e.Hash}
				continue
			}
			sub, err := r.TreeObject(e.Hash)
			if err != nil {
				t.Fatalf("tree %s: %v", p, err)
			}
			walk(sub, p)
		}
	}
	walk(tree, "")
	return out
}

// wantTreeChange checks that commit's tree is base's with exactly the
// entries of want (content and mode) changed or added.
func wantTreeChange(t *testing.T, r *gogit.Repository, base, commit plumbing.Hash, want map[string]gitrepo.Entry) {
	t.Helper()
	before, after := treeEntries(t, r, base), treeEntries(t, r, commit)
	expected := map[string]treeEntry{}
	for p, e := range before {
		expected[p] = e
	}
	for p, e := range want {
		expected[p] = treeEntry{mode: e.Mode, hash: plumbing.ComputeHash(plumbing.BlobObject, e.Content)}
	}
	for p, e := range expected {
		if got, ok := after[p]; !ok || got != e {
			t.Errorf("%s: got %+v (present %v), want %+v", p, got, ok, e)
		}
	}
	for p := range after {
		if _, ok := expected[p]; !ok {
			t.Errorf("unexpected entry %s", p)
		}
	}
}

func wantCommitObject(t *testing.T, r *gogit.Repository, h, parent plumbing.Hash, message string, when time.Time) {
	t.Helper()
	c, err := r.CommitObject(h)
	if err != nil {
		t.Fatalf("commit %s: %v", h, err)
	}
	for _, sig := range []object.Signature{c.Author, c.Committer} {
		if sig.Name != pushAuthor.Name || sig.Email != pushAuthor.Email || !sig.When.Equal(when) {
			t.Errorf("signature %s <%s> %v, want %s <%s> %v", sig.Name, sig.Email, sig.When, pushAuthor.Name, pushAuthor.Email, when)
		}
	}
	if c.Message != message+"\n" {
		t.Errorf("message %q, want %q", c.Message, message+"\n")
	}
	if len(c.ParentHashes) != 1 || c.ParentHashes[0] != parent {
		t.Errorf("parents %v, want [%s]", c.ParentHashes, parent)
	}
}

// pushRemote is a remote to push to and the bare repository behind it.
type pushRemote struct {
	repo *gitrepo.Repo
	url  string
	auth git.Auth
}

// TestPush follows trueup's branch through what a drift pull request
// meets, over a local path and over HTTP with basic auth: the first push,
// a re-run, a re-run from a fresh cache, a changed file set, and the
// tracked branch left alone.
func TestPush(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remote func(t *testing.T) pushRemote
	}{
		{name: "file url", remote: func(t *testing.T) pushRemote {
			r := newRepo(t)
			return pushRemote{repo: r, url: r.URL()}
		}},
		{name: "http basic auth", remote: func(t *testing.T) pushRemote {
			hs := startHTTP(t, "alice", "s3cret-Pa55")
			return pushRemote{repo: hs.repo, url: hs.url(), auth: git.Auth{Username: "alice", Password: "s3cret-Pa55"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testPushScenario(t, tc.remote(t))
		})
	}
}

func testPushScenario(t *testing.T, remote pushRemote) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	c := newClient(t, git.WithClock(func() time.Time { return now }))
	src := git.Source{Name: "platform", URL: remote.url, Ref: git.RefSpec{Branch: "main"}, Auth: remote.auth}
	baseHash := remote.repo.Commit(t, pushBase(), gitrepo.CommitOptions{})
	base := mustFetch(t, c, src)
	change := map[string]gitrepo.Entry{
		"apps/prod/deploy.yaml":            gitrepo.File("replicas: 3\n"),
		"apps/prod/run.sh":                 gitrepo.Executable("#!/bin/bash\n"), // keeps its mode
		"apps/prod/patches/new/patch.yaml": gitrepo.File("patch: true\n"),       // new directories
	}
	req := git.PushRequest{Base: base.Commit, Files: contents(change), Branch: driftBranch,
		Author: pushAuthor, Message: "Adopt drift of Deployment prod/api"}
	var first plumbing.Hash

	t.Run("first push writes exactly the changed files", func(t *testing.T) {
		res, err := c.Push(testCtx(t), src, req)
		if err != nil {
			t.Fatal(err)
		}
		first = plumbing.NewHash(res.Commit)
		if res.Unchanged || first.IsZero() {
			t.Fatalf("result %+v", res)
		}
		if got := remoteBranch(t, remote.repo.Dir, driftBranch); got != first {
			t.Fatalf("remote branch at %s, want %s", got, first)
		}
		r := openBare(t, remote.repo.Dir)
		wantTreeChange(t, r, baseHash, first, change)
		wantCommitObject(t, r, first, baseHash, req.Message, now)
		got, err := c.ReadFiles(testCtx(t), src, res.Commit, git.DefaultReadOptions())
		if err != nil {
			t.Fatal(err)
		}
		if string(got["apps/prod/patches/new/patch.yaml"]) != "patch: true\n" || string(got["README.md"]) != "# platform\n" {
			t.Fatalf("pushed commit reads as %v", keys(got))
		}
	})

	t.Run("the same push again is unchanged", func(t *testing.T) {
		objects := gitrepo.Repo{Git: openBare(t, remote.repo.Dir)}
		before := objects.CountObjects(t)
		now = now.Add(time.Hour) // a later reconcile
		again := req
		again.Message = "another message"
		res, err := c.Push(testCtx(t), src, again)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Unchanged || res.Commit != first.String() {
			t.Fatalf("result %+v, want unchanged at %s", res, first)
		}
		if got := remoteBranch(t, remote.repo.Dir, driftBranch); got != first {
			t.Fatalf("remote branch moved to %s", got)
		}
		objects = gitrepo.Repo{Git: openBare(t, remote.repo.Dir)}
		if after := objects.CountObjects(t); after != before {
			t.Fatalf("remote has %d objects, had %d: something was pushed", after, before)
		}
	})

	t.Run("a fresh cache finds the branch unchanged too", func(t *testing.T) {
		fresh := newClient(t)
		mustFetch(t, fresh, src)
		res, err := fresh.Push(testCtx(t), src, req)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Unchanged || res.Commit != first.String() {
			t.Fatalf("result %+v, want unchanged at %s", res, first)
		}
	})

	t.Run("a changed file set replaces the branch", func(t *testing.T) {
		other := map[string]gitrepo.Entry{"apps/prod/deploy.yaml": gitrepo.File("replicas: 5\n")}
		changed := req
		changed.Files = contents(other)
		res, err := c.Push(testCtx(t), src, changed)
		if err != nil {
			t.Fatal(err)
		}
		h := plumbing.NewHash(res.Commit)
		if res.Unchanged || h == first {
			t.Fatalf("result %+v", res)
		}
		if got := remoteBranch(t, remote.repo.Dir, driftBranch); got != h {
			t.Fatalf("remote branch at %s, want %s", got, h)
		}
		r := openBare(t, remote.repo.Dir)
		wantTreeChange(t, r, baseHash, h, other) // the first push's files are gone
		wantCommitObject(t, r, h, baseHash, req.Message, now)
	})

	t.Run("the tracked branch and Fetch are untouched", func(t *testing.T) {
		if got := remoteBranch(t, remote.repo.Dir, "main"); got != baseHash {
			t.Fatalf("main moved to %s", got)
		}
		rev := mustFetch(t, c, src)
		if rev.Commit != base.Commit || rev.Previous != base.Commit || rev.ForcePushed {
			t.Fatalf("fetch after pushes: %+v", rev)
		}
	})
}

func contents(entries map[string]gitrepo.Entry) map[string][]byte {
	out := map[string][]byte{}
	for p, e := range entries {
		out[p] = e.Content
	}
	return out
}

func TestPushRefused(t *testing.T) {
	repo := newRepo(t)
	baseHash := repo.Commit(t, pushBase(), gitrepo.CommitOptions{})
	c := newClient(t)
	src := branchSource("platform", repo.URL())
	mustFetch(t, c, src)
	ok := git.PushRequest{Base: baseHash.String(), Files: map[string][]byte{"a.yaml": []byte("a")},
		Branch: driftBranch, Author: pushAuthor, Message: "m"}
	with := func(f func(r *git.PushRequest)) git.PushRequest {
		r := ok
		f(&r)
		return r
	}
	file := func(p string) git.PushRequest {
		return with(func(r *git.PushRequest) { r.Files = map[string][]byte{p: []byte("x")} })
	}
	for _, tc := range []struct {
		name    string
		client  *git.Client
		req     git.PushRequest
		wantErr error
	}{
		{name: "the tracked branch", req: with(func(r *git.PushRequest) { r.Branch = "main" }), wantErr: git.ErrInvalidRequest},
		{name: "an invalid branch name", req: with(func(r *git.PushRequest) { r.Branch = "bad..name" }), wantErr: git.ErrInvalidRequest},
		{name: "no branch", req: with(func(r *git.PushRequest) { r.Branch = "" }), wantErr: git.ErrInvalidRequest},
		{name: "a path with ..", req: file("apps/../../etc/passwd"), wantErr: git.ErrInvalidRequest},
		{name: "a path that is ..", req: file(".."), wantErr: git.ErrInvalidRequest},
		{name: "an absolute path", req: file("/etc/passwd"), wantErr: git.ErrInvalidRequest},
		{name: "an empty segment", req: file("apps//prod/x.yaml"), wantErr: git.ErrInvalidRequest},
		{name: "a trailing slash", req: file("apps/prod/"), wantErr: git.ErrInvalidRequest},
		{name: "a dot segment", req: file("apps/./x.yaml"), wantErr: git.ErrInvalidRequest},
		{name: "an empty path", req: file(""), wantErr: git.ErrInvalidRequest},
		{name: "a .git path", req: file(".git/config"), wantErr: git.ErrInvalidRequest},
		{name: "a backslash", req: file(`apps\x.yaml`), wantErr: git.ErrInvalidRequest},
		{name: "a path through a file", req: file("file.txt/x.yaml"), wantErr: git.ErrInvalidRequest},
		{name: "a path through a symlink", req: file("link/deploy.yaml"), wantErr: git.ErrInvalidRequest},
		{name: "replacing a symlink", req: file("link"), wantErr: git.ErrInvalidRequest},
		{name: "replacing a directory", req: file("apps/prod"), wantErr: git.ErrInvalidRequest},
		{name: "replacing a submodule", req: file("vendor/lib"), wantErr: git.ErrInvalidRequest},
		{name: "a path through a submodule", req: file("vendor/lib/x"), wantErr: git.ErrInvalidRequest},
		{name: "a file and a directory of the same name", req: with(func(r *git.PushRequest) {
			r.Files = map[string][]byte{"new": []byte("a"), "new/x": []byte("b")}
		}), wantErr: git.ErrInvalidRequest},
		{name: "nil content", req: with(func(r *git.PushRequest) { r.Files = map[string][]byte{"a.yaml": nil} }), wantErr: git.ErrInvalidRequest},
		{name: "no files", req: with(func(r *git.PushRequest) { r.Files = nil }), wantErr: git.ErrInvalidRequest},
		{name: "no author", req: with(func(r *git.PushRequest) { r.Author = sources.Person{} }), wantErr: git.ErrInvalidRequest},
		{name: "an author email with >", req: with(func(r *git.PushRequest) { r.Author.Email = "a>b" }), wantErr: git.ErrInvalidRequest},
		{name: "no message", req: with(func(r *git.PushRequest) { r.Message = " \n" }), wantErr: git.ErrInvalidRequest},
		{name: "a short base", req: with(func(r *git.PushRequest) { r.Base = baseHash.String()[:12] }), wantErr: git.ErrInvalidRequest},
		{name: "a base not in the cache", req: with(func(r *git.PushRequest) { r.Base = strings.Repeat("ab", 20) }), wantErr: git.ErrCommitNotFound},
		{name: "a source never fetched", client: newClient(t), req: ok, wantErr: git.ErrCommitNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := c
			if tc.client != nil {
				client = tc.client
			}
			_, err := client.Push(testCtx(t), src, tc.req)
			wantErr(t, err, tc.wantErr, false)
			prefix := fmt.Sprintf("source %q: push %s: branch %q: ", "platform", repo.Dir, tc.req.Branch)
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("error %q does not start with %q", err, prefix)
			}
		})
	}
	if got := remoteBranch(t, repo.Dir, driftBranch); !got.IsZero() {
		t.Fatalf("a refused push created the branch at %s", got)
	}
	if got := remoteBranch(t, repo.Dir, "main"); got != baseHash {
		t.Fatalf("main moved to %s", got)
	}
	// The request that was refused for the other reasons is fine as it is.
	if _, err := c.Push(testCtx(t), src, ok); err != nil {
		t.Fatalf("valid push: %v", err)
	}
}

// TestPushAuthFailure serves reads to anyone and pushes to the right
// password only, so that the push itself, not the listing, is refused.
func TestPushAuthFailure(t *testing.T) {
	const user, password = "alice", "s3cret-Pa55"
	guardPush := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
				if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
					w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	hs := startHTTP(t, "", "", guardPush)
	baseHash := hs.repo.Commit(t, pushBase(), gitrepo.CommitOptions{})
	req := git.PushRequest{Base: baseHash.String(), Files: map[string][]byte{"a.yaml": []byte("a")},
		Branch: driftBranch, Author: pushAuthor, Message: "m"}
	for _, tc := range []struct {
		name    string
		auth    git.Auth
		wantErr error
	}{
		{name: "wrong password", auth: git.Auth{Username: user, Password: "wrong-Pa55word"}, wantErr: git.ErrAuth},
		{name: "no credentials", wantErr: git.ErrAuth},
		{name: "right password", auth: git.Auth{Username: user, Password: password}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			src := git.Source{Name: "private", URL: hs.url(), Ref: git.RefSpec{Branch: "main"}, Auth: tc.auth}
			mustFetch(t, c, src)
			res, err := c.Push(testCtx(t), src, req)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := remoteBranch(t, hs.repo.Dir, driftBranch); got.String() != res.Commit {
					t.Fatalf("remote branch at %s, want %s", got, res.Commit)
				}
				return
			}
			wantErr(t, err, tc.wantErr, false)
			msg := err.Error()
			wantNotContains(t, msg, password, "wrong-Pa55word", "alice:")
			if prefix := `source "private": push ` + hs.url() + `: branch "` + driftBranch + `": `; !strings.HasPrefix(msg, prefix) {
				t.Fatalf("error %q does not start with %q", msg, prefix)
			}
			if strings.Contains(msg, "list refs") {
				t.Fatalf("error %q comes from the listing, not the push", msg)
			}
			if got := remoteBranch(t, hs.repo.Dir, driftBranch); !got.IsZero() {
				t.Fatalf("refused push created the branch at %s", got)
			}
		})
	}
}

func TestPushSSH(t *testing.T) {
	clientKey := newSSHKey(t, "trueup@test")
	srv := startSSH(t, clientKey)
	baseHash := srv.repo.Commit(t, pushBase(), gitrepo.CommitOptions{})
	c := newClient(t)
	src := git.Source{Name: "ssh", URL: srv.url, Ref: git.RefSpec{Branch: "main"},
		Auth: git.Auth{SSHPrivateKey: clientKey.privatePEM, KnownHosts: srv.knownHosts}}
	mustFetch(t, c, src)
	req := git.PushRequest{Base: baseHash.String(), Files: map[string][]byte{"apps/prod/deploy.yaml": []byte("replicas: 2\n")},
		Branch: driftBranch, Author: pushAuthor, Message: "m"}
	res, err := c.Push(testCtx(t), src, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := remoteBranch(t, srv.repo.Dir, driftBranch); got.String() != res.Commit {
		t.Fatalf("remote branch at %s, want %s", got, res.Commit)
	}
	if err := c.DeleteBranch(testCtx(t), src, driftBranch); err != nil {
		t.Fatal(err)
	}
	if got := remoteBranch(t, srv.repo.Dir, driftBranch); !got.IsZero() {
		t.Fatalf("deleted branch still at %s", got)
	}
}

func TestDeleteBranch(t *testing.T) {
	hs := startHTTP(t, "", "")
	baseHash := hs.repo.Commit(t, pushBase(), gitrepo.CommitOptions{})
	c := newClient(t)
	src := branchSource("platform", hs.url())
	mustFetch(t, c, src)
	req := git.PushRequest{Base: baseHash.String(), Files: map[string][]byte{"a.yaml": []byte("a")},
		Branch: driftBranch, Author: pushAuthor, Message: "m"}
	first, err := c.Push(testCtx(t), src, req)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("deletes the remote branch", func(t *testing.T) {
		if err := c.DeleteBranch(testCtx(t), src, driftBranch); err != nil {
			t.Fatal(err)
		}
		if got := remoteBranch(t, hs.repo.Dir, driftBranch); !got.IsZero() {
			t.Fatalf("branch still at %s", got)
		}
	})
	t.Run("a missing branch is fine", func(t *testing.T) {
		if err := c.DeleteBranch(testCtx(t), src, driftBranch); err != nil {
			t.Fatal(err)
		}
		if err := newClient(t).DeleteBranch(testCtx(t), src, "trueup/never-pushed"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the tracked branch is refused", func(t *testing.T) {
		err := c.DeleteBranch(testCtx(t), src, "main")
		wantErr(t, err, git.ErrInvalidRequest, false)
		if got := remoteBranch(t, hs.repo.Dir, "main"); got != baseHash {
			t.Fatalf("main at %s, want %s", got, baseHash)
		}
	})
	t.Run("pushing again after a delete creates the branch", func(t *testing.T) {
		res, err := c.Push(testCtx(t), src, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Unchanged {
			t.Fatalf("push after delete reported unchanged at %s (first push %s)", res.Commit, first.Commit)
		}
		if got := remoteBranch(t, hs.repo.Dir, driftBranch); got.String() != res.Commit {
			t.Fatalf("remote branch at %s, want %s", got, res.Commit)
		}
	})
}
