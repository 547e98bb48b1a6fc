package helmrepo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Ref names a chart to fetch.
type Ref struct {
	// Repository is an http(s) chart repository URL (the folder of its
	// index.yaml) or oci://registry/path.
	Repository string
	// Name is the chart's name in the repository.
	Name string
	// Version is an exact version or a semver range; empty means the highest
	// stable version.
	Version string
	// Digest, "sha256:<hex>", pins the chart archive; empty means unpinned.
	Digest string
}

// Auth holds the credentials for a repository, read by the caller from its
// secrets. Basic auth (Username/Password) or a bearer token; zero means
// anonymous.
type Auth struct {
	Username    string
	Password    string
	BearerToken string
}

func (a Auth) empty() bool { return a.Username == "" && a.Password == "" && a.BearerToken == "" }

// Chart is a fetched, verified and checked chart archive.
type Chart struct {
	// Archive is the chart's .tgz.
	Archive []byte
	// Digest is "sha256:<hex>" of Archive.
	Digest string
	// Version is the version the Ref resolved to.
	Version string
	// URL is where the archive came from (an http(s) URL without
	// credentials, or oci://registry/path/name:tag).
	URL string
}

// Defaults of a Client; see the options to change them.
const (
	DefaultTimeout         = 60 * time.Second
	DefaultIndexTTL        = 2 * time.Minute
	DefaultMaxIndexSize    = 32 << 20  // 32 MiB
	DefaultMaxArchiveSize  = 16 << 20  // 16 MiB compressed
	DefaultMaxChartSize    = 100 << 20 // 100 MiB decompressed (Helm's loader limit)
	DefaultMaxFileSize     = 5 << 20   // 5 MiB per file (Helm's loader limit)
	DefaultMaxEntries      = 10000
	DefaultMaxManifestSize = 4 << 20 // 4 MiB
)

// Client fetches charts. It is safe for concurrent use.
type Client struct {
	cache      *diskCache
	httpClient *http.Client
	timeout    time.Duration
	indexTTL   time.Duration
	limits     Limits
	plainHTTP  map[string]bool
	now        func() time.Time

	mu      sync.Mutex
	indexes map[string]cachedIndex // by repository URL + auth identity
	flight  singleflight.Group
}

// Limits bound what a Client downloads and accepts.
type Limits struct {
	IndexSize    int64 // bytes of index.yaml
	ManifestSize int64 // bytes of an OCI manifest
	ArchiveSize  int64 // bytes of the .tgz
	ChartSize    int64 // bytes of all files decompressed
	FileSize     int64 // bytes of one file decompressed
	Entries      int   // entries in the archive
}

// DefaultLimits returns the limits a Client starts with.
func DefaultLimits() Limits {
	return Limits{
		IndexSize:    DefaultMaxIndexSize,
		ManifestSize: DefaultMaxManifestSize,
		ArchiveSize:  DefaultMaxArchiveSize,
		ChartSize:    DefaultMaxChartSize,
		FileSize:     DefaultMaxFileSize,
		Entries:      DefaultMaxEntries,
	}
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (for its transport: proxies, TLS
// roots). Its Timeout is replaced by the per-request timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.httpClient = hc }
}

// WithTimeout bounds each request (index, manifest, archive); default
// DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithIndexTTL sets how long an index.yaml is reused; default
// DefaultIndexTTL; 0 downloads it on every fetch.
func WithIndexTTL(d time.Duration) Option { return func(c *Client) { c.indexTTL = d } }

// WithLimits replaces the size limits; zero fields keep their default.
func WithLimits(l Limits) Option {
	return func(c *Client) {
		d := &c.limits
		set64 := func(dst *int64, v int64) {
			if v > 0 {
				*dst = v
			}
		}
		set64(&d.IndexSize, l.IndexSize)
		set64(&d.ManifestSize, l.ManifestSize)
		set64(&d.ArchiveSize, l.ArchiveSize)
		set64(&d.ChartSize, l.ChartSize)
		set64(&d.FileSize, l.FileSize)
		if l.Entries > 0 {
			d.Entries = l.Entries
		}
	}
}

// WithPlainHTTP makes oci:// references to these registries (host:port)
// use plain HTTP instead of HTTPS; for local test registries only.
func WithPlainHTTP(hosts ...string) Option {
	return func(c *Client) {
		for _, h := range hosts {
			c.plainHTTP[h] = true
		}
	}
}

// New returns a Client that caches archives under cacheDir (created on
// first write).
func New(cacheDir string, opts ...Option) *Client {
	c := &Client{
		cache:     &diskCache{dir: cacheDir},
		timeout:   DefaultTimeout,
		indexTTL:  DefaultIndexTTL,
		limits:    DefaultLimits(),
		plainHTTP: map[string]bool{},
		now:       time.Now,
		indexes:   map[string]cachedIndex{},
	}
	for _, o := range opts {
		o(c)
	}
	hc := http.Client{}
	if c.httpClient != nil {
		hc = *c.httpClient
	}
	if hc.Transport == nil {
		hc.Transport = http.DefaultTransport
	}
	hc.Timeout = c.timeout
	c.httpClient = &hc
	return c
}

// Fetch resolves ref, downloads (or reads from the cache) the chart
// archive, verifies its digest and checks it. Errors wrap one of the
// package's sentinel errors and never contain credentials.
func (c *Client) Fetch(ctx context.Context, ref Ref, auth Auth) (*Chart, error) {
	if err := validateRef(ref); err != nil {
		return nil, fmt.Errorf("%s: %w", refName(ref), err)
	}
	var ch *Chart
	var err error
	if strings.HasPrefix(ref.Repository, "oci://") {
		ch, err = c.fetchOCI(ctx, ref, auth)
	} else {
		ch, err = c.fetchHTTP(ctx, ref, auth)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", refName(ref), err)
	}
	return ch, nil
}

func validateRef(ref Ref) error {
	switch {
	case ref.Name == "":
		return fmt.Errorf("%w: chart name is empty", ErrInvalid)
	case strings.ContainsAny(ref.Name, "/\\") || ref.Name == "." || ref.Name == "..":
		return fmt.Errorf("%w: chart name must not contain a path", ErrInvalid)
	case !strings.HasPrefix(ref.Repository, "oci://") && !strings.HasPrefix(ref.Repository, "http://") && !strings.HasPrefix(ref.Repository, "https://"):
		return fmt.Errorf("%w: repository must start with https://, http:// or oci://", ErrInvalid)
	case hasUserinfo(ref.Repository):
		return fmt.Errorf("%w: repository URL must not carry credentials: give them as Auth (usernameFrom/passwordFrom)", ErrInvalid)
	}
	if ref.Digest != "" {
		if _, err := parseDigest(ref.Digest); err != nil {
			return err
		}
	}
	return nil
}

// hasUserinfo reports whether the authority of URL s holds user:password@.
func hasUserinfo(s string) bool {
	_, rest, _ := strings.Cut(s, "://")
	authority, _, _ := strings.Cut(rest, "/")
	return strings.Contains(authority, "@")
}
