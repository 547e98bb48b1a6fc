package git_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources/git"
)

// TestCommitBranch walks bootstrap's commits to the tracked branch: the
// first commit of an empty repository, a re-run (no commit), a change on
// top of someone's commit (fast-forward, their files kept).
func TestCommitBranch(t *testing.T) {
	when := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	repo := newRepo(t)
	src := branchSource("boot", repo.URL())
	c := newClient(t, git.WithClock(func() time.Time { return when }))
	req := git.CommitRequest{Files: map[string][]byte{"clusters/prod/trueup.yaml": []byte("a: 1\n")}, Author: pushAuthor, Message: "Add trueup"}

	first, err := c.CommitBranch(testCtx(t), src, req)
	if err != nil || first.Unchanged {
		t.Fatalf("first commit into an empty repository: %+v, %v", first, err)
	}
	if got := remoteBranch(t, repo.Dir, gitrepo.DefaultBranch); got.String() != first.Commit {
		t.Fatalf("branch at %s, want %s", got, first.Commit)
	}
	if parents := commitOf(t, repo, first.Commit).ParentHashes; len(parents) != 0 {
		t.Fatalf("first commit has parents %v", parents)
	}

	again, err := c.CommitBranch(testCtx(t), src, req)
	if err != nil || !again.Unchanged || again.Commit != first.Commit {
		t.Fatalf("re-run: %+v, %v; want unchanged at %s", again, err, first.Commit)
	}
	// A fresh cache sees the same: nothing to commit.
	if res, err := newClient(t).CommitBranch(testCtx(t), src, req); err != nil || !res.Unchanged {
		t.Fatalf("re-run from a fresh cache: %+v, %v", res, err)
	}

	// Someone commits on top; a changed file lands on their commit.
	theirs := repo.Commit(t, files("clusters/prod/trueup.yaml", "a: 1\n", "README.md", "# ops\n"), gitrepo.CommitOptions{Message: "Add README"})
	req.Files["clusters/prod/trueup.yaml"] = []byte("a: 2\n")
	second, err := c.CommitBranch(testCtx(t), src, req)
	if err != nil || second.Unchanged {
		t.Fatalf("change: %+v, %v", second, err)
	}
	got := commitOf(t, repo, second.Commit)
	if len(got.ParentHashes) != 1 || got.ParentHashes[0] != theirs {
		t.Fatalf("parents %v, want [%s]", got.ParentHashes, theirs)
	}
	wantTreeChange(t, openBare(t, repo.Dir), theirs, plumbing.NewHash(second.Commit), files("clusters/prod/trueup.yaml", "a: 2\n"))

	// IfAbsent files are written once: an edited one is kept.
	req.IfAbsent = map[string][]byte{"README.md": []byte("# generated\n"), "clusters/prod/config.yaml": []byte("b: 1\n")}
	third, err := c.CommitBranch(testCtx(t), src, req)
	if err != nil || third.Unchanged {
		t.Fatalf("if absent: %+v, %v", third, err)
	}
	wantTreeChange(t, openBare(t, repo.Dir), plumbing.NewHash(second.Commit), plumbing.NewHash(third.Commit), files("clusters/prod/config.yaml", "b: 1\n"))
	if res, err := c.CommitBranch(testCtx(t), src, req); err != nil || !res.Unchanged {
		t.Fatalf("if absent, re-run: %+v, %v", res, err)
	}
}

// TestCommitBranchRefused: requests Git could not write, and a source that
// tracks a tag, are refused before anything is pushed.
func TestCommitBranchRefused(t *testing.T) {
	repo := newRepo(t)
	ok := git.CommitRequest{Files: map[string][]byte{"a.yaml": []byte("a")}, Author: pushAuthor, Message: "m"}
	for _, tc := range []struct {
		name string
		src  git.Source
		req  git.CommitRequest
	}{
		{"tag source", git.Source{Name: "s", URL: repo.URL(), Ref: git.RefSpec{Tag: "v1"}}, ok},
		{"no message", branchSource("s", repo.URL()), git.CommitRequest{Files: ok.Files, Author: pushAuthor}},
		{"escaping path", branchSource("s", repo.URL()), git.CommitRequest{Files: map[string][]byte{"../x": []byte("x")}, Author: pushAuthor, Message: "m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClient(t).CommitBranch(testCtx(t), tc.src, tc.req)
			if !errors.Is(err, git.ErrInvalidRequest) {
				t.Fatalf("got %v, want ErrInvalidRequest", err)
			}
			if h := remoteBranch(t, repo.Dir, gitrepo.DefaultBranch); !h.IsZero() {
				t.Fatalf("pushed %s", h)
			}
		})
	}
}

func commitOf(t *testing.T, repo *gitrepo.Repo, h string) *object.Commit {
	t.Helper()
	c, err := openBare(t, repo.Dir).CommitObject(plumbing.NewHash(h))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
