package sops

import (
	"fmt"
	"slices"
	"sync"

	"github.com/trueup-dev/trueup/sources"
)

// Tree is a sources.Tree that decrypts SOPS files as they are read, in
// memory. Other files are returned unchanged.
type Tree struct {
	inner sources.Tree
	keys  *Keys

	mu        sync.Mutex
	decrypted map[string]bool
}

var _ sources.Tree = (*Tree)(nil)

// NewTree wraps inner; keys may be nil (then every SOPS file fails with
// ErrNoKey, so ciphertext is never handed on).
func NewTree(inner sources.Tree, keys *Keys) *Tree {
	return &Tree{inner: inner, keys: keys, decrypted: map[string]bool{}}
}

// Paths returns the paths of the inner tree.
func (t *Tree) Paths() []string { return t.inner.Paths() }

// Has reports whether p is a file of the inner tree.
func (t *Tree) Has(p string) bool { return t.inner.Has(p) }

// ReadFile reads p, decrypted when it is a SOPS file. Errors name the file.
func (t *Tree) ReadFile(p string) ([]byte, error) {
	data, err := t.inner.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if _, ok := IsEncrypted(p, data); !ok {
		return data, nil
	}
	plain, err := Decrypt(p, data, t.keys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sources.QuotePath(p), err)
	}
	t.mu.Lock()
	t.decrypted[p] = true
	t.mu.Unlock()
	return plain, nil
}

// Decrypted returns the files read decrypted so far, sorted.
func (t *Tree) Decrypted() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.decrypted))
	for p := range t.decrypted {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
