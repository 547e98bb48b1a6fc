package git

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup-dev/trueup/sources"
)

// Read limits: symlink hops per resolution (as Linux MAXSYMLINKS), nested
// directory-link expansions, and the longest link target read.
const (
	maxSymlinkHops    = 40
	maxLinkExpansions = 16
	maxLinkTarget     = 4096
	// ctxCheckEvery is how many entries are walked between context checks.
	ctxCheckEvery = 256
	// maxListedFiles bounds the files a tree lists (their paths, not their
	// content), so the listing of a huge repository stays small in memory.
	maxListedFiles = 200000
)

// ReadOptions are the per-call knobs of ReadFiles and ReadTree. Zero
// limits mean the defaults of DefaultReadOptions. The limits count the
// files read: every file for ReadFiles, the files the caller reads for
// ReadTree.
type ReadOptions struct {
	// Path is the target path inside the repository ("" or "." is the
	// root). Symlinks inside it are followed if they stay inside it.
	Path string
	// MaxFileBytes limits each file, checked against the object's size
	// before it is inflated.
	MaxFileBytes int64
	// MaxTotalBytes limits the sum of all files read.
	MaxTotalBytes int64
	// MaxFiles limits the number of files read.
	MaxFiles int
}

// DefaultReadOptions reads the repository root with 4 MiB per file, 64 MiB
// in total and at most 10000 files.
func DefaultReadOptions() ReadOptions {
	return ReadOptions{MaxFileBytes: 4 << 20, MaxTotalBytes: 64 << 20, MaxFiles: 10000}
}

// withDefaults fills the limits o leaves unset from the source's, then
// from DefaultReadOptions.
func (o ReadOptions) withDefaults(l Limits) ReadOptions {
	d := DefaultReadOptions()
	o.MaxFileBytes = cmp.Or(max(o.MaxFileBytes, 0), max(l.MaxFileBytes, 0), d.MaxFileBytes)
	o.MaxTotalBytes = cmp.Or(max(o.MaxTotalBytes, 0), max(l.MaxTotalBytes, 0), d.MaxTotalBytes)
	o.MaxFiles = cmp.Or(max(o.MaxFiles, 0), max(l.MaxFiles, 0), d.MaxFiles)
	return o
}

// ReadFiles returns the regular files of the whole tree of a cached commit,
// keyed by slash-separated paths from the repository root: ReadTree, with
// every file read.
func (c *Client) ReadFiles(ctx context.Context, src Source, commit string, opt ReadOptions) (sources.Files, error) {
	files := sources.Files{}
	err := c.ReadTree(ctx, src, commit, opt, func(t sources.Tree) error {
		for _, p := range t.Paths() {
			b, err := t.ReadFile(p)
			if err != nil {
				return err
			}
			files[p] = b
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// ReadTree lists the regular files of the whole tree of a cached commit,
// keyed by slash-separated paths from the repository root, so that an
// overlay in the target path can use bases elsewhere in the repository,
// and calls fn with them; fn reads the files it needs. Only those count
// towards opt's limits, so a large file or many files elsewhere in the
// repository do not fail a target that does not use them. fn runs under
// the source's lock and timeout; the tree must not be used after it.
//
// Files are read from the object store, never from a worktree; a file's
// size is checked against its object header before it is inflated.
// Symlinks inside opt.Path are followed (through chains and directory
// links) only when their destination stays inside opt.Path; one that
// leaves it is an ErrSymlinkEscape naming the link and its destination.
// Symlinks outside opt.Path are omitted, and submodules are skipped. When
// the source requires verification, the commit is verified again before
// reading.
func (c *Client) ReadTree(ctx context.Context, src Source, commit string, opt ReadOptions, fn func(sources.Tree) error) error {
	if err := src.Validate(); err != nil {
		return err
	}
	ep, _ := parseEndpoint(src.URL) // validated above
	commit = strings.ToLower(commit)
	target, err := cleanTargetPath(opt.Path)
	fail := func(err error) error {
		return fmt.Errorf("source %q: read commit %s path %q: %w", src.Name, commit, opt.Path, err)
	}
	if err != nil {
		return fail(err)
	}
	if !isFullSHA(commit) {
		return fail(fmt.Errorf("%w: %q is not a full commit sha", ErrCommitNotFound, commit))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeoutFor(src))
	defer cancel()
	unlock, err := c.lock(ctx, src.Name)
	if err != nil {
		return err
	}
	defer unlock()

	tree, err := c.list(ctx, src, ep, plumbing.NewHash(commit), target, opt.withDefaults(src.Limits))
	if err != nil {
		return fail(err)
	}
	if err := fn(tree); err != nil {
		var re *readError
		if errors.As(err, &re) {
			return fail(err) // name the source and commit of a failed read
		}
		return err
	}
	return nil
}

// list lists the files of commit h, for reading on demand.
func (c *Client) list(ctx context.Context, src Source, ep endpoint, h plumbing.Hash, target string, opt ReadOptions) (*tree, error) {
	repo, err := openCacheForRead(c.repoDir(src.Name), ep.display)
	if err != nil {
		return nil, err
	}
	commit, err := repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCommitNotFound, err)
	}
	if _, err := verifyCommit(commit, src.Verify); err != nil {
		return nil, err
	}
	root, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	r := &treeReader{ctx: ctx, repo: repo, root: root, target: target, blobs: map[string]plumbing.Hash{}}
	if err := r.checkTarget(); err != nil {
		return nil, err
	}
	if err := r.walk(root, "", "", nil); err != nil {
		return nil, err
	}
	return newTree(ctx, repo, r.blobs, opt), nil
}

// cleanTargetPath normalises a target path to "" (root) or "a/b"; it must
// not leave the repository.
func cleanTargetPath(p string) (string, error) {
	if strings.Contains(p, "\\") {
		return "", fmt.Errorf("%w: path must use forward slashes", ErrInvalidSource)
	}
	c := path.Clean(strings.TrimLeft(strings.TrimSpace(p), "/"))
	switch {
	case c == ".":
		return "", nil
	case c == ".." || strings.HasPrefix(c, "../"):
		return "", fmt.Errorf("%w: path leaves the repository", ErrInvalidSource)
	}
	return c, nil
}

// within reports whether p is dir or below it ("" is the root).
func within(p, dir string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// treeReader walks one commit's tree into a listing: each file's path and
// blob, no content.
type treeReader struct {
	ctx    context.Context
	repo   *gogit.Repository
	root   *object.Tree
	target string
	blobs  map[string]plumbing.Hash
	seen   int
}

func (r *treeReader) checkTarget() error {
	if r.target == "" {
		return nil
	}
	e, err := r.root.FindEntry(r.target)
	if err != nil {
		return fmt.Errorf("%w: %q does not exist at this commit", ErrPathNotFound, r.target)
	}
	if e.Mode == filemode.Symlink {
		return fmt.Errorf("%w: %q is a symlink; name the directory it points to", ErrPathNotFound, r.target)
	}
	if e.Mode != filemode.Dir {
		return fmt.Errorf("%w: %q is not a directory", ErrPathNotFound, r.target)
	}
	return nil
}

// walk adds the files of tree. vdir is the path the files are returned
// under, rdir the real path of tree in the commit; they differ below a
// followed directory symlink. chain holds the real directories that
// contained each directory link being expanded, to detect cycles.
func (r *treeReader) walk(tree *object.Tree, vdir, rdir string, chain []string) error {
	for _, e := range tree.Entries {
		if r.seen++; r.seen%ctxCheckEvery == 0 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
		}
		vp, rp := path.Join(vdir, e.Name), path.Join(rdir, e.Name)
		var err error
		switch e.Mode {
		case filemode.Dir:
			err = r.walkDir(e.Hash, vp, rp, chain)
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			err = r.addFile(vp, e.Hash)
		case filemode.Symlink:
			if within(vp, r.target) {
				err = r.followLink(vp, rp, rdir, chain)
			} // symlinks outside the target path are omitted
		} // submodules (filemode.Submodule) are skipped
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *treeReader) walkDir(h plumbing.Hash, vp, rp string, chain []string) error {
	sub, err := r.repo.TreeObject(h)
	if err != nil {
		return fmt.Errorf("read tree %q: %w", rp, err)
	}
	return r.walk(sub, vp, rp, chain)
}

// followLink resolves the link at rp (returned as vp) and adds the file or
// directory it points to.
func (r *treeReader) followLink(vp, rp, rdir string, chain []string) error {
	dest, entry, err := r.resolve(rp)
	if err != nil {
		return fmt.Errorf("symlink %q: %w", vp, err)
	}
	if !within(dest, r.target) {
		return fmt.Errorf("symlink %q: %w: destination %q is outside %q", vp, ErrSymlinkEscape, dest, r.target)
	}
	if entry.Mode != filemode.Dir {
		return r.addFile(vp, entry.Hash)
	}
	inDest := func(d string) bool { return within(d, dest) }
	if inDest(rdir) || slices.ContainsFunc(chain, inDest) {
		return fmt.Errorf("symlink %q: %w: directory %q contains the link (a cycle)", vp, ErrBadSymlink, dest)
	}
	if len(chain) >= maxLinkExpansions {
		return fmt.Errorf("symlink %q: %w: more than %d nested directory links", vp, ErrBadSymlink, maxLinkExpansions)
	}
	return r.walkDir(entry.Hash, vp, dest, append(slices.Clip(chain), rdir))
}

// resolve follows the symlink at linkPath, component by component and
// through further links, to the entry it finally names. Absolute targets
// and ".." above the repository root are escapes.
func (r *treeReader) resolve(linkPath string) (string, object.TreeEntry, error) {
	target, err := r.linkTarget(linkPath)
	if err != nil {
		return "", object.TreeEntry{}, err
	}
	dir := parentDir(linkPath)
	pending := target
	hops := 1
	for pending != "" {
		comp, rest, _ := strings.Cut(pending, "/")
		pending = rest
		switch comp {
		case "", ".":
			continue
		case "..":
			if dir == "" {
				return "", object.TreeEntry{}, fmt.Errorf("%w: %q leaves the repository", ErrSymlinkEscape, target)
			}
			dir = parentDir(dir)
			continue
		}
		next := path.Join(dir, comp)
		e, err := r.root.FindEntry(next)
		if err != nil {
			return "", object.TreeEntry{}, fmt.Errorf("%w: destination %q of %q does not exist", ErrBadSymlink, next, target)
		}
		switch {
		case e.Mode == filemode.Symlink:
			if hops++; hops > maxSymlinkHops {
				return "", object.TreeEntry{}, fmt.Errorf("%w: more than %d levels of links", ErrBadSymlink, maxSymlinkHops)
			}
			t, err := r.linkTarget(next)
			if err != nil {
				return "", object.TreeEntry{}, err
			}
			pending = strings.TrimSuffix(t+"/"+pending, "/")
		case e.Mode == filemode.Dir:
			dir = next
		case e.Mode == filemode.Submodule:
			return "", object.TreeEntry{}, fmt.Errorf("%w: %q is a submodule, which is not read", ErrBadSymlink, next)
		default:
			if strings.Trim(pending, "/") != "" {
				return "", object.TreeEntry{}, fmt.Errorf("%w: %q is not a directory", ErrBadSymlink, next)
			}
			return next, *e, nil
		}
	}
	if dir == "" {
		return "", object.TreeEntry{Mode: filemode.Dir, Hash: r.root.Hash}, nil
	}
	e, err := r.root.FindEntry(dir)
	if err != nil {
		return "", object.TreeEntry{}, fmt.Errorf("%w: destination %q does not exist", ErrBadSymlink, dir)
	}
	return dir, *e, nil
}

// linkTarget reads the target of the symlink at p; absolute ones escape.
func (r *treeReader) linkTarget(p string) (string, error) {
	e, err := r.root.FindEntry(p)
	if err != nil {
		return "", fmt.Errorf("%w: %q does not exist", ErrBadSymlink, p)
	}
	b, err := readBlob(r.repo, e.Hash, maxLinkTarget)
	if errors.Is(err, ErrLimitExceeded) {
		return "", fmt.Errorf("%w: target of %q is longer than %d bytes", ErrBadSymlink, p, maxLinkTarget)
	}
	if err != nil {
		return "", err
	}
	t := string(b)
	if path.IsAbs(t) {
		return "", fmt.Errorf("%w: %q points to absolute path %q", ErrSymlinkEscape, p, t)
	}
	return t, nil
}

func parentDir(p string) string {
	d := path.Dir(p)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// addFile lists the blob h under p.
func (r *treeReader) addFile(p string, h plumbing.Hash) error {
	if len(r.blobs) >= maxListedFiles {
		return fmt.Errorf("%w: more than %d files in the tree (at %q)", ErrLimitExceeded, maxListedFiles, p)
	}
	r.blobs[p] = h
	return nil
}

// readBlob reads a blob of at most limit bytes, checking the size in the
// object header before inflating it, and again while reading.
func readBlob(repo *gogit.Repository, h plumbing.Hash, limit int64) ([]byte, error) {
	blob, err := repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	if blob.Size > limit {
		return nil, ErrLimitExceeded
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	b, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrLimitExceeded
	}
	return b, nil
}
