package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Sentinel errors; branch on them with errors.Is.
var (
	// ErrUnknown: live state could not be read (throttling, a 5xx, access
	// denied, a network failure, a partial listing). The resource's status
	// is unknown: never drift, never missing, never a reason to create or
	// delete. Usually retryable.
	ErrUnknown = errors.New("status unknown")
	// ErrThrottled, ErrServer, ErrAccessDenied, ErrTimeout and
	// ErrPartialList tell why a read is ErrUnknown; they always come with it.
	ErrThrottled    = errors.New("throttled")
	ErrServer       = errors.New("server error")
	ErrAccessDenied = errors.New("access denied")
	ErrPartialList  = errors.New("partial listing")
	// ErrTimeout: no answer within the call's deadline (Config.CallTimeout
	// per attempt) or the caller's (a target's timeout for the whole read).
	ErrTimeout = errors.New("timed out")
	// ErrWrongAccount: the credentials belong to another account. Terminal.
	ErrWrongAccount = errors.New("wrong account")
	// ErrInvalidObject: a desired object cannot be decoded. Terminal.
	ErrInvalidObject = errors.New("invalid object")
)

// ReadError is a failed read of live state. It matches ErrUnknown and its
// Cause (ErrThrottled, ErrServer, ErrAccessDenied, ErrPartialList, or nil
// for other failures) and unwraps to the SDK's error. Its message starts
// with the identity: S3Bucket/logs: read versioning: status unknown
// (throttled): ...
type ReadError struct {
	// ID is what was read: S3Bucket/logs, or IAMRole/* for a listing.
	ID string
	// Op is the read: read versioning, list roles.
	Op    string
	Cause error
	Err   error
}

func (e *ReadError) Error() string {
	why := ""
	if e.Cause != nil {
		why = " (" + e.Cause.Error() + ")"
	}
	return fmt.Sprintf("%s: %s: %s%s: %v", e.ID, e.Op, ErrUnknown, why, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// Is matches ErrUnknown and the cause.
func (e *ReadError) Is(target error) bool {
	return target == ErrUnknown || (e.Cause != nil && target == e.Cause)
}

// readErr wraps a failed read (never a not-found: callers check that first).
func readErr(id, op string, err error) error {
	var re *ReadError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %s: %w", id, op, err)
	}
	return &ReadError{ID: id, Op: op, Cause: cause(err), Err: err}
}

// partial reports a listing that ended without the whole result.
func partial(id, op, why string) error {
	return &ReadError{ID: id, Op: op, Cause: ErrPartialList, Err: errors.New(why)}
}

// throttleCodes are the error codes AWS services answer when throttling.
var throttleCodes = []string{
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
	"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
	"SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
}

// deniedCodes are the error codes of a refused authorization.
var deniedCodes = []string{
	"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
	"AuthorizationError", "Forbidden", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
	"SignatureDoesNotMatch", "AuthFailure", "InvalidAccessKeyId",
}

// cause classifies an SDK error.
func cause(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); {
		case slices.Contains(throttleCodes, code):
			return ErrThrottled
		case slices.Contains(deniedCodes, code):
			return ErrAccessDenied
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		switch s := respErr.HTTPStatusCode(); {
		case s == 429:
			return ErrThrottled
		case s == 403:
			return ErrAccessDenied
		case s >= 500:
			return ErrServer
		}
	}
	return nil
}

// ErrorCode returns the AWS error code of err ("NoSuchBucket"), or "".
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// hasCode reports whether err is an AWS error with one of codes.
func hasCode(err error, codes ...string) bool {
	return err != nil && slices.Contains(codes, ErrorCode(err))
}

// notFoundCodes say that the resource itself does not exist.
var notFoundCodes = []string{"NoSuchBucket", "NoSuchEntity", "InvalidGroup.NotFound", "InvalidGroupId.NotFound", "NotFound"}

// IsNotFound reports whether err says the resource does not exist.
func IsNotFound(err error) bool { return hasCode(err, notFoundCodes...) }

// IsRetryable reports whether the same call may succeed later: throttling,
// server errors, timeouts and network failures are; access denied, a wrong
// account, an invalid object and client errors are not.
func IsRetryable(err error) bool {
	switch {
	case err == nil, errors.Is(err, ErrWrongAccount), errors.Is(err, ErrInvalidObject),
		errors.Is(err, ErrAccessDenied), errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, ErrThrottled), errors.Is(err, ErrServer), errors.Is(err, ErrPartialList),
		errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	c := cause(err)
	if c == ErrThrottled || c == ErrServer {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
