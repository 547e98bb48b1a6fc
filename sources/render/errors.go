package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/trueup-dev/trueup/sources"
)

// Kinds of render errors, for errors.Is. Every render error is terminal: the
// same commit renders the same way every time, so retrying does not help.
var (
	// ErrLimit: the input is larger, deeper or more aliased than Options allow.
	ErrLimit = errors.New("render limit exceeded")
	// ErrInvalid: a file or document is not a valid manifest.
	ErrInvalid = errors.New("invalid manifest")
	// ErrDuplicate: two objects have the same group, kind, namespace and name.
	ErrDuplicate = errors.New("duplicate object")
	// ErrNotFound: the target path or a referenced file is not in the commit.
	ErrNotFound = errors.New("not found")
	// ErrRemote: a kustomization refers to something outside the repository
	// (a URL, a remote base, an absolute path, a path above the root).
	ErrRemote = errors.New("reference outside the repository")
	// ErrUnsupported: a kustomization uses a feature trueup does not run
	// (Helm charts, exec or container plugins).
	ErrUnsupported = errors.New("unsupported kustomize feature")
	// ErrKustomize: kustomize refused to build the kustomization.
	ErrKustomize = errors.New("kustomize build failed")
	// ErrRead: a file the render needs could not be read (a read limit of
	// the source, or the read failed); the reader's error is wrapped.
	ErrRead = errors.New("read failed")
)

// readFile reads one file the render needs from the tree.
func readFile(files sources.Tree, p string) ([]byte, error) {
	data, err := files.ReadFile(p)
	if err != nil {
		return nil, &kindError{kind: ErrRead, msg: escapeControl(fmt.Sprintf("read %s: %v", sources.QuotePath(p), err)), cause: err}
	}
	return data, nil
}

// kindError is an error with a plain message that still matches its kind
// with errors.Is, so messages read "a.yaml[1]: missing metadata.name"
// rather than carrying the kind's text.
type kindError struct {
	kind     error
	msg      string
	cause    error // the underlying error, if any, already in msg
	panicked bool  // kustomize panicked; the fuzz test looks for these
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
func (e *kindError) Unwrap() error        { return e.cause }

// errorf formats a render error. File names are quoted where they are
// formatted (docID, sources.QuotePath); as a last guard, any control
// character left in the message (from a name formatted with %s, or from
// kustomize) is escaped, so no render error writes raw escape codes to a
// terminal.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: escapeControl(fmt.Sprintf(format, args...))}
}

// escapeControl replaces the non-printable characters of s, line breaks
// included, with their Go escapes.
func escapeControl(s string) string {
	if !strings.ContainsFunc(s, notPrintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if notPrintable(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }
