package git_test

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

const prRef = "refs/pull/1/head"

// openPR commits files on top of parent as the head of pull request 1.
func openPR(t *testing.T, repo *gitrepo.Repo, parent plumbing.Hash, tree map[string]gitrepo.Entry, opt gitrepo.CommitOptions) plumbing.Hash {
	t.Helper()
	opt.Branch = "contributor/feature"
	if opt.Parents == nil && !opt.Orphan {
		opt.Parents = []plumbing.Hash{parent}
	}
	h := repo.Commit(t, tree, opt)
	repo.SetRef(t, plumbing.ReferenceName(prRef), h)
	return h
}

// TestFetchRef previews a pull request's head next to a source that keeps
// following main. A control client runs the same Fetches without FetchRef:
// every revision Fetch returns must be the same in both.
func TestFetchRef(t *testing.T) {
	hs := startHTTP(t, "", "")
	c, control := newClient(t), newClient(t)
	src := branchSource("platform", hs.url())
	fetchBoth := func(t *testing.T) sources.Revision {
		t.Helper()
		rev, want := mustFetch(t, c, src), mustFetch(t, control, src)
		if rev != want {
			t.Fatalf("fetch after FetchRef\n got %+v\nwant %+v (as without FetchRef)", rev, want)
		}
		if last, _ := c.LastGood(src.Name); last != rev {
			t.Fatalf("LastGood = %+v, want %+v", last, rev)
		}
		return rev
	}
	main1 := hs.repo.Commit(t, files("apps/a.yaml", "a: 1"), gitrepo.CommitOptions{})
	base := fetchBoth(t)
	author := object.Signature{Name: "Contributor", Email: "c@example.com", When: gitrepo.DefaultAuthor.When}
	head1 := openPR(t, hs.repo, main1, files("apps/a.yaml", "a: 2", "apps/b.yaml", "b: 1"),
		gitrepo.CommitOptions{Author: author, Message: "scale a\n\nand add b"})
	var rev sources.Revision

	t.Run("fetches the head and reads it", func(t *testing.T) {
		var err error
		rev, err = c.FetchRef(testCtx(t), src, prRef)
		if err != nil {
			t.Fatal(err)
		}
		want := sources.Revision{Source: "platform", Ref: prRef, Commit: head1.String(),
			Author:    sources.Person{Name: "Contributor", Email: "c@example.com", When: author.When},
			Committer: sources.Person{Name: "Contributor", Email: "c@example.com", When: author.When},
			Message:   "scale a\n\nand add b", Signature: sources.Signature{Kind: sources.SignatureNone}}
		got := rev
		got.Author.When, got.Committer.When = author.When, author.When
		if got != want || !rev.Author.When.Equal(author.When) {
			t.Fatalf("revision\n got %+v\nwant %+v", rev, want)
		}
		files, err := c.ReadFiles(testCtx(t), src, rev.Commit, git.DefaultReadOptions())
		if err != nil {
			t.Fatal(err)
		}
		if string(files["apps/a.yaml"]) != "a: 2" || string(files["apps/b.yaml"]) != "b: 1" || len(files) != 2 {
			t.Fatalf("files = %v", files)
		}
	})

	t.Run("Fetch of main is as if FetchRef never ran", func(t *testing.T) {
		packs := hs.counter.uploadPacks.Load()
		again := fetchBoth(t)
		if again.Commit != main1.String() || again.Previous != base.Commit || again.ForcePushed {
			t.Fatalf("revision %+v", again)
		}
		if got := hs.counter.uploadPacks.Load() - packs; got != 0 {
			t.Fatalf("%d upload-pack requests for an unchanged main, want 0", got)
		}
	})

	t.Run("an unchanged head is not fetched again", func(t *testing.T) {
		packs := hs.counter.uploadPacks.Load()
		again, err := c.FetchRef(testCtx(t), src, prRef)
		if err != nil {
			t.Fatal(err)
		}
		if again != rev {
			t.Fatalf("revision %+v, want %+v", again, rev)
		}
		if got := hs.counter.uploadPacks.Load() - packs; got != 0 {
			t.Fatalf("%d upload-pack requests, want 0", got)
		}
	})

	t.Run("a force-pushed head is followed", func(t *testing.T) {
		head2 := openPR(t, hs.repo, main1, files("apps/a.yaml", "a: 3"), gitrepo.CommitOptions{Orphan: true})
		got, err := c.FetchRef(testCtx(t), src, prRef)
		if err != nil {
			t.Fatal(err)
		}
		wantCommit(t, got, head2)
		if got.Previous != "" || got.ForcePushed {
			t.Fatalf("FetchRef reported history: %+v", got)
		}
		files, err := c.ReadFiles(testCtx(t), src, got.Commit, git.DefaultReadOptions())
		if err != nil {
			t.Fatal(err)
		}
		if string(files["apps/a.yaml"]) != "a: 3" || len(files) != 1 {
			t.Fatalf("files = %v", files)
		}
	})

	t.Run("main merging the first head fast-forwards", func(t *testing.T) {
		hs.repo.SetRef(t, plumbing.NewBranchReferenceName("main"), head1)
		got := fetchBoth(t)
		if got.Commit != head1.String() || got.Previous != main1.String() || got.ForcePushed {
			t.Fatalf("revision %+v", got)
		}
	})

	t.Run("main rewritten is a force push", func(t *testing.T) {
		rewritten := hs.repo.Commit(t, files("apps/a.yaml", "a: 9"), gitrepo.CommitOptions{Orphan: true})
		got := fetchBoth(t)
		if got.Commit != rewritten.String() || got.Previous != head1.String() || !got.ForcePushed {
			t.Fatalf("revision %+v", got)
		}
	})

	t.Run("other branches and tags", func(t *testing.T) {
		const branch = "refs/heads/contributor/feature"
		got, err := c.FetchRef(testCtx(t), src, branch)
		if err != nil {
			t.Fatal(err)
		}
		wantCommit(t, got, hs.repo.Head(t, "contributor/feature"))
		if got.Ref != branch {
			t.Fatalf("ref = %q, want %q", got.Ref, branch)
		}
		hs.repo.Tag(t, "v1", main1, "annotated")
		if got, err = c.FetchRef(testCtx(t), src, "refs/tags/v1"); err != nil {
			t.Fatal(err)
		}
		wantCommit(t, got, main1) // peeled to the commit
	})
}

func TestFetchRefErrors(t *testing.T) {
	repo := newRepo(t)
	repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	c := newClient(t)
	src := branchSource("platform", repo.URL())
	for _, tc := range []struct {
		name    string
		ref     string
		wantErr error
	}{
		{name: "missing ref", ref: "refs/pull/9/head", wantErr: git.ErrRefNotFound},
		{name: "short name", ref: "pull/1/head", wantErr: git.ErrInvalidRequest},
		{name: "invalid name", ref: "refs/heads/a..b", wantErr: git.ErrInvalidRequest},
		{name: "HEAD", ref: "HEAD", wantErr: git.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.FetchRef(testCtx(t), src, tc.ref)
			wantErr(t, err, tc.wantErr, false)
			if prefix := `source "platform": fetch ` + tc.ref + " from " + repo.Dir + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("error %q does not start with %q", err, prefix)
			}
		})
	}
	if _, ok := c.LastGood("platform"); ok {
		t.Fatal("FetchRef set a last good revision")
	}
}

// TestFetchRefVerify reports an unsigned pull request head of a source
// that requires signed commits, as Fetch would, and returns a signed one.
func TestFetchRefVerify(t *testing.T) {
	signer := newSSHKey(t, "alice@example.com")
	repo := newRepo(t)
	main1 := repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{Signer: gitrepo.SSHSigner{Signer: signer.signer}})
	src := branchSource("signed", repo.URL())
	src.Verify = git.Verify{Mode: git.VerifyHead, SSHKeys: [][]byte{signer.authorizedKey}}
	c := newClient(t)
	mustFetch(t, c, src)

	openPR(t, repo, main1, files("a", "2"), gitrepo.CommitOptions{})
	rev, err := c.FetchRef(testCtx(t), src, prRef)
	wantErr(t, err, git.ErrUnverified, false)
	if rev != (sources.Revision{}) {
		t.Fatalf("unverified head returned a revision %+v", rev)
	}

	signed := openPR(t, repo, main1, files("a", "3"), gitrepo.CommitOptions{Signer: gitrepo.SSHSigner{Signer: signer.signer}})
	rev, err = c.FetchRef(testCtx(t), src, prRef)
	if err != nil {
		t.Fatal(err)
	}
	wantCommit(t, rev, signed)
	if !rev.Signature.Verified || rev.Signature.Kind != sources.SignatureSSH {
		t.Fatalf("signature %+v", rev.Signature)
	}
}
