package helmrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// CheckArchive checks a chart .tgz against the limits before anything
// loads it: compressed size, entry count, each file's and the total
// decompressed size, and that every entry is a regular file or a folder
// whose path is relative and stays inside the archive (no symlinks, hard
// links, devices, absolute paths or ".."). Errors wrap ErrTooLarge or
// ErrInvalid.
func CheckArchive(data []byte, l Limits) error {
	if int64(len(data)) > l.ArchiveSize {
		return fmt.Errorf("archive: %w: %d bytes, limit %d", ErrTooLarge, len(data), l.ArchiveSize)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("archive: %w: not gzip: %v", ErrInvalid, err)
	}
	tr := tar.NewReader(zr)
	var total int64
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return fmt.Errorf("archive: %w: empty", ErrInvalid)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive: %w: %v", ErrInvalid, err)
		}
		if n >= l.Entries {
			return fmt.Errorf("archive: %w: more than %d entries", ErrTooLarge, l.Entries)
		}
		if err := checkEntry(hdr); err != nil {
			return fmt.Errorf("archive: entry %q: %w", hdr.Name, err)
		}
		size, err := io.Copy(io.Discard, io.LimitReader(tr, l.FileSize+1))
		if err != nil {
			return fmt.Errorf("archive: entry %q: %w: %v", hdr.Name, ErrInvalid, err)
		}
		if size > l.FileSize {
			return fmt.Errorf("archive: entry %q: %w: file larger than %d bytes", hdr.Name, ErrTooLarge, l.FileSize)
		}
		if total += size; total > l.ChartSize {
			return fmt.Errorf("archive: %w: more than %d bytes decompressed", ErrTooLarge, l.ChartSize)
		}
	}
}

func checkEntry(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
	default:
		return fmt.Errorf("%w: only regular files and folders are allowed (type %q)", ErrInvalid, hdr.Typeflag)
	}
	name := strings.ReplaceAll(hdr.Name, "\\", "/")
	if name == "" || strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') {
		return fmt.Errorf("%w: absolute or empty path", ErrInvalid)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("%w: path leaves the archive", ErrInvalid)
		}
	}
	if c := path.Clean(name); c == "." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("%w: path leaves the archive", ErrInvalid)
	}
	return nil
}
