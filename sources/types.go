package sources

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Person is an author or committer of a commit.
type Person struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	When  time.Time `json:"when"`
}

// SignatureKind says how a commit was signed.
type SignatureKind string

const (
	SignatureNone    SignatureKind = "none"
	SignatureOpenPGP SignatureKind = "openpgp"
	SignatureSSH     SignatureKind = "ssh"
)

// Signature is the result of verifying a commit's signature.
type Signature struct {
	// Kind is the kind of signature found on the commit.
	Kind SignatureKind `json:"kind"`
	// Verified is true when the signature was checked against a trusted key.
	Verified bool `json:"verified"`
	// KeyID identifies the key that made the signature (fingerprint or key id).
	KeyID string `json:"keyID,omitempty"`
	// Signer is the identity bound to the key, when known.
	Signer string `json:"signer,omitempty"`
}

// Revision is one resolved commit of a source.
type Revision struct {
	// Source is the configured name of the source.
	Source string `json:"source"`
	// Ref is the reference that was resolved (branch, tag, semver range or commit).
	Ref string `json:"ref"`
	// Commit is the full SHA of the resolved commit.
	Commit    string    `json:"commit"`
	Author    Person    `json:"author"`
	Committer Person    `json:"committer"`
	Message   string    `json:"message"`
	Signature Signature `json:"signature"`
	// Previous is the commit this source resolved to before this fetch, if any.
	Previous string `json:"previous,omitempty"`
	// ForcePushed is true when Previous is not an ancestor of Commit.
	ForcePushed bool `json:"forcePushed,omitempty"`
}

// Short returns the abbreviated commit SHA.
func (r Revision) Short() string {
	if len(r.Commit) > 12 {
		return r.Commit[:12]
	}
	return r.Commit
}

// Files is the content of a tree at one commit: slash-separated paths
// relative to the repository root, mapped to file content. It is a Tree
// whose files are all read already.
type Files map[string][]byte

// Tree is the files of a commit, listed up front and read on demand, so a
// render reads only the files it uses: the limits of a read (file size,
// file count, total size) count those files, not the whole repository.
type Tree interface {
	// Paths returns every file path, slash-separated from the repository
	// root, sorted.
	Paths() []string
	// Has reports whether p is a file of the tree.
	Has(p string) bool
	// ReadFile returns the content of file p. An error wraps
	// fs.ErrNotExist when there is no such file, or says which read limit
	// the file would pass.
	ReadFile(p string) ([]byte, error)
}

var _ Tree = Files(nil)

// Paths returns the paths of the files, sorted.
func (f Files) Paths() []string {
	return slices.Sorted(maps.Keys(f))
}

// Has reports whether p is one of the files.
func (f Files) Has(p string) bool {
	_, ok := f[p]
	return ok
}

// ReadFile returns the content of p.
func (f Files) ReadFile(p string) ([]byte, error) {
	b, ok := f[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", QuotePath(p), fs.ErrNotExist)
	}
	return b, nil
}

// Origin says where in the source an object came from.
type Origin struct {
	// File is the slash-separated path of the file relative to the repository root.
	File string `json:"file"`
	// Index is the zero-based document index within the file.
	Index int `json:"index"`
	// Decrypted is true when the file was SOPS-encrypted and was decrypted
	// in memory to render the object.
	Decrypted bool `json:"decrypted,omitempty"`
}

// Object is one rendered desired object and its origin.
type Object struct {
	Object *unstructured.Unstructured `json:"object"`
	Origin Origin                     `json:"origin"`
}

// QuotePath returns a repository path as it may be shown in an error or on
// a terminal: unchanged when it is plain printable text, else quoted as Go
// does (strconv.Quote), so a file name holding terminal escape codes or
// control characters cannot reach a terminal raw.
func QuotePath(p string) string {
	for _, r := range p {
		if r == '"' || r == '\\' || !unicode.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return p
}
