package git

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	gogit "github.com/go-git/go-git/v5"
)

// urlMarker is a file in each cache repository holding the (credential-free)
// URL it mirrors, so a source whose URL changed does not reuse objects and
// refs of another repository.
const urlMarker = "trueup-url"

// lockSuffix names the per-source lock file next to its cache directory.
const lockSuffix = ".lock"

func (c *Client) repoDir(name string) string { return filepath.Join(c.dir, name) }

func (c *Client) lockPath(name string) string { return filepath.Join(c.dir, name+lockSuffix) }

// openCache opens the bare cache repository of a source, creating it when
// missing and re-creating it when it mirrors another URL or cannot be
// opened. The caller holds the source's locks.
func openCache(dir, url string) (*gogit.Repository, error) {
	if b, err := os.ReadFile(filepath.Join(dir, urlMarker)); err == nil && strings.TrimSpace(string(b)) != url {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("reset cache: %w", err)
		}
	}
	repo, err := gogit.PlainOpen(dir)
	if err == nil {
		return repo, nil
	}
	if !errors.Is(err, gogit.ErrRepositoryNotExists) {
		// A broken cache is only a cache: start over.
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("reset cache: %w", err)
		}
	}
	return initCache(dir, url)
}

func initCache(dir, url string) (*gogit.Repository, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	repo, err := gogit.PlainInit(dir, true)
	if err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, urlMarker), []byte(url+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	return repo, nil
}

// openCacheForRead opens an existing cache of url without changing it.
func openCacheForRead(dir, url string) (*gogit.Repository, error) {
	b, err := os.ReadFile(filepath.Join(dir, urlMarker))
	if err != nil || strings.TrimSpace(string(b)) != url {
		return nil, fmt.Errorf("%w: no cache for this url; fetch first", ErrCommitNotFound)
	}
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	return repo, nil
}
