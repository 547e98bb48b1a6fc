package helmrepo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// diskCache stores archives content-addressed: <dir>/sha256/<hex>.tgz.
type diskCache struct{ dir string }

func (d *diskCache) path(hexsum string) string {
	return filepath.Join(d.dir, "sha256", hexsum+".tgz")
}

// get returns the archive with this digest, or nil when it is not cached.
// A file whose content does not hash to its name is removed and reported
// as a miss.
func (d *diskCache) get(digest string) ([]byte, error) {
	hexsum, err := parseDigest(digest)
	if err != nil {
		return nil, err
	}
	p := d.path(hexsum)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cached archive: %w", err)
	}
	if sha256Hex(data) != hexsum {
		_ = os.Remove(p) // corrupt: fetch again
		return nil, nil
	}
	return data, nil
}

// put stores data under its sha256, atomically (temp file, sync, rename).
func (d *diskCache) put(data []byte) error {
	hexsum := sha256Hex(data)
	p := d.path(hexsum)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("chart cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("chart cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	return nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// parseDigest returns the hex of "sha256:<64 hex>".
func parseDigest(d string) (string, error) {
	hexsum, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexsum) != 64 {
		return "", fmt.Errorf("%w: digest %q: want sha256:<64 hex digits>", ErrInvalid, d)
	}
	if _, err := hex.DecodeString(hexsum); err != nil || strings.ToLower(hexsum) != hexsum {
		return "", fmt.Errorf("%w: digest %q: want sha256:<64 lowercase hex digits>", ErrInvalid, d)
	}
	return hexsum, nil
}
