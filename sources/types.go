package sources

import (
	"time"

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
// relative to the repository root, mapped to file content.
type Files map[string][]byte

// Origin says where in the source an object came from.
type Origin struct {
	// File is the slash-separated path of the file relative to the repository root.
	File string `json:"file"`
	// Index is the zero-based document index within the file.
	Index int `json:"index"`
}

// Object is one rendered desired object and its origin.
type Object struct {
	Object *unstructured.Unstructured `json:"object"`
	Origin Origin                     `json:"origin"`
}
