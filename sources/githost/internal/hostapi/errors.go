package hostapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/trueup-dev/trueup/sources/githost"
)

// maxDetail bounds how much of a server's message an error repeats.
const maxDetail = 300

// Hints say what to check for each sentinel.
const (
	hintNotFound    = "check the owner, the repository name and the number, and that the token can see the repository"
	hintAuth        = "check the token: it may be wrong, expired, or lack the scopes for pull requests, issues and commit statuses"
	hintUnavailable = "retry later"
)

// Call identifies one API call for its errors: Host is the provider's
// Name ("gitea http://127.0.0.1:3000"), Op what was done and to what
// ("create pull request owner/repo"), Secret the token to scrub.
type Call struct {
	Host   string
	Op     string
	Secret string
}

// Status is the error of an HTTP answer with a non-2xx status.
// rateLimited marks a 403 that the host says is a rate limit.
func (c Call) Status(code int, message string, rateLimited bool) error {
	kind := KindOf(code, rateLimited)
	detail := fmt.Sprintf("HTTP %d", code)
	if m := c.redact(message); m != "" {
		detail += ": " + m
	}
	if kind == nil {
		return fmt.Errorf("%s: %s", c.prefix(), detail)
	}
	return fmt.Errorf("%s: %w (%s): %s", c.prefix(), kind, detail, hint(kind))
}

// Transport is the error of a call that got no HTTP answer (err is what
// the HTTP client returned) or whose answer could not be read. The
// context's error is wrapped when it ended the call: a deadline makes the
// error ErrUnavailable as well, a cancellation does not.
func (c Call) Transport(ctx context.Context, err error) error {
	msg := c.redact(err.Error())
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: %w: %s", c.prefix(), githost.ErrUnavailable, context.DeadlineExceeded, hintUnavailable)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", c.prefix(), ctx.Err())
	case transient(err):
		return fmt.Errorf("%s: %w (%s): %s", c.prefix(), githost.ErrUnavailable, msg, hintUnavailable)
	}
	return fmt.Errorf("%s: %s", c.prefix(), msg)
}

// Invalid is the error of a call refused before it was sent.
func (c Call) Invalid(reason string) error {
	return fmt.Errorf("%s: %s", c.prefix(), c.redact(reason))
}

// prefix is "<host>: <operation>" without the secret.
func (c Call) prefix() string {
	return scrub(c.Host+": "+c.Op, c.Secret)
}

// KindOf maps an HTTP status to the sentinel that says how to handle it,
// or nil for a terminal error of another kind (400, 409, 422...).
func KindOf(code int, rateLimited bool) error {
	switch {
	case rateLimited, code == http.StatusTooManyRequests, code >= 500:
		return githost.ErrUnavailable
	case code == http.StatusNotFound:
		return githost.ErrNotFound
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return githost.ErrAuth
	}
	return nil
}

func hint(kind error) string {
	switch kind {
	case githost.ErrNotFound:
		return hintNotFound
	case githost.ErrAuth:
		return hintAuth
	}
	return hintUnavailable
}

func (c Call) redact(s string) string { return Redact(s, c.Secret) }

var spaces = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\s+`) })

// Redact returns s without secret, on one line and at most about
// maxDetail bytes long. Every occurrence of the secret, also
// percent-encoded, becomes "[REDACTED]"; the text is scrubbed again after
// it is folded onto one line and cut, so neither can bring a secret back.
func Redact(s, secret string) string {
	s = strings.TrimSpace(spaces().ReplaceAllString(scrub(s, secret), " "))
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return scrub(s, secret)
}

// withheld replaces a text that scrub cannot clean.
const withheld = "[message withheld: it contained the token]"

// scrub replaces every occurrence of secret in s, also percent-encoded.
// A replacement can make a new occurrence with its neighbours, so it
// repeats; a text still not clean after a few rounds is withheld.
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	forms := []string{secret}
	if esc := url.QueryEscape(secret); esc != secret {
		forms = append(forms, esc)
	}
	for range 8 {
		dirty := false
		for _, form := range forms {
			if strings.Contains(s, form) {
				s, dirty = strings.ReplaceAll(s, form, mask(form)), true
			}
		}
		if !dirty {
			return s
		}
	}
	return withheld
}

// mask is "[REDACTED]", or nothing for a secret that is part of it.
func mask(secret string) string {
	if strings.Contains("[REDACTED]", secret) {
		return ""
	}
	return "[REDACTED]"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// transient recognises failures that a later try may not meet: network
// errors, timeouts and cut answers. An untrusted certificate is not one.
func transient(err error) bool {
	var (
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		opErr   *net.OpError
		dnsErr  *net.DNSError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return false
	case errors.As(err, &opErr), errors.As(err, &dnsErr),
		errors.As(err, &netErr) && netErr.Timeout(),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	return false
}
