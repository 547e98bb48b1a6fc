package notifications

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrorClassification(t *testing.T) {
	perm := fmt.Errorf("slack notifier a: post message: %w", Permanent("invalid_auth", errors.New("invalid_auth")))
	if !IsPermanent(perm) || permanentReason(perm) != "invalid_auth" {
		t.Errorf("permanent: IsPermanent=%v reason=%q", IsPermanent(perm), permanentReason(perm))
	}
	if perm.Error() != "slack notifier a: post message: invalid_auth" {
		t.Errorf("text = %q", perm)
	}
	bare := fmt.Errorf("x: %w", ErrPermanent)
	if !IsPermanent(bare) || permanentReason(bare) != "permanent" {
		t.Errorf("bare sentinel: reason %q", permanentReason(bare))
	}
	ra := fmt.Errorf("x: %w", RetryAfter(7*time.Second, errors.New("429")))
	if IsPermanent(ra) || retryAfter(ra) != 7*time.Second {
		t.Errorf("retry-after: permanent=%v wait=%s", IsPermanent(ra), retryAfter(ra))
	}
	if retryAfter(errors.New("reset")) != 0 || IsPermanent(errors.New("reset")) {
		t.Error("a plain error must be retryable without a wait")
	}
}

func TestRedact(t *testing.T) {
	hook := "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
	_, netErr := (&http.Client{}).Post("http://127.0.0.1:1/services/T000/B000/XXXXsecretXXXX", "", nil)
	tests := []struct {
		name    string
		err     error
		secrets []string
		leak    string
	}{
		{"a URL in a wrapped error", fmt.Errorf("post: %w", fmt.Errorf(`Post %q: dial tcp: refused`, hook)), []string{hook}, "XXXXsecretXXXX"},
		{"the URL's path in a url.Error", netErr, []string{"http://127.0.0.1:1/services/T000/B000/XXXXsecretXXXX"}, "XXXXsecretXXXX"},
		{"a token", errors.New("auth xoxb-123456789-abcdef failed"), []string{"xoxb-123456789-abcdef"}, "xoxb-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.err, tt.secrets...)
			if strings.Contains(got.Error(), tt.leak) {
				t.Errorf("Redact = %q still contains %q", got, tt.leak)
			}
			if !strings.Contains(got.Error(), "[redacted]") {
				t.Errorf("Redact = %q, want a [redacted] marker", got)
			}
			if !errors.Is(got, tt.err) {
				t.Error("Redact must keep the error chain")
			}
		})
	}
	short := errors.New("a/b/c")
	if Redact(short, "/") != short {
		t.Error("secrets shorter than 8 bytes must be ignored")
	}
}

func TestSafeURL(t *testing.T) {
	if got := SafeURL("https://hooks.slack.com/services/T/B/secret?x=1"); got != "https://hooks.slack.com" {
		t.Errorf("SafeURL = %q", got)
	}
	if got := SafeURL("not a url"); got != "invalid URL" {
		t.Errorf("SafeURL = %q", got)
	}
}
