package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/trueup-dev/trueup/sources"
)

// tree is the sources.Tree of one commit: the files listed by path and
// blob, read on demand, each once, within the read limits.
type tree struct {
	ctx   context.Context
	repo  *gogit.Repository
	opt   ReadOptions
	blobs map[string]plumbing.Hash
	paths []string
	read  map[string][]byte
	total int64
}

var _ sources.Tree = (*tree)(nil)

func newTree(ctx context.Context, repo *gogit.Repository, blobs map[string]plumbing.Hash, opt ReadOptions) *tree {
	return &tree{ctx: ctx, repo: repo, opt: opt, blobs: blobs,
		paths: slices.Sorted(maps.Keys(blobs)), read: map[string][]byte{}}
}

func (t *tree) Paths() []string { return t.paths }

func (t *tree) Has(p string) bool {
	_, ok := t.blobs[p]
	return ok
}

// readError is a failed read of a file of a tree.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// ReadFile reads file p, checking the per-file limit against the object
// header before inflating it, then the file count and total size of the
// files read so far.
func (t *tree) ReadFile(p string) ([]byte, error) {
	if b, ok := t.read[p]; ok {
		return b, nil
	}
	fail := func(err error) ([]byte, error) { return nil, &readError{err: err} }
	h, ok := t.blobs[p]
	if !ok {
		return fail(fmt.Errorf("read %q: %w", p, fs.ErrNotExist))
	}
	if err := t.ctx.Err(); err != nil {
		return fail(err)
	}
	if len(t.read) >= t.opt.MaxFiles {
		return fail(fmt.Errorf("%w: more than %d files (at %q); raise the source's limits.maxFiles", ErrLimitExceeded, t.opt.MaxFiles, p))
	}
	b, err := readBlob(t.repo, h, t.opt.MaxFileBytes)
	if errors.Is(err, ErrLimitExceeded) {
		return fail(fmt.Errorf("%w: file %q is larger than %d bytes; raise the source's limits.maxFileSize", ErrLimitExceeded, p, t.opt.MaxFileBytes))
	}
	if err != nil {
		return fail(fmt.Errorf("read %q: %w", p, err))
	}
	if t.total += int64(len(b)); t.total > t.opt.MaxTotalBytes {
		return fail(fmt.Errorf("%w: files total more than %d bytes (at %q); raise the source's limits.maxTotalSize", ErrLimitExceeded, t.opt.MaxTotalBytes, p))
	}
	t.read[p] = b
	return b, nil
}
