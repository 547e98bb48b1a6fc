package helmrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// index is the part of a chart repository's index.yaml that Fetch reads.
type index struct {
	APIVersion string                    `json:"apiVersion"`
	Entries    map[string][]indexVersion `json:"entries"`
}

type indexVersion struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Digest  string   `json:"digest"` // hex sha256 of the archive, without "sha256:"
	URLs    []string `json:"urls"`
}

type cachedIndex struct {
	idx     *index
	fetched time.Time
}

func (c *Client) fetchHTTP(ctx context.Context, ref Ref, auth Auth) (*Chart, error) {
	base, err := url.Parse(strings.TrimSuffix(ref.Repository, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("%w: repository URL: %v", ErrInvalid, err)
	}
	idx, err := c.index(ctx, base, auth)
	if err != nil {
		return nil, err
	}
	entries := idx.Entries[ref.Name]
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: the repository's index.yaml has no chart %q", ErrNotFound, ref.Name)
	}
	versions := make([]string, len(entries))
	for i, e := range entries {
		versions[i] = e.Version
	}
	version, err := resolveVersion(ref.Version, versions)
	if err != nil {
		return nil, err
	}
	var entry indexVersion
	for _, e := range entries {
		if e.Version == version {
			entry = e
			break
		}
	}
	if len(entry.URLs) == 0 {
		return nil, fmt.Errorf("%w: index.yaml lists version %s without a URL", ErrInvalid, version)
	}
	archiveURL, err := base.Parse(entry.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("%w: index.yaml URL of version %s: %v", ErrInvalid, version, err)
	}
	want, err := expectedDigest(ref.Digest, entry.Digest, version)
	if err != nil {
		return nil, err
	}
	data, digest, err := c.archive(ctx, want, archiveURL.String(), func(ctx context.Context) ([]byte, error) {
		return c.download(ctx, archiveURL, sameOrigin(base, archiveURL), auth, c.limits.ArchiveSize, "archive")
	})
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", version, err)
	}
	return &Chart{Archive: data, Digest: digest, Version: version, URL: redactURL(archiveURL.String())}, nil
}

// expectedDigest is the digest the archive must have: the pin, which must
// agree with the index's digest when it gives one, else the index's.
func expectedDigest(pin, indexHex, version string) (string, error) {
	var fromIndex string
	if indexHex != "" {
		fromIndex = "sha256:" + strings.ToLower(indexHex)
		if _, err := parseDigest(fromIndex); err != nil {
			return "", fmt.Errorf("index.yaml digest of version %s: %w", version, err)
		}
	}
	if pin != "" && fromIndex != "" && pin != fromIndex {
		return "", fmt.Errorf("version %s: %w: pinned %s, the repository's index.yaml says %s", version, ErrDigest, pin, fromIndex)
	}
	if pin != "" {
		return pin, nil
	}
	return fromIndex, nil
}

// archive returns the archive whose digest is want ("" when unknown): from
// the disk cache, else by download from source, verified against want,
// checked and stored. Concurrent callers of one source share one download
// (cache look-up included, so a late caller finds what the first stored).
// It returns the archive's digest.
func (c *Client) archive(ctx context.Context, want, source string, download func(context.Context) ([]byte, error)) ([]byte, string, error) {
	v, err, _ := c.flight.Do("archive "+want+" "+source, func() (any, error) {
		if want != "" {
			data, err := c.cache.get(want)
			if err != nil || data != nil {
				return data, err
			}
		}
		data, err := download(ctx)
		if err != nil {
			return nil, err
		}
		if got := "sha256:" + sha256Hex(data); want != "" && got != want {
			return nil, fmt.Errorf("%w: want %s, the downloaded archive is %s", ErrDigest, want, got)
		}
		if err := CheckArchive(data, c.limits); err != nil {
			return nil, err
		}
		return data, c.cache.put(data)
	})
	if err != nil {
		return nil, "", err
	}
	data := v.([]byte)
	// Checked again: a cached archive may predate lower limits.
	if err := CheckArchive(data, c.limits); err != nil {
		return nil, "", err
	}
	return data, "sha256:" + sha256Hex(data), nil
}

// index returns the repository's index.yaml, from memory when fetched less
// than indexTTL ago with the same credentials.
func (c *Client) index(ctx context.Context, base *url.URL, auth Auth) (*index, error) {
	key := base.String() + "\x00" + authKey(auth)
	c.mu.Lock()
	ci, ok := c.indexes[key]
	c.mu.Unlock()
	if ok && c.now().Sub(ci.fetched) < c.indexTTL {
		return ci.idx, nil
	}
	v, err, _ := c.flight.Do("index "+key, func() (any, error) {
		u := base.JoinPath("index.yaml")
		data, err := c.download(ctx, u, true, auth, c.limits.IndexSize, "index.yaml")
		if err != nil {
			return nil, err
		}
		var idx index
		if err := yaml.Unmarshal(data, &idx); err != nil {
			return nil, fmt.Errorf("index.yaml: %w: %v", ErrInvalid, err)
		}
		if idx.APIVersion == "" && idx.Entries == nil {
			return nil, fmt.Errorf("index.yaml: %w: no apiVersion and no entries: is this a chart repository?", ErrInvalid)
		}
		c.mu.Lock()
		c.indexes[key] = cachedIndex{idx: &idx, fetched: c.now()}
		c.mu.Unlock()
		return &idx, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*index), nil
}

// authKey identifies credentials in cache keys without keeping them.
func authKey(a Auth) string {
	sum := sha256.Sum256([]byte(a.Username + "\x00" + a.Password + "\x00" + a.BearerToken))
	return hex.EncodeToString(sum[:8])
}

// sameOrigin reports whether u is on the repository's scheme and host, the
// only place credentials are sent.
func sameOrigin(base, u *url.URL) bool {
	return base.Scheme == u.Scheme && base.Host == u.Host
}

// download GETs u (credentials only when withAuth) and returns at most
// limit bytes of its body; what names it in errors.
func (c *Client) download(ctx context.Context, u *url.URL, withAuth bool, auth Auth, limit int64, what string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", what, ErrInvalid, scrub(err.Error()))
	}
	if withAuth {
		switch {
		case auth.BearerToken != "":
			req.Header.Set("Authorization", "Bearer "+auth.BearerToken)
		case auth.Username != "" || auth.Password != "":
			req.SetBasicAuth(auth.Username, auth.Password)
		}
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, redactURL(u.String()), transportError(ctx, err))
	}
	defer resp.Body.Close()
	if err := statusError(resp.StatusCode, auth); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, redactURL(u.String()), err)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%s %s: %w: %d bytes, limit %d", what, redactURL(u.String()), ErrTooLarge, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read: %w", what, redactURL(u.String()), transportError(ctx, err))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s %s: %w: more than %d bytes", what, redactURL(u.String()), ErrTooLarge, limit)
	}
	return data, nil
}

// statusError maps an HTTP status to a sentinel error (nil for 2xx).
func statusError(code int, auth Auth) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if auth.empty() {
			return fmt.Errorf("%w: HTTP %d and no credentials were given: set the repository's credentials", ErrAuth, code)
		}
		return fmt.Errorf("%w: HTTP %d: check the repository's credentials", ErrAuth, code)
	case code == http.StatusNotFound || code == http.StatusGone:
		return fmt.Errorf("%w: HTTP %d", ErrNotFound, code)
	case code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("%w: HTTP %d, retry later", ErrUnavailable, code)
	default:
		return fmt.Errorf("%w: unexpected HTTP %d", ErrInvalid, code)
	}
}
