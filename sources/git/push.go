package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/trueup-dev/trueup/sources"
)

// Cache-local references of Push and FetchRef. They never name the refs
// Fetch relies on (resolvedRef, the tracked branch).
const (
	// pushRefPrefix + <branch> is the commit trueup last pushed to or found
	// on one of its branches.
	pushRefPrefix = "refs/trueup/push/"
	// fetchedRefPrefix + <ref without "refs/"> is what FetchRef fetched.
	fetchedRefPrefix = "refs/trueup/fetched/"
	// maxLocalRefName bounds the last component of a local ref (a file name).
	maxLocalRefName = 200
)

// PushRequest is one commit for Push to write on top of a cached commit
// and push to a branch of the source's remote.
type PushRequest struct {
	// Base is the full sha of a commit in the cache (one Fetch or FetchRef
	// returned): the parent of the new commit. Push never fetches it.
	Base string
	// Files maps repository-relative slash paths to their new content,
	// created or replaced (keeping the file mode); every other entry of
	// Base's tree stays as it is. New directories are created. Nil
	// content is refused: Push does not delete.
	Files map[string][]byte
	// Branch receives the commit as refs/heads/<Branch>, replacing what it
	// held (a forced push). It is trueup's own branch, never the branch the
	// source tracks.
	Branch string
	// Author is the author and committer of the commit; a zero When is the
	// Client's clock (see WithClock).
	Author sources.Person
	// Message is the commit message.
	Message string
}

// PushResult is what Push left on the branch.
type PushResult struct {
	// Commit is the sha the branch points at.
	Commit string
	// Unchanged is true when the branch already held a commit with the same
	// tree and parent: nothing was pushed and Commit is that commit.
	Unchanged bool
}

// Push writes a commit with req.Files on top of req.Base and force-pushes
// it to req.Branch of the source's remote, with the source's credentials.
//
// The commit is built in the object store of the source's cache, which
// must hold Base (ErrCommitNotFound otherwise): blobs for the files, the
// trees on their paths rebuilt from Base's tree, no worktree. A path that
// leaves the tree, goes through a file or a symlink, or replaces a
// directory, symlink or submodule is an ErrInvalidRequest, as is the
// branch the source tracks. When the remote branch already points at a
// commit with the same tree and parent, nothing is pushed and the result
// says Unchanged, so a reconcile that repeats itself makes no new commit.
// Push moves no reference Fetch relies on.
func (c *Client) Push(ctx context.Context, src Source, req PushRequest) (PushResult, error) {
	if err := src.Validate(); err != nil {
		return PushResult{}, err
	}
	ep, _ := parseEndpoint(src.URL) // validated above
	fail := func(err error) error {
		return fmt.Errorf("source %q: push %s: branch %q: %w", src.Name, ep.display, req.Branch, err)
	}
	edit, err := req.check(src)
	if err != nil {
		return PushResult{}, fail(err)
	}
	var res PushResult
	// Base must already be cached: never create or reset a cache to push.
	cached := func() error {
		if _, err := openCacheForRead(c.repoDir(src.Name), ep.display); err != nil {
			return fail(fmt.Errorf("base %s: %w", req.Base, err))
		}
		return nil
	}
	err = c.inSession(ctx, src, cached, func(ctx context.Context, s *session) (err error) {
		if res, err = s.push(ctx, req, edit, c.now); err != nil {
			return fail(err)
		}
		return nil
	})
	if err != nil {
		return PushResult{}, err
	}
	return res, nil
}

// check validates the request against the source and returns its edit.
func (r *PushRequest) check(src Source) (*treeEdit, error) {
	if err := checkWriteBranch(src, r.Branch); err != nil {
		return nil, err
	}
	r.Base = strings.ToLower(r.Base)
	if !isFullSHA(r.Base) {
		return nil, fmt.Errorf("%w: base %q is not a full commit sha", ErrInvalidRequest, r.Base)
	}
	if err := checkCommitMeta(r.Author, r.Message); err != nil {
		return nil, err
	}
	return newTreeEdit(r.Files)
}

// checkCommitMeta refuses an author Git could not write and an empty message.
func checkCommitMeta(author sources.Person, message string) error {
	for _, f := range []struct{ what, v string }{{"author name", author.Name}, {"author email", author.Email}} {
		if strings.TrimSpace(f.v) == "" || strings.ContainsAny(f.v, "<>\n\x00") {
			return fmt.Errorf("%w: %s %q is empty or holds <, > or a newline", ErrInvalidRequest, f.what, f.v)
		}
	}
	if strings.TrimSpace(message) == "" {
		return fmt.Errorf("%w: commit message is empty", ErrInvalidRequest)
	}
	return nil
}

// checkWriteBranch refuses a branch name Git refuses and the branch the
// source tracks: trueup writes only branches of its own.
func checkWriteBranch(src Source, branch string) error {
	if branch == "" || branch == "HEAD" || plumbing.NewBranchReferenceName(branch).Validate() != nil {
		return fmt.Errorf("%w: %q is not a valid branch name", ErrInvalidRequest, branch)
	}
	if branch == src.Ref.Branch {
		return fmt.Errorf("%w: %q is the branch the source tracks; trueup writes only its own branches", ErrInvalidRequest, branch)
	}
	return nil
}

// push is the Push pipeline for an open session.
func (s *session) push(ctx context.Context, req PushRequest, edit *treeEdit, now func() time.Time) (PushResult, error) {
	branch := plumbing.NewBranchReferenceName(req.Branch)
	// 1. Base must be in the cache.
	base, err := s.repo.CommitObject(plumbing.NewHash(req.Base))
	if err != nil {
		return PushResult{}, fmt.Errorf("%w: base %s: %w", ErrCommitNotFound, req.Base, err)
	}
	// 2. Write the blobs and the trees on their paths.
	baseTree, err := base.Tree()
	if err != nil {
		return PushResult{}, fmt.Errorf("read tree of base %s: %w", req.Base, err)
	}
	tree, err := (&treeWriter{ctx: ctx, s: s.repo.Storer}).write(baseTree, edit, "")
	if err != nil {
		return PushResult{}, err
	}
	// 3. A branch that already holds this change is left alone.
	held, same, err := s.holds(ctx, req.Branch, tree, base.Hash)
	if err != nil {
		return PushResult{}, err
	}
	if same {
		return PushResult{Commit: held.String(), Unchanged: true}, nil
	}
	// 4. Write the commit and force it onto the branch.
	commit, err := writeCommit(s.repo.Storer, req, tree, base.Hash, now)
	if err != nil {
		return PushResult{}, fmt.Errorf("write commit: %w", err)
	}
	if err := s.pushSpecs(ctx, config.RefSpec("+"+commit.String()+":"+branch.String())); err != nil {
		return PushResult{}, err
	}
	// 5. Remember it, so the next run compares without fetching.
	if err := s.repo.Storer.SetReference(plumbing.NewHashReference(pushRef(req.Branch), commit)); err != nil {
		return PushResult{}, fmt.Errorf("pushed %s; record it in the cache: %w", commit, err)
	}
	return PushResult{Commit: commit.String()}, nil
}

// holds reports whether the remote branch points at a commit with the
// given tree and single parent, fetching that commit when the cache lacks
// it. It returns the commit the branch points at.
func (s *session) holds(ctx context.Context, branch string, tree, parent plumbing.Hash) (plumbing.Hash, bool, error) {
	refs, err := s.list(ctx)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("list refs: %w", err)
	}
	cur := findRef(refs, plumbing.NewBranchReferenceName(branch))
	if cur == nil {
		return plumbing.ZeroHash, false, nil
	}
	local := pushRef(branch)
	if !s.has(cur.Hash()) {
		spec := config.RefSpec("+" + cur.Name().String() + ":" + local.String())
		if err := s.fetchSpecs(ctx, spec); err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("fetch the branch to compare: %w", err)
		}
	}
	c, err := s.repo.CommitObject(cur.Hash())
	if err != nil {
		return cur.Hash(), false, nil // moved since the listing, or not a commit: push over it
	}
	same := c.TreeHash == tree && len(c.ParentHashes) == 1 && c.ParentHashes[0] == parent
	if same {
		if err := s.repo.Storer.SetReference(plumbing.NewHashReference(local, c.Hash)); err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("record branch in the cache: %w", err)
		}
	}
	return c.Hash, same, nil
}

// writeCommit writes the commit of req with the given tree and parent.
func writeCommit(st storer.EncodedObjectStorer, req PushRequest, tree, parent plumbing.Hash, now func() time.Time) (plumbing.Hash, error) {
	when := req.Author.When
	if when.IsZero() {
		when = now()
	}
	sig := object.Signature{Name: req.Author.Name, Email: req.Author.Email, When: when}
	msg := req.Message
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: []plumbing.Hash{parent}}
	return storeObject(st, c)
}

// DeleteBranch deletes a branch of the source's remote, as the end of a
// pull request trueup opened. A branch that does not exist is not an
// error; the branch the source tracks is refused (ErrInvalidRequest).
func (c *Client) DeleteBranch(ctx context.Context, src Source, branch string) error {
	if err := src.Validate(); err != nil {
		return err
	}
	if err := checkWriteBranch(src, branch); err != nil {
		ep, _ := parseEndpoint(src.URL) // validated above
		return fmt.Errorf("source %q: delete branch %q at %s: %w", src.Name, branch, ep.display, err)
	}
	return c.inSession(ctx, src, nil, func(ctx context.Context, s *session) error {
		return s.deleteBranch(ctx, branch)
	})
}

// deleteBranch deletes the remote branch and trueup's ref of it.
func (s *session) deleteBranch(ctx context.Context, branch string) error {
	op := fmt.Sprintf("delete branch %q at", branch)
	err := s.pushSpecs(ctx, config.RefSpec(":"+plumbing.NewBranchReferenceName(branch).String()))
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return s.errorf(op, err)
	}
	err = s.repo.Storer.RemoveReference(pushRef(branch))
	if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return s.errorf(op, fmt.Errorf("forget the branch in the cache: %w", err))
	}
	return nil
}

// pushSpecs pushes with force; a push that changes nothing (a branch
// already at the commit, a deleted branch that does not exist) is not an
// error.
func (s *session) pushSpecs(ctx context.Context, specs ...config.RefSpec) error {
	s.auth.ssh.reset()
	err := s.remote.PushContext(ctx, &gogit.PushOptions{
		RemoteName: s.remote.Config().Name,
		RefSpecs:   specs,
		Auth:       s.auth.method,
		CABundle:   s.auth.caBundle,
		Force:      true,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return classify(ctx, s.auth.ssh.refine(err))
}

// findRef returns the hash reference called name, or nil.
func findRef(refs []*plumbing.Reference, name plumbing.ReferenceName) *plumbing.Reference {
	for _, r := range refs {
		if r.Name() == name && r.Type() == plumbing.HashReference {
			return r
		}
	}
	return nil
}

// pushRef is the cache-local reference of one of trueup's branches.
func pushRef(branch string) plumbing.ReferenceName {
	return localRef(pushRefPrefix, branch)
}

// localRef flattens name into one component below prefix ("/" and "%"
// escaped), so that refs "a" and "a/b" never collide as file and
// directory; a long name becomes its digest.
func localRef(prefix, name string) plumbing.ReferenceName {
	flat := strings.NewReplacer("%", "%25", "/", "%2F").Replace(name)
	if len(flat) > maxLocalRefName {
		sum := sha256.Sum256([]byte(name))
		flat = "sha256-" + hex.EncodeToString(sum[:])
	}
	return plumbing.ReferenceName(prefix + flat)
}
