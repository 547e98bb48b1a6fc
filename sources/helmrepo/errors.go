package helmrepo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Sentinel errors that every Fetch error wraps one of; branch with errors.Is.
var (
	// ErrNotFound: the repository, chart or version does not exist (terminal
	// until the source changes).
	ErrNotFound = errors.New("not found")
	// ErrAuth: the server refused the credentials (401/403), or asked for
	// some and none were given: check usernameFrom/passwordFrom/tokenFrom.
	ErrAuth = errors.New("authentication failed")
	// ErrUnavailable: the server could not be reached, timed out, or answered
	// 5xx/429; retryable.
	ErrUnavailable = errors.New("repository unavailable")
	// ErrDigest: the archive's digest differs from the pinned digest or from
	// the one the index or manifest announced.
	ErrDigest = errors.New("digest mismatch")
	// ErrTooLarge: the index, manifest or archive exceeds a size limit.
	ErrTooLarge = errors.New("too large")
	// ErrInvalid: the reference, index, manifest or archive is malformed or
	// unsafe.
	ErrInvalid = errors.New("invalid")
)

// IsRetryable reports whether err is worth retrying later unchanged.
func IsRetryable(err error) bool { return errors.Is(err, ErrUnavailable) }

// redactURL returns s without userinfo, query and fragment, for errors.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable url>"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	return u.String()
}

// refName is how errors name a ref: repository (redacted), chart, version.
func refName(ref Ref) string {
	v := ref.Version
	if v == "" {
		v = "<latest>"
	}
	return fmt.Sprintf("chart %s from %s (version %s)", ref.Name, redactURL(ref.Repository), v)
}

// transportError classifies an error of an HTTP round trip as
// ErrUnavailable, dropping the request URL net/http puts in it (it may hold
// a token in a query).
func transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, ctxErr)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return fmt.Errorf("%w: timed out: %s", ErrUnavailable, scrub(err.Error()))
	}
	return fmt.Errorf("%w: %s", ErrUnavailable, scrub(err.Error()))
}

// scrub removes the userinfo of any URL-looking word in msg.
func scrub(msg string) string {
	words := strings.Fields(msg)
	for i, w := range words {
		if j := strings.Index(w, "://"); j >= 0 {
			if at := strings.LastIndex(w, "@"); at > j {
				words[i] = w[:j+3] + w[at+1:]
			}
		}
	}
	return strings.Join(words, " ")
}
