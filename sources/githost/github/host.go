package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v84/github"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

var _ githost.Host = (*Host)(nil)

// DefaultAPIURL is GitHub.com's REST API, used when New gets "".
const DefaultAPIURL = "https://api.github.com/"

// DefaultTimeout bounds each HTTP request when New is not given an
// *http.Client (WithHTTPClient).
const DefaultTimeout = 30 * time.Second

// perPage is GitHub's largest page size.
const perPage = 100

// Host is a GitHub API's pull-request side. It is safe for concurrent use.
type Host struct {
	api    string // API root URL without trailing "/"
	name   string // "github <API root URL>"
	token  *hostapi.Secret
	client *gh.Client
	author string               // WithCommentAuthor; "" means GET /user
	me     hostapi.Lazy[string] // login of the token's user
}

// Option configures a Host.
type Option func(*options)

type options struct {
	http   *http.Client
	author string
}

// WithHTTPClient makes the Host send its requests with c (its transport,
// proxy, TLS settings and timeout). The default is an *http.Client with
// DefaultTimeout. go-github copies c, so changing c later has no effect.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.http = c }
}

// WithCommentAuthor sets the login whose comments UpsertComment edits, so
// that it does not ask GET /user (which GitHub App installation tokens
// cannot read). For a GitHub App it is "<app-slug>[bot]".
func WithCommentAuthor(login string) Option {
	return func(o *options) { o.author = login }
}

// New returns the Host of the GitHub REST API at apiURL ("" for
// GitHub.com; https://HOST/api/v3/ for GitHub Enterprise Server) that acts
// with token. It does no network I/O.
func New(apiURL, token string, opts ...Option) (*Host, error) {
	if strings.TrimSpace(apiURL) == "" {
		apiURL = DefaultAPIURL
	}
	base, display, err := hostapi.BaseURL(apiURL)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	token, reason := hostapi.Token(token)
	if reason != "" {
		return nil, fmt.Errorf("github %s: %s", display, reason)
	}
	o := options{http: &http.Client{Timeout: DefaultTimeout}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.http == nil {
		o.http = &http.Client{Timeout: DefaultTimeout}
	}
	client := gh.NewClient(o.http).WithAuthToken(token)
	client.BaseURL = base
	client.UserAgent = "trueup"
	return &Host{api: display, name: "github " + display, token: hostapi.NewSecret(token), client: client, author: o.author}, nil
}

// Name is "github <API root URL>".
func (h *Host) Name() string { return h.name }

// String is Name; it never shows the token.
func (h *Host) String() string { return h.name }

// GoString is for %#v; it never shows the token.
func (h *Host) GoString() string { return fmt.Sprintf("&github.Host{URL: %q}", h.api) }

// call identifies an operation for its errors.
func (h *Host) call(format string, args ...any) hostapi.Call {
	return hostapi.Call{Host: h.name, Op: fmt.Sprintf(format, args...), Secret: h.token.Reveal()}
}

// fail turns a go-github error into the error of call: rate limits first
// (a 403 or 429 that says so), then the HTTP status, then the transport.
func fail(ctx context.Context, call hostapi.Call, err error) error {
	var (
		rateErr  *gh.RateLimitError
		abuseErr *gh.AbuseRateLimitError
		respErr  *gh.ErrorResponse
		otpErr   *gh.TwoFactorAuthError
	)
	switch {
	case errors.As(err, &rateErr):
		msg := fmt.Sprintf("%s (rate limit resets at %s)", rateErr.Message, rateErr.Rate.Reset.UTC().Format(time.RFC3339))
		return call.Status(statusCode(rateErr.Response, http.StatusForbidden), msg, true)
	case errors.As(err, &abuseErr):
		msg := abuseErr.Message
		if abuseErr.RetryAfter != nil {
			msg += fmt.Sprintf(" (retry after %s)", abuseErr.RetryAfter.Round(time.Second))
		}
		return call.Status(statusCode(abuseErr.Response, http.StatusForbidden), msg, true)
	case errors.As(err, &otpErr):
		return call.Status(http.StatusUnauthorized, otpErr.Message, false)
	case errors.As(err, &respErr):
		return call.Status(statusCode(respErr.Response, 0), message(respErr), false)
	}
	return call.Transport(ctx, err)
}

func statusCode(resp *http.Response, fallback int) int {
	if resp == nil {
		return fallback
	}
	return resp.StatusCode
}

// message is GitHub's message with the details of its "errors" list or,
// when the answer was not GitHub's JSON (a proxy's error page), the start
// of the body, which go-github leaves readable in the response.
func message(e *gh.ErrorResponse) string {
	if e.Message == "" && len(e.Errors) == 0 {
		if e.Response == nil || e.Response.Body == nil {
			return ""
		}
		b, _ := io.ReadAll(io.LimitReader(e.Response.Body, 4096))
		return string(b)
	}
	parts := []string{e.Message}
	for _, d := range e.Errors {
		if d.Message != "" {
			parts = append(parts, d.Message)
		} else {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %s %s", d.Resource, d.Field, d.Code)))
		}
	}
	return strings.Join(parts, ": ")
}
