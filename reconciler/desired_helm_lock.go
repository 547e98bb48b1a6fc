package reconciler

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources"
)

// chartLock is the part of a chart's Chart.lock (or its Chart.yaml's
// dependencies) trueup reads.
type chartLock struct {
	Dependencies []struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		Repository string `json:"repository"`
	} `json:"dependencies"`
}

// lockedDependencies fetches the dependencies a chart folder's Chart.lock
// pins and its charts/ folder lacks, as `helm dependency build` would, and
// returns the tree with them added (as charts/<name>-<version>.tgz, in
// memory). A chart without Chart.lock, or with every dependency vendored,
// is returned as it is. Chart.lock must agree with Chart.yaml: a
// dependency added to Chart.yaml and not locked fails, naming it.
func (l *DesiredLoader) lockedDependencies(ctx context.Context, files sources.Tree, dir string) (sources.Tree, error) {
	lockPath := path.Join(dir, "Chart.lock")
	if !files.Has(lockPath) {
		return files, nil
	}
	var lock, meta chartLock
	for p, into := range map[string]*chartLock{lockPath: &lock, path.Join(dir, "Chart.yaml"): &meta} {
		data, err := files.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			return nil, fmt.Errorf("%s: %w", sources.QuotePath(p), err)
		}
	}
	for _, want := range meta.Dependencies {
		i := slices.IndexFunc(lock.Dependencies, func(d struct {
			Name       string `json:"name"`
			Version    string `json:"version"`
			Repository string `json:"repository"`
		}) bool {
			return d.Name == want.Name && d.Repository == want.Repository
		})
		if i < 0 || !satisfies(want.Version, lock.Dependencies[i].Version) {
			return nil, fmt.Errorf("%s: dependency %s %s is not locked in Chart.lock: run `helm dependency update` and commit Chart.lock",
				sources.QuotePath(dir), want.Name, want.Version)
		}
	}
	extra := sources.Files{}
	for _, d := range lock.Dependencies {
		if strings.HasPrefix(d.Repository, "file://") || vendored(files, dir, d.Name, d.Version) {
			continue
		}
		if l.charts == nil {
			return nil, fmt.Errorf("%s: dependency %s %s from %s is not vendored in charts/: %w: run `helm dependency build` and commit charts/",
				sources.QuotePath(dir), d.Name, d.Version, d.Repository, ErrRemoteChartsUnsupported)
		}
		if !strings.HasPrefix(d.Repository, "https://") && !strings.HasPrefix(d.Repository, "http://") && !strings.HasPrefix(d.Repository, "oci://") {
			return nil, fmt.Errorf("%s: dependency %s: repository %q is a name from `helm repo add`, which trueup does not have: "+
				"use the repository's URL in Chart.yaml, or vendor charts/", sources.QuotePath(dir), d.Name, d.Repository)
		}
		archive, _, err := l.charts.Fetch(ctx, config.RemoteChart{Repository: d.Repository, Name: d.Name, Version: d.Version})
		if err != nil {
			return nil, &dependencyFetchError{fmt.Errorf("%s: dependency %s %s (Chart.lock): %w", sources.QuotePath(dir), d.Name, d.Version, err)}
		}
		extra[path.Join(dir, "charts", d.Name+"-"+d.Version+".tgz")] = archive
	}
	if len(extra) == 0 {
		return files, nil
	}
	return withFiles(files, extra), nil
}

// dependencyFetchError is a dependency that could not be fetched: a
// source-stage failure (retried), not a render one.
type dependencyFetchError struct{ err error }

func (e *dependencyFetchError) Error() string { return e.err.Error() }
func (e *dependencyFetchError) Unwrap() error { return e.err }

// satisfies reports whether a locked version meets Chart.yaml's version
// (an exact version or a range).
func satisfies(constraint, version string) bool {
	if constraint == "" {
		return true
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return constraint == version
	}
	v, err := semver.NewVersion(version)
	return err == nil && c.Check(v)
}

// vendored reports whether charts/ holds the dependency, as a folder or
// an archive.
func vendored(files sources.Tree, dir, name, version string) bool {
	charts := path.Join(dir, "charts")
	return files.Has(path.Join(charts, name, "Chart.yaml")) || files.Has(path.Join(charts, name+"-"+version+".tgz"))
}

// addedFiles is a tree with files added on top (fetched dependencies).
type addedFiles struct {
	sources.Tree
	extra sources.Files
	paths []string
}

func withFiles(base sources.Tree, extra sources.Files) sources.Tree {
	paths := slices.Clone(base.Paths())
	for p := range extra {
		if !base.Has(p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	return &addedFiles{Tree: base, extra: extra, paths: paths}
}

func (a *addedFiles) Paths() []string { return a.paths }

func (a *addedFiles) Has(p string) bool {
	_, ok := a.extra[p]
	return ok || a.Tree.Has(p)
}

func (a *addedFiles) ReadFile(p string) ([]byte, error) {
	if data, ok := a.extra[p]; ok {
		return data, nil
	}
	return a.Tree.ReadFile(p)
}
