package git

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup-dev/trueup/sources"
)

// ErrBranchMoved: the branch moved on the remote while a commit for it was
// built; fetch again and retry.
var ErrBranchMoved = errors.New("branch moved on the remote")

// CommitRequest is one commit for CommitBranch on top of the tip of the
// branch the source tracks.
type CommitRequest struct {
	// Files maps repository-relative slash paths to their content, created
	// or replaced (keeping the file mode); every other file stays. Nil
	// content is refused.
	Files map[string][]byte
	// IfAbsent are files written only where the tip has no such path (a
	// config people edit after a first commit wrote it).
	IfAbsent map[string][]byte
	// Author is the author and committer; a zero When is the Client's clock.
	Author sources.Person
	// Message is the commit message.
	Message string
}

// CommitBranch writes req.Files on top of the tip of the branch the source
// tracks (src.Ref.Branch) and pushes the commit there, fast-forward only:
// `trueup bootstrap` writing into a repository people own, so it never
// rewrites their history. A branch the remote does not have yet (an empty
// repository) gets the commit as its first.
//
// When the tip already holds every file with that content, nothing is
// written or pushed and the result says Unchanged, so running it twice
// makes one commit. A branch that moved on the remote since it was listed
// is refused by the remote (ErrBranchMoved); nothing is overwritten.
func (c *Client) CommitBranch(ctx context.Context, src Source, req CommitRequest) (PushResult, error) {
	if err := src.Validate(); err != nil {
		return PushResult{}, err
	}
	ep, _ := parseEndpoint(src.URL) // validated above
	fail := func(err error) error {
		return fmt.Errorf("source %q: commit to %s: branch %q: %w", src.Name, ep.display, src.Ref.Branch, err)
	}
	if src.Ref.Branch == "" {
		return PushResult{}, fail(fmt.Errorf("%w: the source tracks %s, not a branch", ErrInvalidRequest, src.Ref))
	}
	if err := checkCommitMeta(req.Author, req.Message); err != nil {
		return PushResult{}, fail(err)
	}
	all := maps.Clone(req.Files)
	if all == nil {
		all = map[string][]byte{}
	}
	maps.Copy(all, req.IfAbsent)
	if _, err := newTreeEdit(all); err != nil {
		return PushResult{}, fail(err)
	}
	var res PushResult
	err := c.inSession(ctx, src, nil, func(ctx context.Context, s *session) (err error) {
		if res, err = s.commitBranch(ctx, req, c.now); err != nil {
			return fail(err)
		}
		return nil
	})
	if err != nil {
		return PushResult{}, err
	}
	return res, nil
}

// commitBranch is the CommitBranch pipeline for an open session.
func (s *session) commitBranch(ctx context.Context, req CommitRequest, now func() time.Time) (PushResult, error) {
	branch := plumbing.NewBranchReferenceName(s.src.Ref.Branch)
	// 1. The tip of the branch, fetched into the cache (none: a first commit).
	tip, err := s.tip(ctx, branch)
	if err != nil {
		return PushResult{}, err
	}
	// 2. The new tree: the tip's with the files written.
	var baseTree *object.Tree
	if tip != nil {
		if baseTree, err = tip.Tree(); err != nil {
			return PushResult{}, fmt.Errorf("read tree of %s: %w", tip.Hash, err)
		}
	}
	files := maps.Clone(req.Files)
	if files == nil {
		files = map[string][]byte{}
	}
	for p, b := range req.IfAbsent {
		if baseTree != nil {
			if _, err := baseTree.FindEntry(p); err == nil {
				continue
			}
		}
		files[p] = b
	}
	if len(files) == 0 { // every file is IfAbsent and present
		return PushResult{Commit: tip.Hash.String(), Unchanged: true}, nil
	}
	edit, err := newTreeEdit(files)
	if err != nil {
		return PushResult{}, err
	}
	tree, err := (&treeWriter{ctx: ctx, s: s.repo.Storer}).write(baseTree, edit, "")
	if err != nil {
		return PushResult{}, err
	}
	if tip != nil && tip.TreeHash == tree {
		return PushResult{Commit: tip.Hash.String(), Unchanged: true}, nil
	}
	// 3. The commit, pushed without force.
	when := req.Author.When
	if when.IsZero() {
		when = now()
	}
	sig := object.Signature{Name: req.Author.Name, Email: req.Author.Email, When: when}
	commit := &object.Commit{Author: sig, Committer: sig, Message: withNewline(req.Message), TreeHash: tree}
	if tip != nil {
		commit.ParentHashes = []plumbing.Hash{tip.Hash}
	}
	h, err := storeObject(s.repo.Storer, commit)
	if err != nil {
		return PushResult{}, fmt.Errorf("write commit: %w", err)
	}
	if err := s.pushFastForward(ctx, config.RefSpec(h.String()+":"+branch.String())); err != nil {
		return PushResult{}, s.moved(ctx, branch, tip, err)
	}
	if err := s.repo.Storer.SetReference(plumbing.NewHashReference(branch, h)); err != nil {
		return PushResult{}, fmt.Errorf("pushed %s; record it in the cache: %w", h, err)
	}
	return PushResult{Commit: h.String()}, nil
}

// tip returns the commit the remote branch points at, fetched into the
// cache when missing, or nil when the remote has no such branch.
func (s *session) tip(ctx context.Context, branch plumbing.ReferenceName) (*object.Commit, error) {
	refs, err := s.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	cur := findRef(refs, branch)
	if cur == nil {
		return nil, nil
	}
	if !s.has(cur.Hash()) {
		if err := s.fetchSpecs(ctx, config.RefSpec("+"+branch.String()+":"+branch.String())); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", branch.Short(), err)
		}
	}
	c, err := s.repo.CommitObject(cur.Hash())
	if err != nil {
		return nil, fmt.Errorf("%w: %s moved during the fetch; retry", ErrBranchMoved, branch.Short())
	}
	return c, nil
}

// pushFastForward pushes without force: the push is refused when it would
// drop commits of the remote branch.
func (s *session) pushFastForward(ctx context.Context, spec config.RefSpec) error {
	s.auth.ssh.reset()
	err := s.remote.PushContext(ctx, &gogit.PushOptions{
		RemoteName: s.remote.Config().Name,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       s.auth.method,
		CABundle:   s.auth.caBundle,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return classify(ctx, s.auth.ssh.refine(err))
}

// moved tells a push refused because the branch moved since tip was read
// (ErrBranchMoved: fetch and retry) from other failures, by listing the
// remote again.
func (s *session) moved(ctx context.Context, branch plumbing.ReferenceName, tip *object.Commit, pushErr error) error {
	refs, err := s.list(ctx)
	if err != nil {
		return fmt.Errorf("push: %w", pushErr)
	}
	cur := findRef(refs, branch)
	if (cur == nil) != (tip == nil) || (cur != nil && cur.Hash() != tip.Hash) {
		return fmt.Errorf("%w: push: %w; run again to commit on top of it", ErrBranchMoved, pushErr)
	}
	return fmt.Errorf("push: %w", pushErr)
}

func withNewline(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\n' {
		return s
	}
	return s + "\n"
}
