package git

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/trueup-dev/trueup/sources"
)

// resolvedRef records, in each cache, the commit Fetch last returned; it is
// the Previous of the next revision, across restarts too.
const resolvedRef = plumbing.ReferenceName("refs/trueup/resolved")

// maxTagDepth bounds chains of annotated tags pointing at tags.
const maxTagDepth = 8

// session is one call (Fetch, FetchRef, Push, DeleteBranch) for one source
// against its open cache.
type session struct {
	src    Source
	ep     endpoint
	auth   remoteAuth
	repo   *gogit.Repository
	remote *gogit.Remote
}

func (c *Client) newSession(src Source, sshCache **sshMaterial) (*session, error) {
	ep, err := parseEndpoint(src.URL)
	if err != nil {
		return nil, sourceErr(src.Name, err)
	}
	s := &session{src: src, ep: ep}
	if s.auth, err = newRemoteAuth(ep, src.Auth, c.timeoutFor(src), sshCache); err != nil {
		return nil, s.errorf("auth for", err)
	}
	if s.repo, err = openCache(c.repoDir(src.Name), ep.display); err != nil {
		return nil, s.errorf("cache of", err)
	}
	// Packs are received through the guard: an object over the source's
	// total size limit is refused by its header, before go-git inflates it.
	guarded := &guardedStorer{Storer: s.repo.Storer, maxObject: maxObjectBytes(src),
		packDir: filepath.Join(c.repoDir(src.Name), "objects", "pack"), drain: ep.protocol == "file"}
	s.remote = gogit.NewRemote(guarded, &config.RemoteConfig{Name: "origin", URLs: []string{ep.url}})
	return s, nil
}

// errorf formats an error as `source "name": <op> <url>: <err>`.
func (s *session) errorf(op string, err error) error {
	return fmt.Errorf("source %q: %s %s: %w", s.src.Name, op, s.ep.display, err)
}

// fetch is the Fetch pipeline for an open session.
func (s *session) fetch(ctx context.Context) (sources.Revision, error) {
	// 1. Bring the wanted commit into the cache (fetching only if needed).
	hash, err := s.sync(ctx)
	if err != nil {
		return sources.Revision{}, err
	}
	commit, err := s.peel(hash)
	if err != nil {
		return sources.Revision{}, s.errorf("resolve "+s.src.Ref.String()+" at", err)
	}
	// 2. Verify before anything records it as usable.
	sig, err := verifyCommit(commit, s.src.Verify)
	if err != nil {
		return sources.Revision{}, s.errorf("verify commit "+commit.Hash.String()+" from", err)
	}
	// 3. Compare with what the source resolved to before.
	rev := newRevision(s.src, commit, sig)
	if rev.Previous, rev.ForcePushed, err = s.previous(commit); err != nil {
		return sources.Revision{}, s.errorf("compare history of", err)
	}
	if err := s.repo.Storer.SetReference(plumbing.NewHashReference(resolvedRef, commit.Hash)); err != nil {
		return sources.Revision{}, s.errorf("record revision of", err)
	}
	return rev, nil
}

// sync makes the commit or tag object the ref names present in the cache
// and returns its hash.
func (s *session) sync(ctx context.Context) (plumbing.Hash, error) {
	if s.src.Ref.Commit != "" {
		return s.syncCommit(ctx, plumbing.NewHash(strings.ToLower(s.src.Ref.Commit)))
	}
	refs, err := s.list(ctx)
	if err != nil {
		return plumbing.ZeroHash, s.errorf("list refs at", err)
	}
	want, err := selectRef(refs, s.src.Ref)
	if err != nil {
		return plumbing.ZeroHash, s.errorf("resolve "+s.src.Ref.String()+" at", err)
	}
	if local, err := s.repo.Storer.Reference(want.Name()); err == nil && local.Hash() == want.Hash() && s.has(want.Hash()) {
		return want.Hash(), nil // unchanged: no fetch
	}
	spec := config.RefSpec("+" + want.Name().String() + ":" + want.Name().String())
	if err := s.fetchSpecs(ctx, spec); err != nil {
		return plumbing.ZeroHash, s.errorf("fetch", err)
	}
	if !s.has(want.Hash()) {
		return plumbing.ZeroHash, s.errorf("fetch", fmt.Errorf("%w: %s moved during the fetch; retry",
			ErrUnreachable, want.Name().Short()))
	}
	return want.Hash(), nil
}

// syncCommit fetches all branches and tags when a pinned commit is not in
// the cache yet; a commit never changes, so a cached one needs no remote.
func (s *session) syncCommit(ctx context.Context, h plumbing.Hash) (plumbing.Hash, error) {
	if s.has(h) {
		return h, nil
	}
	if err := s.fetchSpecs(ctx, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return plumbing.ZeroHash, s.errorf("fetch", err)
	}
	if !s.has(h) {
		return plumbing.ZeroHash, s.errorf("resolve "+s.src.Ref.String()+" at",
			fmt.Errorf("%w: no branch or tag contains commit %s", ErrRefNotFound, h))
	}
	return h, nil
}

func (s *session) has(h plumbing.Hash) bool {
	return s.repo.Storer.HasEncodedObject(h) == nil
}

func (s *session) list(ctx context.Context) ([]*plumbing.Reference, error) {
	s.auth.ssh.reset()
	refs, err := s.remote.ListContext(ctx, &gogit.ListOptions{Auth: s.auth.method, CABundle: s.auth.caBundle})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return nil, nil // no refs: the wanted one is reported missing by name
	}
	if err != nil {
		return nil, classify(ctx, s.auth.ssh.refine(err))
	}
	return refs, nil
}

func (s *session) fetchSpecs(ctx context.Context, specs ...config.RefSpec) error {
	s.auth.ssh.reset()
	err := s.remote.FetchContext(ctx, &gogit.FetchOptions{
		RefSpecs: specs,
		Auth:     s.auth.method,
		CABundle: s.auth.caBundle,
		Tags:     gogit.NoTags,
		Force:    true,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return classify(ctx, s.auth.ssh.refine(err))
}

// peel follows annotated tags to the commit they name.
func (s *session) peel(h plumbing.Hash) (*object.Commit, error) {
	for range maxTagDepth {
		obj, err := s.repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return nil, fmt.Errorf("read object %s: %w", h, err)
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, fmt.Errorf("%w: %s is a %s, not a commit", ErrRefNotFound, h, obj.Type())
		}
	}
	return nil, fmt.Errorf("%w: tag chain longer than %d", ErrRefNotFound, maxTagDepth)
}

// previous returns the commit the source resolved to before and whether it
// is missing from the new commit's history (a force push or a tag moved to
// another line of history).
func (s *session) previous(c *object.Commit) (string, bool, error) {
	ref, err := s.repo.Storer.Reference(resolvedRef)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	prev := ref.Hash()
	if prev == c.Hash {
		return prev.String(), false, nil
	}
	prevCommit, err := s.repo.CommitObject(prev)
	if err != nil {
		// The previous commit is gone from the cache: it cannot be an ancestor.
		return prev.String(), true, nil
	}
	isAncestor, err := prevCommit.IsAncestor(c)
	if err != nil {
		return "", false, err
	}
	return prev.String(), !isAncestor, nil
}

// selectRef picks the remote reference a RefSpec names.
func selectRef(refs []*plumbing.Reference, spec RefSpec) (*plumbing.Reference, error) {
	var name plumbing.ReferenceName
	switch {
	case spec.SemVer != "":
		return selectSemver(refs, spec.SemVer)
	case spec.Branch != "":
		name = plumbing.NewBranchReferenceName(spec.Branch)
	case spec.Tag != "":
		name = plumbing.NewTagReferenceName(spec.Tag)
	}
	for _, r := range refs {
		if r.Name() == name && r.Type() == plumbing.HashReference {
			return r, nil
		}
	}
	if spec.Branch != "" {
		return nil, fmt.Errorf("%w: branch %q does not exist (deleted?)", ErrRefNotFound, spec.Branch)
	}
	return nil, fmt.Errorf("%w: tag %q does not exist", ErrRefNotFound, spec.Tag)
}

// selectSemver picks the tag with the highest version matching the
// constraint; tags that are not versions are ignored. Equal versions
// ("v1.0.0" and "1.0.0") resolve to the name that sorts first.
func selectSemver(refs []*plumbing.Reference, constraint string) (*plumbing.Reference, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, fmt.Errorf("%w: semver %q: %w", ErrInvalidSource, constraint, err)
	}
	var (
		best    *plumbing.Reference
		bestVer *semver.Version
	)
	for _, r := range refs {
		if !r.Name().IsTag() || r.Type() != plumbing.HashReference {
			continue
		}
		v, err := semver.NewVersion(r.Name().Short())
		if err != nil || !c.Check(v) {
			continue
		}
		cmp := 1
		if bestVer != nil {
			cmp = v.Compare(bestVer)
		}
		if cmp > 0 || cmp == 0 && r.Name() < best.Name() {
			best, bestVer = r, v
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no tag matches semver %q", ErrRefNotFound, constraint)
	}
	return best, nil
}

func newRevision(src Source, c *object.Commit, sig sources.Signature) sources.Revision {
	return sources.Revision{
		Source:    src.Name,
		Ref:       src.Ref.String(),
		Commit:    c.Hash.String(),
		Author:    person(c.Author),
		Committer: person(c.Committer),
		Message:   strings.TrimRight(c.Message, "\n"),
		Signature: sig,
	}
}

func person(s object.Signature) sources.Person {
	return sources.Person{Name: s.Name, Email: s.Email, When: s.When}
}
