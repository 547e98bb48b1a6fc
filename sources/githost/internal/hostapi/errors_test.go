package hostapi_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		rateLimited bool
		want        error
	}{
		{"not found", 404, false, githost.ErrNotFound},
		{"unauthorized", 401, false, githost.ErrAuth},
		{"forbidden", 403, false, githost.ErrAuth},
		{"forbidden by a rate limit", 403, true, githost.ErrUnavailable},
		{"too many requests", 429, false, githost.ErrUnavailable},
		{"server error", 500, false, githost.ErrUnavailable},
		{"bad gateway", 502, false, githost.ErrUnavailable},
		{"unavailable", 503, false, githost.ErrUnavailable},
		{"validation failed", 422, false, nil},
		{"conflict", 409, false, nil},
		{"bad request", 400, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hostapi.KindOf(tc.code, tc.rateLimited); got != tc.want {
				t.Errorf("KindOf(%d, %v) = %v, want %v", tc.code, tc.rateLimited, got, tc.want)
			}
		})
	}
}

func TestCallErrors(t *testing.T) {
	const secret = "s3cr3t-t0ken/with+chars"
	call := hostapi.Call{Host: "gitea http://git.example", Op: "get pull request o/r#1", Secret: secret}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	deadline, cancel2 := context.WithTimeout(context.Background(), 0)
	defer cancel2()
	<-deadline.Done()
	refused := &url.Error{Op: "Get", URL: "http://git.example/api/v1/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	tests := []struct {
		name  string
		err   error
		want  []error
		not   []error
		texts []string
	}{
		{"404", call.Status(404, "repo "+secret+" not found", false), []error{githost.ErrNotFound}, nil,
			[]string{"gitea http://git.example: get pull request o/r#1: not found (HTTP 404: repo [REDACTED] not found): check"}},
		{"422", call.Status(422, "Validation Failed", false), nil, []error{githost.ErrNotFound, githost.ErrAuth, githost.ErrUnavailable},
			[]string{"get pull request o/r#1: HTTP 422: Validation Failed"}},
		{"url-encoded secret", call.Status(401, "token="+url.QueryEscape(secret), false), []error{githost.ErrAuth}, nil, []string{"token=[REDACTED]"}},
		{"refused", call.Transport(context.Background(), refused), []error{githost.ErrUnavailable}, nil, []string{"connection refused", "retry later"}},
		{"cut answer", call.Transport(context.Background(), io.ErrUnexpectedEOF), []error{githost.ErrUnavailable}, nil, nil},
		{"canceled", call.Transport(canceled, context.Canceled), []error{context.Canceled}, []error{githost.ErrUnavailable}, nil},
		{"deadline", call.Transport(deadline, context.DeadlineExceeded), []error{githost.ErrUnavailable, context.DeadlineExceeded}, nil, nil},
		{"decode", call.Transport(context.Background(), errors.New("invalid character '<'")), nil, []error{githost.ErrUnavailable}, []string{"invalid character"}},
		{"invalid", call.Invalid("body has " + secret), nil, []error{githost.ErrUnavailable}, []string{"body has [REDACTED]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				if !errors.Is(tc.err, w) {
					t.Errorf("%v does not wrap %v", tc.err, w)
				}
			}
			for _, n := range tc.not {
				if errors.Is(tc.err, n) {
					t.Errorf("%v wraps %v", tc.err, n)
				}
			}
			for _, s := range tc.texts {
				if !strings.Contains(tc.err.Error(), s) {
					t.Errorf("%q does not contain %q", tc.err, s)
				}
			}
			if strings.Contains(tc.err.Error(), secret) || strings.Contains(tc.err.Error(), url.QueryEscape(secret)) {
				t.Errorf("%q contains the secret", tc.err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ name, in, secret, want string }{
		{"plain", "Authorization: token abc123def", "abc123def", "Authorization: token [REDACTED]"},
		{"folded", "line one\n\n  line\ttwo ", "", "line one line two"},
		{"made by folding", "abc\ndef", "abc def", "[REDACTED]"},
		{"no secret", "nothing here", "abc123def", "nothing here"},
		{"long", strings.Repeat("é", 400), "x", strings.Repeat("é", 150) + "..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hostapi.Redact(tc.in, tc.secret); got != tc.want {
				t.Errorf("Redact(%q, %q) = %q, want %q", tc.in, tc.secret, got, tc.want)
			}
		})
	}
}

// FuzzRedact: whatever a server answers, the token does not survive.
func FuzzRedact(f *testing.F) {
	f.Add("before ", "ghp_0123456789abcdef", " after")
	f.Add("[REDACT", "ED]", "")
	f.Add("abc\n", "abc def", " def")
	f.Add(strings.Repeat("x", 299), "ghp_token", "")
	f.Fuzz(func(t *testing.T, before, secret, after string) {
		if secret == "" {
			return
		}
		got := hostapi.Redact(before+secret+after, secret)
		if strings.Contains(got, secret) || strings.Contains(got, url.QueryEscape(secret)) {
			t.Fatalf("Redact(%q) = %q keeps the secret %q", before+secret+after, got, secret)
		}
		if strings.ContainsAny(got, "\n\r") {
			t.Fatalf("Redact(%q) = %q is not one line", before+secret+after, got)
		}
	})
}
