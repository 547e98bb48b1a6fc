package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/render"
	"github.com/trueup-dev/trueup/sources/sops"
)

// SourceClient fetches and reads Git sources (implemented by *git.Client).
type SourceClient interface {
	Fetch(ctx context.Context, src git.Source) (sources.Revision, error)
	ReadFiles(ctx context.Context, src git.Source, commit string, opt git.ReadOptions) (sources.Files, error)
	ReadTree(ctx context.Context, src git.Source, commit string, opt git.ReadOptions, fn func(sources.Tree) error) error
}

var _ SourceClient = (*git.Client)(nil)

// Desired is the rendered desired state of a target at one revision.
type Desired struct {
	Revision sources.Revision
	Mode     render.Mode
	Objects  []sources.Object
	// Hooks are the Helm hook objects the render left out (render.helm).
	Hooks []render.Hook
	// Inputs are the revisions of other sources the render read (Helm
	// values files from another source).
	Inputs []sources.Revision
}

// DesiredLoader resolves a target's source to a revision and renders the
// target's path at it. Renders are cached per source, commit and path, so a
// poll that finds the same commit costs one ls-remote and no render.
type DesiredLoader struct {
	client  SourceClient
	sources map[string]git.Source
	read    git.ReadOptions
	render  render.Options
	charts  ChartFetcher // nil: remote charts fail their target
	// keys decrypt the SOPS files of a target, by target name.
	keys map[string]*sops.Keys

	mu sync.Mutex
	// cache holds the renders packed (see packedDesired).
	cache map[desiredKey]*packedDesired
	// caps discovers a target's cluster for Helm's .Capabilities (set by
	// the reconciler; nil: helm template's defaults).
	caps func(ctx context.Context, t *config.Target) (kube.Capabilities, error)
}

type desiredKey struct {
	source, commit, path, helm string
	keys                       *sops.Keys // renders with other keys decrypt differently
}

// maxCachedRenders bounds the render cache; it is cleared when full.
const maxCachedRenders = 256

// NewDesiredLoader returns a loader over the given sources, keyed by name.
func NewDesiredLoader(client SourceClient, srcs map[string]git.Source) *DesiredLoader {
	return &DesiredLoader{
		client:  client,
		sources: srcs,
		read:    git.ReadOptions{}, // the source's limits, else the defaults
		render:  render.DefaultOptions(),
		cache:   map[desiredKey]*packedDesired{},
	}
}

// SetDecryption sets the keys that decrypt the SOPS files of each target,
// by target name. A target without keys still detects SOPS files and fails
// its render on them, never applying ciphertext. Call it before the first
// Load.
func (l *DesiredLoader) SetDecryption(keys map[string]*sops.Keys) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = keys
	clear(l.cache)
}

func (l *DesiredLoader) keysFor(target string) *sops.Keys {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[target]
}

// Load fetches the target's source and renders its path. Errors name the
// target; a failed fetch or render never yields an empty Desired. A failure
// after the fetch is a *StageError naming the revision (stage source for
// reading the files, render for rendering them).
func (l *DesiredLoader) Load(ctx context.Context, t *config.Target) (*Desired, error) {
	d, _, err := l.loadPacked(ctx, t)
	return d, err
}

// loadPacked is Load that also returns the render packed, as the loader's
// cache keeps it, for a caller that keeps it too.
func (l *DesiredLoader) loadPacked(ctx context.Context, t *config.Target) (*Desired, *packedDesired, error) {
	src, ok := l.sources[t.Source]
	if !ok {
		return nil, nil, fmt.Errorf("target %q: unknown source %q", t.Name, t.Source)
	}
	rev, err := l.client.Fetch(ctx, src)
	if err != nil {
		return nil, nil, fmt.Errorf("target %q: %w", t.Name, err)
	}
	return l.load(ctx, t, src, rev, l.treeAt(ctx, src, rev))
}

// LoadRevision renders the target's path at an already fetched revision.
func (l *DesiredLoader) LoadRevision(ctx context.Context, t *config.Target, src git.Source, rev sources.Revision) (*Desired, error) {
	d, _, err := l.load(ctx, t, src, rev, l.treeAt(ctx, src, rev))
	return d, err
}

// treeAt reads the source's tree at rev.
func (l *DesiredLoader) treeAt(ctx context.Context, src git.Source, rev sources.Revision) func(git.ReadOptions, func(sources.Tree) error) error {
	return func(opt git.ReadOptions, fn func(sources.Tree) error) error {
		return l.client.ReadTree(ctx, src, rev.Commit, opt, fn)
	}
}

// LocalCommit is the Revision.Commit of a render of a local checkout.
const LocalCommit = "local"

// LoadLocal renders the target from a local checkout of its source (the
// folder holding the repository's root), as it is on disk, uncommitted
// changes included: `trueup render --local`. Nothing is fetched from the
// target's source; values files from other sources and remote charts
// are. The render is not cached.
func (l *DesiredLoader) LoadLocal(ctx context.Context, t *config.Target, dir string) (*Desired, error) {
	src, ok := l.sources[t.Source]
	if !ok {
		return nil, fmt.Errorf("target %q: unknown source %q", t.Name, t.Source)
	}
	tree, err := sources.NewDirTree(dir)
	if err != nil {
		return nil, &StageError{Stage: StageSource, Err: fmt.Errorf("target %q: %w", t.Name, err)}
	}
	rev := sources.Revision{Source: src.Name, Ref: dir, Commit: LocalCommit, Message: "the local checkout " + dir}
	d, _, err := l.load(ctx, t, src, rev, func(_ git.ReadOptions, fn func(sources.Tree) error) error { return fn(tree) })
	return d, err
}

// load renders a target from the tree read gives it, or decodes the render
// from the cache. It returns the render and, unless it is of a local
// checkout (never cached), the render packed as the cache holds it.
func (l *DesiredLoader) load(ctx context.Context, t *config.Target, src git.Source, rev sources.Revision, read func(git.ReadOptions, func(sources.Tree) error) error) (*Desired, *packedDesired, error) {
	keys := l.keysFor(t.Name)
	key := desiredKey{source: src.Name, commit: rev.Commit, path: t.Path, keys: keys}
	helm := t.Render != nil && t.Render.Helm != nil
	var in helmInputs
	if helm {
		var err error
		if in, err = l.loadHelmInputs(ctx, t); err != nil {
			return nil, nil, &StageError{Stage: StageSource, Revision: rev, Err: fmt.Errorf("target %q: %w", t.Name, err)}
		}
		key.helm = helmKey(t.Render.Helm, in)
	}
	local := rev.Commit == LocalCommit
	if p := l.cached(key); p != nil && !local {
		d, err := p.unpack()
		if err != nil {
			return nil, nil, &StageError{Stage: StageRender, Revision: rev, Err: fmt.Errorf("target %q: %w", t.Name, err)}
		}
		return d, p, nil
	}
	opt := l.read
	opt.Path = t.Path
	if helm && t.Render.Helm.Chart.Remote == nil {
		opt.Path = t.Render.Helm.Chart.Path // symlinks stay inside the chart
	}
	ropt := l.render
	if src.Limits.MaxTotalBytes > 0 {
		ropt.MaxBytes = src.Limits.MaxTotalBytes
	}
	// The render reads only the files it uses, so the source's read limits
	// count those, not the whole repository.
	var res *render.Result
	var renderErr error
	err := read(opt, func(files sources.Tree) error {
		// SOPS files are decrypted as they are read, in memory only.
		tree := sops.NewTree(files, keys)
		if helm {
			res, renderErr = l.renderHelm(ctx, t, tree, in, ropt)
		} else {
			res, renderErr = render.Render(tree, t.Path, ropt)
		}
		if renderErr == nil {
			renderErr = markDecrypted(t, tree, res.Objects, in)
		}
		return nil
	})
	if err != nil {
		return nil, nil, &StageError{Stage: StageSource, Revision: rev, Err: fmt.Errorf("target %q: read %s at %s: %w", t.Name, t.Path, rev.Short(), err)}
	}
	if renderErr != nil {
		stage := StageRender
		var fe *dependencyFetchError
		if errors.As(renderErr, &fe) {
			stage = StageSource // a chart repository unreachable: retried
		}
		return nil, nil, &StageError{Stage: stage, Revision: rev, Err: fmt.Errorf("target %q: at %s: %w", t.Name, rev.Short(), renderErr)}
	}
	d := &Desired{Revision: rev, Mode: res.Mode, Objects: res.Objects, Hooks: res.Hooks, Inputs: in.revs}
	if local {
		return d, nil, nil
	}
	p, err := packDesired(d)
	if err != nil {
		return nil, nil, &StageError{Stage: StageRender, Revision: rev, Err: fmt.Errorf("target %q: %w", t.Name, err)}
	}
	l.store(key, p)
	return d, p, nil
}

func (l *DesiredLoader) cached(k desiredKey) *packedDesired {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cache[k]
}

func (l *DesiredLoader) store(k desiredKey, p *packedDesired) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cache) >= maxCachedRenders {
		clear(l.cache)
	}
	l.cache[k] = p
}

// ReadTree fetches a source and reads the files under path at its newest
// revision, keyed relative to path (files elsewhere in the repository are
// left out): the policy folders use it.
func (l *DesiredLoader) ReadTree(ctx context.Context, source, path string) (sources.Files, sources.Revision, error) {
	src, ok := l.sources[source]
	if !ok {
		return nil, sources.Revision{}, fmt.Errorf("unknown source %q", source)
	}
	rev, err := l.client.Fetch(ctx, src)
	if err != nil {
		return nil, sources.Revision{}, err
	}
	opt := l.read
	opt.Path = path
	// Only the files under path are read, so the source's limits count
	// those, not the rest of the repository.
	files := sources.Files{}
	err = l.client.ReadTree(ctx, src, rev.Commit, opt, func(t sources.Tree) error {
		for _, p := range t.Paths() {
			if _, ok := sources.Rel(p, path); !ok {
				continue
			}
			b, err := t.ReadFile(p)
			if err != nil {
				return err
			}
			files[p] = b
		}
		return nil
	})
	if err != nil {
		return nil, rev, fmt.Errorf("read %s at %s: %w", path, rev.Short(), err)
	}
	return files.Under(path), rev, nil
}

// markDecrypted marks the objects that hold decrypted values and refuses
// those that may not: an object read from a SOPS file must be a Secret
// (sops.MarkObjects); for a chart, a value of an encrypted values file may
// only appear in Secrets (sops.MarkFromValues).
func markDecrypted(t *config.Target, tree *sops.Tree, objs []sources.Object, in helmInputs) error {
	decrypted := tree.Decrypted()
	values := map[string][]byte{}
	if t.Render != nil && t.Render.Helm != nil {
		own := map[string]bool{}
		for i, v := range t.Render.Helm.Values {
			if _, other := in.values[i]; !other {
				own[v.Path] = true
			}
		}
		var rest []string
		for _, p := range decrypted {
			if !own[p] {
				rest = append(rest, p)
				continue
			}
			data, err := tree.ReadFile(p)
			if err != nil {
				return err
			}
			values[p] = data
		}
		decrypted = rest
		for i, f := range in.values {
			if in.decrypted[i] {
				values[f.Name] = f.Data
			}
		}
	}
	if err := sops.MarkObjects(objs, decrypted); err != nil {
		return err
	}
	return sops.MarkFromValues(objs, values)
}
