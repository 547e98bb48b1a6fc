package aws

import (
	"fmt"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// ObjectError is a failure of one operation on one resource. Its message
// starts with the identity: target "prod": S3Bucket/logs: put versioning:
// ... It unwraps to the cause, so errors.Is works with drift/aws's
// sentinels (ErrUnknown, ErrThrottled, ...) and reconciler/kube's
// (ErrImmutable, ErrOwnedByOtherTarget).
type ObjectError struct {
	Target string
	Ref    drift.ObjectRef
	// Op is what failed: read, create, update, delete.
	Op  string
	Err error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("target %q: %s: %s: %v", e.Target, driftaws.ID(e.Ref), e.Op, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

func objectErr(target string, ref drift.ObjectRef, op string, err error) error {
	return &ObjectError{Target: target, Ref: ref, Op: op, Err: err}
}
