package kube

import (
	"errors"
	"regexp"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"

	"github.com/trueup-dev/trueup/drift"
)

// ErrImmutable matches (with errors.Is) a dry-run apply the API server
// rejected because it would change an immutable field: a Deployment's
// selector, a Service's clusterIP, a Job's template, data of an immutable
// ConfigMap, a field a CEL rule or an admission webhook declares immutable.
// Applying such an object needs delete and recreate, which is the caller's
// decision.
var ErrImmutable = errors.New("immutable field")

// DryRunError is a failed dry-run apply of one object. It unwraps to the
// API server's error, so apierrors.IsForbidden, IsInvalid and friends work
// on it.
type DryRunError struct {
	Ref drift.ObjectRef
	Err error
}

// Error starts with the object's identity:
// Deployment.apps/shop/web: dry-run apply: ...
func (e *DryRunError) Error() string {
	return e.Ref.String() + ": dry-run apply: " + e.Err.Error()
}

// Unwrap returns the API server's error.
func (e *DryRunError) Unwrap() error { return e.Err }

// Is matches ErrImmutable when the server rejected an immutable-field change.
func (e *DryRunError) Is(target error) bool {
	return target == ErrImmutable && isImmutable(e.Err)
}

// immutableMessage matches the wording of immutability errors that carry no
// structured cause: CEL transition rules (self == oldSelf, "is immutable")
// and admission webhooks, the same patterns fluxcd/pkg/ssa matches.
var immutableMessage = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`is\simmutable|immutable\sfield`) })

// isImmutable reports whether err is the API server refusing to change an
// immutable field. Built-in validation reports those as an Invalid status
// with a cause per field whose message is apivalidation's
// FieldImmutableErrorMsg (or, for immutable ConfigMaps and Secrets, "field
// is immutable when `immutable` is set"); others only say it in words.
func isImmutable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	s := status.Status()
	if s.Details != nil {
		for _, c := range s.Details.Causes {
			if strings.Contains(c.Message, apivalidation.FieldImmutableErrorMsg) {
				return true
			}
		}
	}
	if !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) && !apierrors.IsBadRequest(err) {
		return false
	}
	return immutableMessage().MatchString(s.Message)
}
