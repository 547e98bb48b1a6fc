package sources

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Limits of ReadDir.
const (
	maxLocalFileBytes  = 4 << 20
	maxLocalTotalBytes = 64 << 20
	maxLocalFiles      = 10000
)

// ReadDir reads the regular files under root (a local checkout or policy
// folder) as Files keyed by slash-separated paths relative to root. Symlinks
// are skipped, never followed, so nothing outside root is read; files over
// 4 MiB, more than 64 MiB in all or more than 10,000 files are an error.
func ReadDir(root string) (Files, error) {
	out := Files{}
	var total int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Type()&fs.ModeSymlink != 0 || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxLocalFileBytes {
			return fmt.Errorf("%s: %d bytes, more than the %d allowed per file", path, info.Size(), maxLocalFileBytes)
		}
		if total += info.Size(); total > maxLocalTotalBytes || len(out) >= maxLocalFiles {
			return fmt.Errorf("%s: more than %d files or %d bytes", root, maxLocalFiles, maxLocalTotalBytes)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, err)
	}
	return out, nil
}

// DirTree is a Tree over a local checkout, read lazily: Paths lists the
// regular files under root (the .git folder and symlinks left out, so
// nothing outside root is read) and ReadFile reads one when asked, within
// the same per-file limit as ReadDir.
type DirTree struct {
	root  string
	paths []string
	has   map[string]bool
}

var _ Tree = (*DirTree)(nil)

// NewDirTree lists the files under root.
func NewDirTree(root string) (*DirTree, error) {
	t := &DirTree{root: root, has: map[string]bool{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if len(t.paths) >= maxLocalFiles*10 {
			return fmt.Errorf("more than %d files", maxLocalFiles*10)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		t.paths = append(t.paths, rel)
		t.has[rel] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, err)
	}
	slices.Sort(t.paths)
	return t, nil
}

// Paths returns every file path, sorted.
func (t *DirTree) Paths() []string { return t.paths }

// Has reports whether p is a file of the tree.
func (t *DirTree) Has(p string) bool { return t.has[p] }

// ReadFile reads p (a path from Paths).
func (t *DirTree) ReadFile(p string) ([]byte, error) {
	if !t.has[p] {
		return nil, fmt.Errorf("%s: %w", QuotePath(p), fs.ErrNotExist)
	}
	full := filepath.Join(t.root, filepath.FromSlash(p))
	info, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() { // replaced by a symlink since the walk
		return nil, fmt.Errorf("%s: not a regular file: %w", QuotePath(p), fs.ErrNotExist)
	}
	if info.Size() > maxLocalFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed per file", QuotePath(p), info.Size(), maxLocalFileBytes)
	}
	return os.ReadFile(full)
}
