package git

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/trueup-dev/trueup/sources"
)

// FetchRef fetches one reference of the source's remote, named in full
// ("refs/pull/7/head", "refs/heads/feature"), into the cache and returns
// its commit as a revision whose Ref is that name; ReadFiles can then read
// the commit. It serves the head of a pull request for a preview.
//
// The reference is kept under a private name of the cache: what Fetch
// tracks (the tracked branch, Previous and ForcePushed of its next
// revision, LastGood) is left as it was. The commit is verified as Fetch
// verifies: with Verify.Mode "head" an unsigned or untrusted commit is an
// ErrUnverified and no revision is returned. A reference missing on the
// remote is ErrRefNotFound.
func (c *Client) FetchRef(ctx context.Context, src Source, ref string) (sources.Revision, error) {
	if err := src.Validate(); err != nil {
		return sources.Revision{}, err
	}
	if err := checkFetchRef(ref); err != nil {
		ep, _ := parseEndpoint(src.URL) // validated above
		return sources.Revision{}, fmt.Errorf("source %q: fetch %s from %s: %w", src.Name, ref, ep.display, err)
	}
	var rev sources.Revision
	err := c.inSession(ctx, src, nil, func(ctx context.Context, s *session) (err error) {
		rev, err = s.fetchRef(ctx, plumbing.ReferenceName(ref))
		return err
	})
	if err != nil {
		return sources.Revision{}, err
	}
	return rev, nil
}

// checkFetchRef accepts a full, valid reference name below refs/.
func checkFetchRef(ref string) error {
	if !strings.HasPrefix(ref, "refs/") || plumbing.ReferenceName(ref).Validate() != nil {
		return fmt.Errorf("%w: %q is not a full reference name (refs/...)", ErrInvalidRequest, ref)
	}
	return nil
}

// fetchRef is the FetchRef pipeline for an open session.
func (s *session) fetchRef(ctx context.Context, name plumbing.ReferenceName) (sources.Revision, error) {
	op := "fetch " + name.String() + " from"
	// 1. Bring the commit into the cache under a private name.
	h, err := s.syncRef(ctx, name)
	if err != nil {
		return sources.Revision{}, s.errorf(op, err)
	}
	commit, err := s.peel(h)
	if err != nil {
		return sources.Revision{}, s.errorf(op, err)
	}
	// 2. Verify as Fetch does.
	sig, err := verifyCommit(commit, s.src.Verify)
	if err != nil {
		return sources.Revision{}, s.errorf("verify commit "+commit.Hash.String()+" from", err)
	}
	rev := newRevision(s.src, commit, sig)
	rev.Ref = name.String()
	return rev, nil
}

// syncRef makes the object the remote reference names present in the
// cache, under fetchedRef, and returns its hash. A reference whose object
// the cache holds under that name already is not fetched again.
func (s *session) syncRef(ctx context.Context, name plumbing.ReferenceName) (plumbing.Hash, error) {
	refs, err := s.list(ctx)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("list refs: %w", err)
	}
	want := findRef(refs, name)
	if want == nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: %s does not exist", ErrRefNotFound, name)
	}
	local := fetchedRef(name)
	if cur, err := s.repo.Storer.Reference(local); err == nil && cur.Hash() == want.Hash() && s.has(want.Hash()) {
		return want.Hash(), nil // unchanged: no fetch
	}
	if err := s.fetchSpecs(ctx, config.RefSpec("+"+name.String()+":"+local.String())); err != nil {
		return plumbing.ZeroHash, err
	}
	// The remote may have moved the ref since the listing: take what came.
	got, err := s.repo.Storer.Reference(local)
	if err != nil || !s.has(got.Hash()) {
		return plumbing.ZeroHash, fmt.Errorf("%w: %s moved during the fetch; retry", ErrUnreachable, name)
	}
	return got.Hash(), nil
}

// fetchedRef is the cache-local name of a reference FetchRef fetched.
func fetchedRef(name plumbing.ReferenceName) plumbing.ReferenceName {
	return localRef(fetchedRefPrefix, strings.TrimPrefix(name.String(), "refs/"))
}
