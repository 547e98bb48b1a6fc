package writeback

import (
	"errors"
	"strings"

	"github.com/trueup-dev/trueup/drift"
)

// Errors an Edit fails with; branch on them with errors.Is. All of them
// are terminal: the same files and changes fail the same way again.
var (
	// ErrSecret: the object is a Secret or a value is masked. Live Secret
	// values are never written to Git.
	ErrSecret = errors.New("secret values are never written to git")
	// ErrNotFound: no file of the target defines the object.
	ErrNotFound = errors.New("object not found in the target's files")
	// ErrAmbiguous: more than one file defines the object.
	ErrAmbiguous = errors.New("object defined more than once")
	// ErrPath: the change cannot be applied to the object: a malformed or
	// forbidden JSON pointer, a path through a scalar, an index past the
	// end of a list, a value that is not JSON.
	ErrPath = errors.New("path cannot be written")
	// ErrOutside: a path leaves the repository.
	ErrOutside = errors.New("path leaves the repository")
	// ErrInvalid: a file of the target is not valid YAML.
	ErrInvalid = errors.New("invalid yaml")
	// ErrUnsupported: the value comes from somewhere trueup does not write
	// (a generator, a transformer shared by many objects, a remote base)
	// or the file is laid out in a way the editor cannot change exactly.
	ErrUnsupported = errors.New("cannot be written back automatically")
	// ErrEncrypted: the file is SOPS-encrypted. Decrypted values never
	// reach Git, and ciphertext cannot be edited in place: change the file
	// with sops.
	ErrEncrypted = errors.New("the file is SOPS-encrypted: trueup never writes to encrypted files (edit it with sops)")
)

// Error is the failure of one change. Its text starts with the object,
// then the path and the file it concerns. It never holds a value.
type Error struct {
	Object drift.ObjectRef
	Path   string // the change's JSON pointer, if any
	File   string // the repository file concerned, if any
	Err    error
}

func (e *Error) Error() string {
	parts := []string{e.Object.String()}
	for _, p := range []string{e.Path, e.File} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ": ") + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// fileError names the file an error concerns, on its way up to wrapErr.
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string { return e.file + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

func inFile(file string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fileError
	if errors.As(err, &fe) {
		return err
	}
	return &fileError{file: file, err: err}
}

// wrapErr names the object, path and file in err.
func wrapErr(obj drift.ObjectRef, path string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Object: obj, Path: path, Err: err}
	var fe *fileError
	if errors.As(err, &fe) {
		e.File, e.Err = fe.file, fe.err
	}
	return e
}
