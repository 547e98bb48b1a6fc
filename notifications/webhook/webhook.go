package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/trueup-dev/trueup/notifications"
)

// Headers set on every request.
const (
	// SignatureHeader carries "sha256=" + hex HMAC-SHA256(secret, body).
	SignatureHeader = "X-Trueup-Signature"
	// EventHeader carries the event kind.
	EventHeader = "X-Trueup-Event"
	// NoteHeader carries "reminder" or "flapping" for dispatcher notes.
	NoteHeader = "X-Trueup-Note"
)

var (
	_ notifications.Notifier = (*Notifier)(nil)
	_ notifications.Tester   = (*Notifier)(nil)
)

// Notifier POSTs each event as JSON to a URL, signed with HMAC-SHA256.
// Its String and GoString never show the URL's path or the secret.
type Notifier struct {
	name   string
	url    string
	secret []byte
	client *http.Client
}

// Option configures a Notifier.
type Option func(*Notifier)

// WithHTTPClient sets the HTTP client (default: 30s timeout).
func WithHTTPClient(c *http.Client) Option { return func(n *Notifier) { n.client = c } }

// New returns a notifier posting to url. The secret signs every body; it
// must not be empty.
func New(name, url string, secret []byte, opts ...Option) (*Notifier, error) {
	n := &Notifier{name: name, url: url, secret: bytes.Clone(secret)}
	for _, opt := range opts {
		opt(n)
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: 30 * time.Second}
	}
	switch {
	case name == "":
		return nil, errors.New("webhook notifier: name is empty")
	case notifications.SafeURL(url) == "invalid URL":
		return nil, fmt.Errorf("webhook notifier %s: url is not an absolute URL", name)
	case len(secret) == 0:
		return nil, fmt.Errorf("webhook notifier %s: secret is empty", name)
	}
	return n, nil
}

// Name implements notifications.Notifier.
func (n *Notifier) Name() string { return n.name }

// String names the notifier and its host only.
func (n *Notifier) String() string {
	return fmt.Sprintf("webhook notifier %s (%s)", n.name, notifications.SafeURL(n.url))
}

// GoString is String, so %#v cannot print the secret either.
func (n *Notifier) GoString() string { return n.String() }

// Sign returns the signature header value for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send implements notifications.Notifier: it POSTs m.Event (redacted) as
// JSON. 2xx is success; 429, 5xx and network errors are retryable (after
// Retry-After when the server sends one); any other status is permanent.
func (n *Notifier) Send(ctx context.Context, m notifications.Message) (notifications.Receipt, error) {
	if m.Op == notifications.OpUpdate {
		return notifications.Receipt{}, nil // no message to update
	}
	body, err := json.Marshal(m.Event.Redacted())
	if err != nil {
		return notifications.Receipt{}, n.fail("encode event", notifications.Permanent("encode", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return notifications.Receipt{}, n.fail("post", notifications.Permanent("request", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "trueup")
	req.Header.Set(SignatureHeader, Sign(n.secret, body))
	req.Header.Set(EventHeader, string(m.Event.Kind))
	if m.Note != notifications.NoteNone {
		req.Header.Set(NoteHeader, string(m.Note))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return notifications.Receipt{}, n.fail("post", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	detail := fmt.Sprintf("http %d", resp.StatusCode)
	if err := statusError(resp, detail); err != nil {
		return notifications.Receipt{Detail: detail}, n.fail("post", err)
	}
	return notifications.Receipt{Detail: detail}, nil
}

// Test implements notifications.Tester.
func (n *Notifier) Test(ctx context.Context) (notifications.Receipt, error) {
	return n.Send(ctx, notifications.Message{Op: notifications.OpPost, Event: notifications.TestEvent(time.Now())})
}

// statusError classifies a non-2xx response.
func statusError(resp *http.Response, detail string) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		if wait := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); wait > 0 {
			return notifications.RetryAfter(wait, errors.New(detail))
		}
		return errors.New(detail)
	default:
		return notifications.Permanent(detail, errors.New(detail))
	}
}

// parseRetryAfter reads delay-seconds or an HTTP date; zero when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// fail removes the URL from err's text and names the notifier.
func (n *Notifier) fail(op string, err error) error {
	return fmt.Errorf("webhook notifier %s: %s: %w", n.name, op, notifications.Redact(err, n.url))
}
