package git

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Errors returned by this package wrap one of these sentinels; branch on
// them with errors.Is. ErrUnreachable and ErrBusy are retryable (see
// IsRetryable); the others are terminal.
var (
	// ErrInvalidSource: the source definition is wrong; fix the config.
	ErrInvalidSource = errors.New("invalid source")
	// ErrUnreachable: the remote could not be reached or failed
	// transiently (network, timeout, 5xx); retry with backoff.
	ErrUnreachable = errors.New("remote unreachable")
	// ErrBusy: the source's cache stayed locked (by another call or
	// process) until the deadline; retry later.
	ErrBusy = errors.New("cache busy")
	// ErrAuth: the remote refused the credentials.
	ErrAuth = errors.New("authentication failed")
	// ErrHostKey: the ssh server's host key is not in the known hosts.
	ErrHostKey = errors.New("ssh host key not trusted")
	// ErrInvalidRequest: a Push, DeleteBranch or FetchRef call asked for
	// something this package refuses (a path leaving the tree, the
	// tracked branch, a malformed reference); fix the caller.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrRefNotFound: the branch, tag, semver match or commit does not
	// exist on the remote (a deleted branch, an empty repository).
	ErrRefNotFound = errors.New("reference not found")
	// ErrUnverified: verification is required and the commit has no
	// signature from a trusted key. The revision must not be used.
	ErrUnverified = errors.New("commit signature not verified")
	// ErrCommitNotFound: ReadFiles or Push was asked for a commit not in
	// the cache.
	ErrCommitNotFound = errors.New("commit not found in cache")
	// ErrPathNotFound: the target path is not a directory of the commit.
	ErrPathNotFound = errors.New("path not found")
	// ErrSymlinkEscape: a symlink inside the target path points outside it.
	ErrSymlinkEscape = errors.New("symlink escapes the target path")
	// ErrBadSymlink: a symlink dangles, loops or nests too deep.
	ErrBadSymlink = errors.New("bad symlink")
	// ErrLimitExceeded: a file, the total size or the file count is over
	// the ReadOptions limits, or a fetched object is larger than the
	// source's total size limit.
	ErrLimitExceeded = errors.New("read limit exceeded")
)

// IsRetryable reports whether err is transient: the same call may succeed
// later without a configuration change. Authentication, host key, missing
// reference, verification, invalid source and invalid request errors are
// terminal.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrUnreachable) || errors.Is(err, ErrBusy)
}

// classify wraps a transport error from go-git with the sentinel that tells
// callers how to handle it. opCtx is the context of the operation: when it
// is past its deadline the remote is treated as unreachable.
func classify(opCtx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrHostKey), errors.Is(err, ErrAuth), errors.Is(err, ErrInvalidSource), errors.Is(err, ErrLimitExceeded):
		return err
	case errors.Is(opCtx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: timed out: %w", ErrUnreachable, opCtx.Err())
	case errors.Is(opCtx.Err(), context.Canceled):
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("%w: %w", opCtx.Err(), err)
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return fmt.Errorf("%w: %w", ErrAuth, err)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%w: %w", ErrRefNotFound, err)
	case isTransient(err):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// isTransient recognises network failures, timeouts, truncated streams and
// server-side HTTP errors.
func isTransient(err error) bool {
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return false // a certificate is not trusted: retrying will not help
	case errors.As(err, &opErr), errors.As(err, &dnsErr),
		errors.As(err, &netErr) && netErr.Timeout(),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	if code, ok := httpStatus(err); ok {
		return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	}
	return false
}

// httpStatus digs the status code out of go-git's HTTP errors, which hide
// it behind error types that do not implement Unwrap.
func httpStatus(err error) (int, bool) {
	for err != nil {
		switch e := err.(type) {
		case *githttp.Err:
			return e.StatusCode(), true
		case *plumbing.UnexpectedError:
			err = e.Err
		case *plumbing.PermanentError:
			err = e.Err
		default:
			err = errors.Unwrap(err)
		}
	}
	return 0, false
}
