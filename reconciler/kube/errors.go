package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"sync"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/trueup-dev/trueup/drift"
)

// Sentinel errors; branch on them with errors.Is.
var (
	// ErrImmutable: the change touches an immutable field and neither the
	// target nor the object asks for a recreate. Terminal.
	ErrImmutable = errors.New("immutable field changed")
	// ErrOwnedByOtherTarget: the live object carries another target's label.
	// Terminal.
	ErrOwnedByOtherTarget = errors.New("object belongs to another target")
	// ErrNotAdopted: the live object exists without a trueup label and the
	// target may not take it over (see CheckAdoption). Terminal.
	ErrNotAdopted = errors.New("live object not managed by trueup")
	// ErrInvalidObject: the object cannot be applied as rendered (no name,
	// unknown kind, duplicate, not prepared). Terminal.
	ErrInvalidObject = errors.New("invalid object")
	// ErrUnhealthy: objects were applied but did not become ready within the
	// timeout. Terminal for this run: re-applying the same objects won't help.
	ErrUnhealthy = errors.New("objects not healthy")
	// ErrInventory: the inventory ConfigMap exists but cannot be decoded.
	// Terminal: a corrupt inventory is never read as an empty one.
	ErrInventory = errors.New("unreadable inventory")
)

// forceHint tells the user how to let Apply recreate an object.
const forceHint = "set force: true on the target or annotate the object " + AnnotationForce + "=" + ForceEnabled + " to recreate it"

// ObjectError is a failure of one operation on one object. Its message
// starts with the identity: target "web": Deployment.apps/web/web: apply: ...
type ObjectError struct {
	Target string
	Ref    drift.ObjectRef
	// Op is what failed: prepare, dry-run, apply, recreate, wait, read, delete.
	Op  string
	Err error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("target %q: %s: %s: %v", e.Target, e.Ref, e.Op, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

func objectErr(target string, ref drift.ObjectRef, op string, err error) error {
	return &ObjectError{Target: target, Ref: ref, Op: op, Err: err}
}

// targetErr prefixes a target-level error with the target's identity.
func targetErr(target, op string, err error) error {
	return fmt.Errorf("target %q: %s: %w", target, op, err)
}

// immutableRE matches the messages the API server gives when an update
// changes a field that cannot change. There is no status cause type for it, so
// the message is the only signal (kubectl and ssa match it the same way); the
// error must also be an Invalid (422) answer, which keeps this narrower than
// ssa's IsImmutableError (that treats every Invalid and Conflict as immutable,
// and with force would delete an object whose value is merely invalid).
var immutableRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)field is immutable|is immutable|may not change once set|cannot be changed|updates to .* are forbidden`)
})

// isImmutable reports whether err rejects a change to an immutable field.
func isImmutable(err error) bool {
	return apierrors.IsInvalid(err) && immutableRE().MatchString(err.Error())
}

// IsRetryable reports whether retrying the same operation later, unchanged,
// may succeed: connection failures, timeouts, throttling, server errors and
// conflicts are retryable; invalid or forbidden requests, immutable fields
// without force, ownership clashes, unknown kinds, unhealthy objects and a
// corrupt inventory are not. A joined error is retryable only when every part
// is.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		errs := multi.Unwrap()
		for _, e := range errs {
			if !IsRetryable(e) {
				return false
			}
		}
		return len(errs) > 0
	}
	if isTerminal(err) {
		return false
	}
	return isTransient(err)
}

func isTerminal(err error) bool {
	switch {
	case errors.Is(err, ErrImmutable), errors.Is(err, ErrOwnedByOtherTarget), errors.Is(err, ErrNotAdopted),
		errors.Is(err, ErrInvalidObject), errors.Is(err, ErrUnhealthy),
		errors.Is(err, ErrInventory), errors.Is(err, context.Canceled):
		return true
	case meta.IsNoMatchError(err):
		return true
	case apierrors.IsInvalid(err), apierrors.IsForbidden(err), apierrors.IsUnauthorized(err),
		apierrors.IsBadRequest(err), apierrors.IsMethodNotSupported(err),
		apierrors.IsNotAcceptable(err), apierrors.IsUnsupportedMediaType(err),
		apierrors.IsRequestEntityTooLargeError(err):
		return true
	}
	return false
}

func isTransient(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case apierrors.IsConflict(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsInternalError(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= 500 {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
