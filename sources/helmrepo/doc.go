// Package helmrepo fetches Helm chart archives (.tgz) from an HTTP chart
// repository (its index.yaml) or an OCI registry, for the Helm renderer.
//
// A Ref names a repository, a chart, a version and optionally a digest.
// Repository is either an http(s) chart repository URL, whose index.yaml
// lists the chart's versions and archive URLs, or oci://registry/path, where
// the chart is the repository path/name and its versions are tags (as
// `helm push` lays them out: a manifest with the config media type
// application/vnd.cncf.helm.config.v1+json and one layer of
// application/vnd.cncf.helm.chart.content.v1.tar+gzip). OCI is spoken with
// oras-go v2, not the Helm library's registry client.
//
// Version is an exact version or a semver range (Masterminds/semver/v3
// syntax, such as "^1.2" or ">=1.0 <2"), resolved to the highest version that
// matches; an empty Version means the highest stable (non-prerelease) one.
// Digest ("sha256:<hex>") pins the chart archive: the sha256 of the .tgz
// (for OCI this is the chart layer's digest; the manifest digest is accepted
// too). An archive whose digest differs is an error (ErrDigest); a pinned
// fetch never returns a substitute.
//
// Archives are cached on disk under the cache directory, content-addressed
// by their sha256 (written atomically, verified on read, so a corrupt file
// is fetched again). An HTTP repository's index.yaml is kept in memory for a
// short time (DefaultIndexTTL, 2 minutes), so a reconcile that asks for an
// unchanged version neither downloads the index again nor, when the index
// gives the archive's digest, the archive. OCI tags and manifests are asked
// for on every fetch (small metadata requests); the chart layer comes from
// the cache when its digest is there.
//
// Every archive is checked before it is returned (see CheckArchive): its
// compressed and decompressed size, entry count and per-file size are
// bounded, and entries must be regular files or folders with relative paths
// that stay inside the archive (no symlinks, hard links, devices, absolute
// paths or "..").
//
// Errors name the repository (without credentials), chart and version and
// wrap one of ErrNotFound, ErrAuth, ErrUnavailable (retryable: network
// errors, timeouts, 5xx and 429), ErrDigest, ErrTooLarge or ErrInvalid.
// Credentials (Auth) are sent only to the repository's own host and never
// appear in an error: URLs are shown without userinfo and query.
//
// A Client is safe for concurrent use; concurrent fetches of one index or
// one archive share a single download.
package helmrepo
