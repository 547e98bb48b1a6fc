package notifications

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ErrPermanent marks a delivery error that retrying cannot fix (bad
// credentials, unknown channel, a 4xx from a webhook). Match it with
// errors.Is.
var ErrPermanent = errors.New("permanent")

// PermanentError is a permanent delivery error with a short, stable reason
// (a Slack error code such as invalid_auth, or "http 404"). The Dispatcher
// reports a permanent failure once per notifier and reason.
type PermanentError struct {
	Reason string
	Err    error
}

// Permanent wraps err as permanent with reason.
func Permanent(reason string, err error) error {
	return &PermanentError{Reason: reason, Err: err}
}

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap lets errors.Is find ErrPermanent and the cause.
func (e *PermanentError) Unwrap() []error { return []error{e.Err, ErrPermanent} }

// RetryAfterError is a retryable error for which the server named how long
// to wait (HTTP 429 with Retry-After).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

// RetryAfter wraps err as retryable after d.
func RetryAfter(d time.Duration, err error) error {
	return &RetryAfterError{After: d, Err: err}
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// IsPermanent reports whether err must not be retried.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// permanentReason returns the reason of a permanent error.
func permanentReason(err error) string {
	if pe, ok := errors.AsType[*PermanentError](err); ok && pe.Reason != "" {
		return pe.Reason
	}
	return "permanent"
}

// retryAfter returns the wait a server asked for, or zero.
func retryAfter(err error) time.Duration {
	if ra, ok := errors.AsType[*RetryAfterError](err); ok {
		return ra.After
	}
	return 0
}

// Redact returns err with every occurrence of the secrets (and, for a
// secret that is a URL, of its path and query) replaced by "[redacted]" in
// its text. errors.Is and errors.As still see the original chain; only the
// text changes. Secrets shorter than 8 bytes are ignored, as replacing them
// would garble the message without hiding anything.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range expandSecrets(secrets) {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// expandSecrets adds the forms a URL takes in error texts, longest first.
func expandSecrets(secrets []string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 8 {
			out = append(out, s)
		}
	}
	for _, s := range secrets {
		add(s)
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			add(u.String())
			add(u.EscapedPath())
			add(u.Path)
			add(u.RawQuery)
		}
	}
	// Longest first, so a URL goes before its own path.
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out
}

// SafeURL returns scheme://host of raw, for messages that must name a
// destination without its secret path; "invalid URL" when raw is not one.
func SafeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "invalid URL"
	}
	return fmt.Sprintf("%s://%s", u.Scheme, u.Host)
}
