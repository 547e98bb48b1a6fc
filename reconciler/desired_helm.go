package reconciler

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/helmrepo"
	"github.com/trueup-dev/trueup/sources/render"
	"github.com/trueup-dev/trueup/sources/sops"
)

// ChartFetcher fetches a remote chart (an HTTP chart repository or an OCI
// registry) as a packaged chart archive (.tgz) and its digest. It is the
// seam for remote chart sources; without one a remote chart fails its
// target at render.
type ChartFetcher interface {
	Fetch(ctx context.Context, ref config.RemoteChart) (archive []byte, digest string, err error)
}

// ErrRemoteChartsUnsupported: a target names a remote chart and no
// ChartFetcher is configured.
var ErrRemoteChartsUnsupported = errors.New("remote charts are not supported yet")

// WithChartFetcher sets the fetcher of remote charts.
func (l *DesiredLoader) WithChartFetcher(f ChartFetcher) *DesiredLoader {
	l.charts = f
	return l
}

// helmInputs are the values files a Helm target reads from other sources,
// each at that source's newest revision.
type helmInputs struct {
	values map[int]render.ValuesFile // by index in render.helm.values
	revs   []sources.Revision        // the other sources' revisions, for the cache key
	// chart is a remote chart's files, mounted at chartMount, and digest
	// its archive's digest (in the cache key: a range that resolves to a
	// new version renders again).
	chart  sources.Files
	digest string
	// caps are the destination cluster's version and API versions (zero
	// without a cluster: helm template's defaults).
	caps kube.Capabilities
	// decrypted marks the values files that were SOPS-encrypted.
	decrypted map[int]bool
	// extra are values files merged after the target's own (before set):
	// the write-back's probes.
	extra []render.ValuesFile
}

// chartMount is where a remote chart's files sit in the tree it is
// rendered from (its objects' origins start with it).
const chartMount = "remote-chart"

// helmKey fingerprints what a Helm render depends on beyond the target's
// own commit: its render settings and the other sources' commits.
func helmKey(h *config.HelmRender, in helmInputs) string {
	b, _ := json.Marshal(h)
	var revs []string
	for _, r := range in.revs {
		revs = append(revs, r.Source+"@"+r.Commit)
	}
	sort.Strings(revs)
	return string(b) + "|" + strings.Join(revs, ",") + "|" + in.digest + "|" + in.caps.KubeVersion + "|" + strings.Join(in.caps.APIVersions, ",")
}

// loadHelmInputs reads the values files that live in other sources.
func (l *DesiredLoader) loadHelmInputs(ctx context.Context, t *config.Target) (helmInputs, error) {
	in := helmInputs{values: map[int]render.ValuesFile{}, decrypted: map[int]bool{}}
	if ref := t.Render.Helm.Chart.Remote; ref != nil && l.charts != nil {
		var err error
		if in.chart, in.digest, err = l.fetchChart(ctx, ref); err != nil {
			return in, err
		}
	}
	if l.caps != nil && t.Render.Helm.KubeVersion == "" {
		var err error
		if in.caps, err = l.caps(ctx, t); err != nil {
			return in, fmt.Errorf("render.helm: the chart is rendered for the target's cluster: %w (set render.helm.kubeVersion to render without asking it)", err)
		}
	}
	seen := map[string]sources.Revision{}
	for i, v := range t.Render.Helm.Values {
		if v.Source == "" || v.Source == t.Source {
			continue
		}
		src, ok := l.sources[v.Source]
		if !ok {
			return in, fmt.Errorf("render.helm.values[%d]: unknown source %q", i, v.Source)
		}
		rev, fetched := seen[v.Source]
		if !fetched {
			var err error
			if rev, err = l.client.Fetch(ctx, src); err != nil {
				return in, fmt.Errorf("render.helm.values[%d]: %w", i, err)
			}
			seen[v.Source] = rev
			in.revs = append(in.revs, rev)
		}
		data, err := l.readOne(ctx, src, rev, v.Path)
		if err != nil {
			return in, fmt.Errorf("render.helm.values[%d]: source %q at %s: %w", i, v.Source, rev.Short(), err)
		}
		name := v.Source + ":" + v.Path
		if _, enc := sops.IsEncrypted(v.Path, data); enc {
			// Decrypted with the target's keys, in memory only.
			if data, err = sops.Decrypt(v.Path, data, l.keysFor(t.Name)); err != nil {
				return in, fmt.Errorf("render.helm.values[%d]: source %q: %s: %w", i, v.Source, sources.QuotePath(v.Path), err)
			}
			in.decrypted[i] = true
		}
		in.values[i] = render.ValuesFile{Name: name, Data: data}
	}
	return in, nil
}

// readOne reads one file of a source at a revision, within its limits.
func (l *DesiredLoader) readOne(ctx context.Context, src git.Source, rev sources.Revision, p string) ([]byte, error) {
	var data []byte
	err := l.client.ReadTree(ctx, src, rev.Commit, l.read, func(files sources.Tree) error {
		var err error
		data, err = files.ReadFile(p)
		return err
	})
	return data, err
}

// renderHelm renders a target's chart from the tree of its source.
func (l *DesiredLoader) renderHelm(ctx context.Context, t *config.Target, files sources.Tree, in helmInputs, ropt render.Options) (*render.Result, error) {
	h := t.Render.Helm
	chartFiles, chartDir := files, h.Chart.Path
	if ref := h.Chart.Remote; ref != nil {
		if in.chart == nil {
			return nil, fmt.Errorf("chart %s from %s: %w: vendor the chart into the source (helm pull --untar) and set render.helm.chart "+
				"to its folder", ref.Name, ref.Repository, ErrRemoteChartsUnsupported)
		}
		chartFiles, chartDir = in.chart, chartMount
	}
	chartFiles, err := l.lockedDependencies(ctx, chartFiles, chartDir)
	if err != nil {
		return nil, fmt.Errorf("render.helm.chart: %w", err)
	}
	opt := render.HelmOptions{
		Chart:       chartDir,
		ReleaseName: h.ReleaseName,
		Namespace:   h.Namespace,
		IncludeCRDs: h.IncludesCRDs(),
		KubeVersion: h.KubeVersion,
		APIVersions: append(slices.Clone(in.caps.APIVersions), h.APIVersions...),
		ApplyHooks:  h.Hooks == config.HooksApply,
		PostRender:  postRenderOf(h, files),
	}
	for i, v := range h.Values {
		if f, other := in.values[i]; other {
			opt.Values = append(opt.Values, f)
			continue
		}
		data, err := files.ReadFile(v.Path)
		if err != nil {
			return nil, fmt.Errorf("render.helm.values[%d]: %w", i, err)
		}
		opt.Values = append(opt.Values, render.ValuesFile{Name: v.Path, Data: data})
	}
	opt.Values = append(opt.Values, in.extra...)
	if opt.KubeVersion == "" {
		opt.KubeVersion = in.caps.KubeVersion // "" without a cluster: helm template's default
	}
	keys := make([]string, 0, len(h.Set))
	for k := range h.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a parent key before its children: a.b before a.b.c
	for _, k := range keys {
		v := h.Set[k]
		_, isString := v.Value.(string)
		opt.Set = append(opt.Set, render.SetValue{Key: k, Value: v.String(), String: isString})
	}
	return render.RenderHelm(ctx, chartFiles, opt, ropt)
}

// postRenderOf is render.helm.postRender for the renderer: its
// kustomization is read from the target's source (files), whether the
// chart is in it or remote.
func postRenderOf(h *config.HelmRender, files sources.Tree) *render.PostRender {
	if h.PostRender == nil {
		return nil
	}
	return &render.PostRender{Files: files, Kustomization: h.PostRender.Kustomization}
}

// fetchChart fetches a remote chart and unpacks its archive (checked by
// the fetcher) into files under chartMount.
func (l *DesiredLoader) fetchChart(ctx context.Context, ref *config.RemoteChart) (sources.Files, string, error) {
	archive, digest, err := l.charts.Fetch(ctx, *ref)
	if err != nil {
		return nil, "", fmt.Errorf("render.helm.chart: %w", err)
	}
	files, err := unpackChart(archive)
	if err != nil {
		return nil, "", fmt.Errorf("render.helm.chart: chart %s from %s (%s): %w", ref.Name, ref.Repository, digest, err)
	}
	return files, digest, nil
}

// unpackChart reads a chart archive (.tgz, every file under one top-level
// folder, as `helm package` writes it) into files under chartMount.
func unpackChart(archive []byte) (sources.Files, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("chart archive: %w", err)
	}
	tr := tar.NewReader(zr)
	files := sources.Files{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("chart archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue // folders; links and devices were refused by the fetcher
		}
		_, rest, ok := strings.Cut(strings.TrimPrefix(h.Name, "./"), "/")
		if !ok || rest == "" {
			return nil, fmt.Errorf("chart archive: %s is not inside the chart's folder", sources.QuotePath(h.Name))
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("chart archive: %s: %w", sources.QuotePath(h.Name), err)
		}
		files[chartMount+"/"+rest] = data
	}
	if len(files) == 0 {
		return nil, errors.New("chart archive: no files")
	}
	return files, nil
}

// hookWarnings say which Helm hooks a render left out.
func hookWarnings(d *Desired) []string {
	var out []string
	for _, h := range d.Hooks {
		out = append(out, fmt.Sprintf("helm hook %s (%s) from %s is not applied: trueup runs no hooks; "+
			"set render.helm.hooks: apply to apply hook objects as ordinary objects", h.Object, h.Events, sources.QuotePath(h.Origin.File)))
	}
	return out
}

// HelmRepoFetcher fetches remote charts with a helmrepo client (HTTP chart
// repositories and OCI registries), with the credentials of
// render.helm.chart.auth read at each fetch.
type HelmRepoFetcher struct{ Client *helmrepo.Client }

var _ ChartFetcher = HelmRepoFetcher{}

// Fetch reads the chart's credentials, then fetches its archive and digest.
// A refused or missing login says to set render.helm.chart.auth.
func (f HelmRepoFetcher) Fetch(ctx context.Context, ref config.RemoteChart) ([]byte, string, error) {
	auth, err := chartAuth(ref)
	if err != nil {
		return nil, "", fmt.Errorf("chart %s from %s: %w", ref.Name, ref.Repository, err)
	}
	ch, err := f.Client.Fetch(ctx, helmrepo.Ref{Repository: ref.Repository, Name: ref.Name, Version: ref.Version, Digest: ref.Digest}, auth)
	if errors.Is(err, helmrepo.ErrAuth) {
		if ref.Auth == nil {
			return nil, "", fmt.Errorf("%w: the repository asks for credentials: set render.helm.chart.auth ({username, passwordFrom}, {tokenFrom}, or for oci:// {dockerConfigFrom})", err)
		}
		return nil, "", fmt.Errorf("%w: the repository refused the credentials of render.helm.chart.auth: check them", err)
	}
	if err != nil {
		return nil, "", err
	}
	return ch.Archive, ch.Digest, nil
}

// chartAuth resolves render.helm.chart.auth into helmrepo credentials.
func chartAuth(ref config.RemoteChart) (helmrepo.Auth, error) {
	c, err := ref.Auth.Resolve(ref.Repository)
	if err != nil {
		return helmrepo.Auth{}, err
	}
	return helmrepo.Auth{Username: c.Username, Password: c.Password.Reveal(), BearerToken: c.Token.Reveal()}, nil
}
