package render

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"os"
	"path"
	"strings"
	"sync"
	"text/template"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/ignore"

	"github.com/trueup-dev/trueup/sources"
)

type archiveFile = archive.BufferedFile

func mapsKeys(m map[string]string) iter.Seq[string] { return maps.Keys(m) }

// lookupCalls remembers the first lookup a chart made.
type lookupCalls struct {
	mu    sync.Mutex
	first string
}

func (l *lookupCalls) record(apiVersion, kind, ns, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.first == "" {
		l.first = fmt.Sprintf("lookup %q %q %q %q", apiVersion, kind, ns, name)
	}
}

func (l *lookupCalls) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

var errLookupOff = errors.New("lookup is off in trueup: charts are rendered without a cluster")

// execute runs the chart's templates in this process. The Helm engine
// cannot be stopped once started, so when the deadline passes the render is
// reported as failed and its goroutine is left to finish on its own (in a
// worker process, the process exits and takes it along: helm_worker.go);
// Helm's own guard stops an include nested more than 1000 times. Output
// larger than the byte limit is refused.
func execute(ctx context.Context, ch *chart.Chart, dir string, top common.Values, timeout time.Duration, b *budget) (map[string]string, error) {
	if timeout <= 0 {
		timeout = DefaultHelmTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	calls := &lookupCalls{}
	e := engine.Engine{CustomTemplateFuncs: template.FuncMap{
		"lookup": func(apiVersion, kind, ns, name string) (map[string]any, error) {
			calls.record(apiVersion, kind, ns, name)
			return nil, errLookupOff
		},
	}}
	type result struct {
		out map[string]string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := e.RenderWithContext(ctx, ch, top)
		done <- result{out, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errorf(ErrLimit, "templates did not finish within %s (a template recursion or an output bomb): fix the chart", timeout)
		}
		return nil, fmt.Errorf("templates: %w", ctx.Err())
	}
	if l := calls.get(); l != "" {
		return nil, errorf(ErrUnsupported, "%s: lookup is off: trueup renders charts without a cluster; `helm template` would return an "+
			"empty object here and render something other than what the chart installs, so trueup fails instead: make the lookup "+
			"depend on a value and turn it off for this target", l)
	}
	if r.err != nil {
		return nil, errorf(ErrHelm, "templates: %v", r.err)
	}
	var total int64
	for name, s := range r.out {
		total += int64(len(s))
		if total > b.opt.MaxBytes {
			return nil, errorf(ErrLimit, "%s: templates produced more than %d bytes", sources.QuotePath(chartRepoPath(dir, name)), b.opt.MaxBytes)
		}
	}
	return r.out, nil
}

// ignoreRules are a chart's .helmignore rules (and Helm's defaults).
type ignoreRules struct{ r *ignore.Rules }

func helmIgnore(files sources.Tree, dir string) (ignoreRules, error) {
	p := path.Join(dir, ignore.HelmIgnore)
	rules := ignore.Empty()
	if files.Has(p) {
		data, err := readFile(files, p)
		if err != nil {
			return ignoreRules{}, err
		}
		if rules, err = ignore.Parse(strings.NewReader(string(data))); err != nil {
			return ignoreRules{}, errorf(ErrInvalid, "%s: %v", sources.QuotePath(p), err)
		}
	}
	rules.AddDefaults()
	return ignoreRules{rules}, nil
}

// ignored reports whether a chart file (or one of its folders) is ignored.
func (r ignoreRules) ignored(rel string) bool {
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		if r.r.Ignore(strings.Join(parts[:i], "/"), fileInfo{name: parts[i-1], dir: true}) {
			return true
		}
	}
	return r.r.Ignore(rel, fileInfo{name: parts[len(parts)-1]})
}

// fileInfo is the os.FileInfo the ignore rules look at (name and folder).
type fileInfo struct {
	name string
	dir  bool
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return 0 }
func (f fileInfo) Mode() os.FileMode  { return 0o644 }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.dir }
func (f fileInfo) Sys() any           { return nil }
