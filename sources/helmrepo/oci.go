package helmrepo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Helm's OCI media types (helm.sh/helm/v4/pkg/registry).
const (
	ConfigMediaType       = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType   = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	legacyChartLayerMedia = "application/tar+gzip"
)

func (c *Client) fetchOCI(ctx context.Context, ref Ref, cred Auth) (*Chart, error) {
	repo, err := c.ociRepository(ref, cred)
	if err != nil {
		return nil, err
	}
	tag, version, err := c.ociTag(ctx, repo, ref.Version, cred)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	mdesc, err := repo.Resolve(rctx, tag)
	if err != nil {
		return nil, fmt.Errorf("version %s: resolve tag %s: %w", version, tag, ociError(rctx, err, cred))
	}
	layer, err := c.ociChartLayer(rctx, repo, mdesc, cred)
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", version, err)
	}
	want := layer.Digest.String()
	if ref.Digest != "" && ref.Digest != want && ref.Digest != mdesc.Digest.String() {
		return nil, fmt.Errorf("version %s: %w: pinned %s, the registry's tag %s has manifest %s with chart layer %s: pin the version exactly, or update the digest if the new chart is trusted", version, ErrDigest, ref.Digest, tag, mdesc.Digest, want)
	}
	if layer.Size > c.limits.ArchiveSize {
		return nil, fmt.Errorf("version %s: chart layer: %w: %d bytes, limit %d", version, ErrTooLarge, layer.Size, c.limits.ArchiveSize)
	}
	source := "oci://" + repo.Reference.String() + "@" + want
	data, digest, err := c.archive(ctx, want, source, func(ctx context.Context) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		data, err := content.FetchAll(ctx, repo, layer)
		if err != nil {
			return nil, fmt.Errorf("chart layer: %w", ociError(ctx, err, cred))
		}
		return data, nil
	})
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", version, err)
	}
	return &Chart{Archive: data, Digest: digest, Version: version, URL: "oci://" + repo.Reference.String() + ":" + tag}, nil
}

// ociRepository returns the oras repository registry/path/name of ref with
// the credentials sent to that registry only.
func (c *Client) ociRepository(ref Ref, cred Auth) (*remote.Repository, error) {
	path := strings.TrimSuffix(strings.TrimPrefix(ref.Repository, "oci://"), "/") + "/" + ref.Name
	repo, err := remote.NewRepository(path)
	if err != nil {
		return nil, fmt.Errorf("%w: OCI reference: %v", ErrInvalid, err)
	}
	host := repo.Reference.Registry
	repo.PlainHTTP = c.plainHTTP[host]
	repo.MaxMetadataBytes = c.limits.ManifestSize
	repo.TagListMaxPages = 100
	client := &auth.Client{Client: c.httpClient, Cache: auth.NewCache()}
	if !cred.empty() {
		client.Credential = auth.StaticCredential(host, auth.Credential{
			Username: cred.Username, Password: cred.Password, AccessToken: cred.BearerToken,
		})
	}
	repo.Client = client
	return repo, nil
}

// ociTag lists the repository's tags and returns the tag and version that
// want resolves to (Helm writes "+" in versions as "_" in tags).
func (c *Client) ociTag(ctx context.Context, repo *remote.Repository, want string, cred Auth) (tag, version string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	tags, err := registry.Tags(ctx, repo)
	if err != nil {
		return "", "", fmt.Errorf("list tags: %w", ociError(ctx, err, cred))
	}
	versions := make([]string, len(tags))
	for i, t := range tags {
		versions[i] = strings.ReplaceAll(t, "_", "+")
	}
	if len(versions) == 0 {
		return "", "", fmt.Errorf("%w: the repository has no tags", ErrNotFound)
	}
	version, err = resolveVersion(strings.ReplaceAll(want, "_", "+"), versions)
	if err != nil {
		return "", "", err
	}
	return strings.ReplaceAll(version, "+", "_"), version, nil
}

// ociChartLayer fetches the manifest and returns its Helm chart layer.
func (c *Client) ociChartLayer(ctx context.Context, repo *remote.Repository, mdesc ocispec.Descriptor, cred Auth) (ocispec.Descriptor, error) {
	if mdesc.MediaType != ocispec.MediaTypeImageManifest {
		return ocispec.Descriptor{}, fmt.Errorf("%w: manifest media type %q is not an OCI image manifest: is this a Helm chart?", ErrInvalid, mdesc.MediaType)
	}
	if mdesc.Size > c.limits.ManifestSize {
		return ocispec.Descriptor{}, fmt.Errorf("manifest: %w: %d bytes, limit %d", ErrTooLarge, mdesc.Size, c.limits.ManifestSize)
	}
	raw, err := content.FetchAll(ctx, repo, mdesc)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("manifest: %w", ociError(ctx, err, cred))
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("manifest: %w: %v", ErrInvalid, err)
	}
	if m.Config.MediaType != ConfigMediaType {
		return ocispec.Descriptor{}, fmt.Errorf("%w: config media type %q, want %s: not a Helm chart", ErrInvalid, m.Config.MediaType, ConfigMediaType)
	}
	var found []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == ChartLayerMediaType || l.MediaType == legacyChartLayerMedia {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("%w: manifest has %d chart layers (%s), want 1", ErrInvalid, len(found), ChartLayerMediaType)
	}
	return found[0], nil
}

// ociError maps an oras error to the package's sentinels; registry error
// bodies carry no credentials, but the URL is dropped as for HTTP.
func ociError(ctx context.Context, err error, cred Auth) error {
	var resp *errcode.ErrorResponse
	switch {
	case errors.As(err, &resp):
		return fmt.Errorf("%w (%s %s)", statusError(resp.StatusCode, cred), resp.Method, redactURL(resp.URL.String()))
	case errors.Is(err, errdef.ErrNotFound):
		return fmt.Errorf("%w: %s", ErrNotFound, scrub(err.Error()))
	case errors.Is(err, errdef.ErrSizeExceedsLimit):
		return fmt.Errorf("%w: %s", ErrTooLarge, scrub(err.Error()))
	case errors.Is(err, content.ErrMismatchedDigest):
		return fmt.Errorf("%w: %s", ErrDigest, scrub(err.Error()))
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return fmt.Errorf("%w: the registry asks for credentials: set them", ErrAuth)
	}
	return transportError(ctx, err)
}
