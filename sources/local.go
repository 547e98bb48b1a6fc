package sources

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
