package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

var _ githost.Host = (*Host)(nil)

// DefaultTimeout bounds each HTTP request when New is not given an
// *http.Client (WithHTTPClient).
const DefaultTimeout = 30 * time.Second

// pageSize is the page size asked for when listing; Gitea caps it at its
// MAX_RESPONSE_ITEMS (50 by default) and the Link header says what is next.
const pageSize = 50

// Host is a Gitea server's pull-request API. It is safe for concurrent use.
type Host struct {
	base  string // root URL without trailing "/", as the SDK wants it
	name  string // "gitea <root URL>"
	token *hostapi.Secret
	http  *http.Client
	me    hostapi.Lazy[int64] // id of the token's user
}

// Option configures a Host.
type Option func(*Host)

// WithHTTPClient makes the Host send its requests with c (its transport,
// proxy, TLS settings and timeout). The default is an *http.Client with
// DefaultTimeout.
func WithHTTPClient(c *http.Client) Option {
	return func(h *Host) {
		if c != nil {
			h.http = c
		}
	}
}

// New returns the Host of the Gitea server at baseURL (its root URL, e.g.
// http://127.0.0.1:3000) that acts with token. It does no network I/O.
func New(baseURL, token string, opts ...Option) (*Host, error) {
	_, display, err := hostapi.BaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("gitea: %w", err)
	}
	token, reason := hostapi.Token(token)
	if reason != "" {
		return nil, fmt.Errorf("gitea %s: %s", display, reason)
	}
	h := &Host{base: display, name: "gitea " + display, token: hostapi.NewSecret(token), http: &http.Client{Timeout: DefaultTimeout}}
	for _, opt := range opts {
		opt(h)
	}
	return h, nil
}

// Name is "gitea <root URL>".
func (h *Host) Name() string { return h.name }

// String is Name; it never shows the token.
func (h *Host) String() string { return h.name }

// GoString is for %#v; it never shows the token.
func (h *Host) GoString() string { return fmt.Sprintf("&gitea.Host{URL: %q}", h.base) }

// client is an SDK client for one call: the SDK reads its context from the
// client, so clients are not shared between calls. With the version check
// off, building one does no I/O.
func (h *Host) client(ctx context.Context) (*sdk.Client, error) {
	return sdk.NewClient(h.base,
		sdk.SetHTTPClient(h.http),
		sdk.SetToken(h.token.Reveal()),
		sdk.SetContext(ctx),
		sdk.SetGiteaVersion(""),
		sdk.SetUserAgent("trueup"),
	)
}

// call identifies an operation for its errors.
func (h *Host) call(format string, args ...any) hostapi.Call {
	return hostapi.Call{Host: h.name, Op: fmt.Sprintf(format, args...), Secret: h.token.Reveal()}
}

// fail turns what the SDK returned into the error of call: an HTTP error
// status by its code, anything else as a transport failure.
func fail(ctx context.Context, call hostapi.Call, resp *sdk.Response, err error) error {
	if resp != nil && resp.Response != nil && resp.StatusCode/100 != 2 {
		return call.Status(resp.StatusCode, err.Error(), false)
	}
	if err == nil {
		err = errors.New("no answer")
	}
	return call.Transport(ctx, err)
}

// statusOf is the HTTP status of resp, 0 without an answer.
func statusOf(resp *sdk.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}
