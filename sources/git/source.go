package git

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// Source is one Git repository and the reference to follow in it.
type Source struct {
	// Name identifies the source in errors and names its cache directory:
	// letters, digits, '.', '_' and '-', starting with a letter or digit.
	Name string
	// URL is a local path, file://, http(s):// or ssh:// (or scp-like
	// user@host:path) URL. Credentials in an http(s) URL are used as basic
	// auth when Auth has none, and never appear in errors.
	URL    string
	Ref    RefSpec
	Auth   Auth
	Verify Verify
	// Timeout bounds each call for this source (ls-remote, fetch, push,
	// read), lock wait included; zero means the Client's timeout.
	Timeout time.Duration
	// Limits bound the files one read of the source loads, unless the
	// read's ReadOptions set their own; MaxTotalBytes also bounds the size
	// of any object a fetch accepts.
	Limits Limits
}

// Limits bound a read; a zero field means its default (DefaultReadOptions).
type Limits struct {
	MaxFileBytes  int64
	MaxTotalBytes int64
	MaxFiles      int
}

// String describes the source without credentials.
func (s Source) String() string {
	u := "<invalid url>"
	if ep, err := parseEndpoint(s.URL); err == nil {
		u = ep.display
	}
	return fmt.Sprintf("source %q (%s, %s)", s.Name, u, s.Ref)
}

// GoString is String, so %#v does not print credentials either.
func (s Source) GoString() string { return s.String() }

// Validate checks the source definition without contacting the remote.
func (s Source) Validate() error {
	if err := validateName(s.Name); err != nil {
		return err
	}
	ep, err := parseEndpoint(s.URL)
	if err != nil {
		return sourceErr(s.Name, err)
	}
	if err := s.Ref.validate(); err != nil {
		return sourceErr(s.Name, err)
	}
	if err := s.Auth.validate(ep); err != nil {
		return sourceErr(s.Name, err)
	}
	if err := s.Verify.validate(); err != nil {
		return sourceErr(s.Name, err)
	}
	return nil
}

func sourceErr(name string, err error) error {
	return fmt.Errorf("source %q: %w", name, err)
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`) })

func validateName(name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("source %q: %w: name must match %s", name, ErrInvalidSource, nameRE())
	}
	return nil
}

// RefSpec selects what to follow in the repository; set exactly one field.
type RefSpec struct {
	// Branch follows the tip of a branch, e.g. "main".
	Branch string
	// Tag follows one tag, e.g. "v1.2.0" (lightweight or annotated).
	Tag string
	// SemVer follows the highest tag matching a semver constraint, e.g.
	// ">=1.2.0 <2.0.0" (Masterminds/semver syntax; a "v" prefix is allowed).
	SemVer string
	// Commit pins a full 40-character commit SHA.
	Commit string
}

// String returns the reference as "branch main", "tag v1", "semver ^1" or
// "commit <sha>"; it is the Ref of the revisions it resolves to.
func (r RefSpec) String() string {
	switch {
	case r.Branch != "":
		return "branch " + r.Branch
	case r.Tag != "":
		return "tag " + r.Tag
	case r.SemVer != "":
		return "semver " + r.SemVer
	case r.Commit != "":
		return "commit " + strings.ToLower(r.Commit)
	}
	return "<no ref>"
}

func (r RefSpec) validate() error {
	n := 0
	for _, v := range []string{r.Branch, r.Tag, r.SemVer, r.Commit} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: ref: set exactly one of branch, tag, semver, commit (got %d)", ErrInvalidSource, n)
	}
	switch {
	case r.Branch != "":
		if plumbing.NewBranchReferenceName(r.Branch).Validate() != nil {
			return fmt.Errorf("%w: ref: invalid branch name %q", ErrInvalidSource, r.Branch)
		}
	case r.Tag != "":
		if plumbing.NewTagReferenceName(r.Tag).Validate() != nil {
			return fmt.Errorf("%w: ref: invalid tag name %q", ErrInvalidSource, r.Tag)
		}
	case r.SemVer != "":
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			return fmt.Errorf("%w: ref: semver %q: %w", ErrInvalidSource, r.SemVer, err)
		}
	case r.Commit != "":
		if !isFullSHA(r.Commit) {
			return fmt.Errorf("%w: ref: commit %q is not a full 40-character sha", ErrInvalidSource, r.Commit)
		}
	}
	return nil
}

func isFullSHA(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 40 && err == nil
}

// Auth holds the credentials for a remote. Its String and GoString never
// print secrets, so a Source can be formatted safely.
type Auth struct {
	// Username and Password are HTTP basic auth (Password may be a token).
	Username string
	Password string
	// BearerToken is sent as "Authorization: Bearer <token>" over HTTP.
	BearerToken string
	// CABundle holds extra PEM certificates trusted for https.
	CABundle []byte
	// SSHPrivateKey is a PEM (or OpenSSH format) private key for ssh URLs;
	// SSHPassphrase decrypts it when it is encrypted.
	SSHPrivateKey []byte
	SSHPassphrase string
	// KnownHosts holds known_hosts lines that the ssh server's host key must
	// match. Required for ssh unless InsecureIgnoreHostKey is set.
	KnownHosts            []byte
	InsecureIgnoreHostKey bool
}

// String lists which credentials are set, never their values.
func (a Auth) String() string {
	var parts []string
	if a.Username != "" {
		parts = append(parts, "username="+a.Username)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"password", a.Password != ""},
		{"bearerToken", a.BearerToken != ""},
		{"caBundle", len(a.CABundle) > 0},
		{"sshPrivateKey", len(a.SSHPrivateKey) > 0},
		{"sshPassphrase", a.SSHPassphrase != ""},
		{"knownHosts", len(a.KnownHosts) > 0},
		{"insecureIgnoreHostKey", a.InsecureIgnoreHostKey},
	} {
		if f.set {
			parts = append(parts, f.name+"=<redacted>")
		}
	}
	return "Auth{" + strings.Join(parts, " ") + "}"
}

// GoString is String, so %#v does not print secrets either.
func (a Auth) GoString() string { return a.String() }

func (a Auth) validate(ep endpoint) error {
	hasHTTP := a.Username != "" || a.Password != "" || a.BearerToken != "" || len(a.CABundle) > 0
	hasSSH := len(a.SSHPrivateKey) > 0 || a.SSHPassphrase != "" || len(a.KnownHosts) > 0 || a.InsecureIgnoreHostKey
	switch ep.protocol {
	case "file":
		if hasHTTP || hasSSH {
			return fmt.Errorf("%w: auth: credentials given for a local repository", ErrInvalidSource)
		}
	case "http", "https":
		if hasSSH {
			return fmt.Errorf("%w: auth: ssh credentials given for an %s url", ErrInvalidSource, ep.protocol)
		}
		if a.BearerToken != "" && (a.Password != "" || ep.password != "") {
			return fmt.Errorf("%w: auth: set either a bearer token or a password, not both", ErrInvalidSource)
		}
	case "ssh":
		if a.Password != "" || a.BearerToken != "" || len(a.CABundle) > 0 {
			return fmt.Errorf("%w: auth: http credentials given for an ssh url", ErrInvalidSource)
		}
		if len(a.SSHPrivateKey) == 0 {
			return fmt.Errorf("%w: auth: ssh url needs an ssh private key", ErrInvalidSource)
		}
		if len(a.KnownHosts) == 0 && !a.InsecureIgnoreHostKey {
			return fmt.Errorf("%w: auth: ssh url needs known hosts (or insecureIgnoreHostKey)", ErrInvalidSource)
		}
	}
	return nil
}

// VerifyMode says which commits must carry a trusted signature.
type VerifyMode string

const (
	// VerifyOff reads the signature kind but requires nothing.
	VerifyOff VerifyMode = "off"
	// VerifyHead requires the resolved commit to be signed by a trusted key.
	VerifyHead VerifyMode = "head"
)

// Verify configures commit signature verification.
type Verify struct {
	// Mode is "off" (default when empty) or "head".
	Mode VerifyMode
	// OpenPGPKeys are armored OpenPGP public keys (one or more per item).
	OpenPGPKeys [][]byte
	// SSHKeys are public keys in authorized_keys format (one or more lines
	// per item); commits signed with them in the "git" namespace verify.
	SSHKeys [][]byte
}

func (v Verify) validate() error {
	switch v.Mode {
	case "", VerifyOff:
		return nil
	case VerifyHead:
		if len(v.OpenPGPKeys) == 0 && len(v.SSHKeys) == 0 {
			return fmt.Errorf("%w: verify: mode %q needs at least one openpgp or ssh key", ErrInvalidSource, v.Mode)
		}
		return nil
	}
	return fmt.Errorf("%w: verify: unknown mode %q (want %q or %q)", ErrInvalidSource, v.Mode, VerifyOff, VerifyHead)
}

func (v Verify) required() bool { return v.Mode == VerifyHead }
