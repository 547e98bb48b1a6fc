package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/sources"
)

// ModeHelm: a Helm chart rendered with the Helm library, as `helm template`.
const ModeHelm Mode = "helm"

// DefaultHelmTimeout bounds the template execution of one chart.
const DefaultHelmTimeout = 30 * time.Second

// ErrHelm: Helm refused the chart, its values or a template.
var ErrHelm = errors.New("helm render failed")

// HelmOptions say what chart to render and how.
type HelmOptions struct {
	// Chart is the chart folder in the tree, from the repository root.
	Chart string
	// Values are values files, merged in order over the chart's values.yaml.
	Values []ValuesFile
	// Set are dotted keys applied after the values files, in order.
	Set []SetValue
	// ReleaseName and Namespace are .Release.Name and .Release.Namespace.
	ReleaseName string
	Namespace   string
	// IncludeCRDs renders the crds/ folders of the chart and its
	// dependencies (before the templates, as `helm template --include-crds`).
	IncludeCRDs bool
	// KubeVersion is .Capabilities.KubeVersion ("": helm template's default).
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions.
	APIVersions []string
	// ApplyHooks keeps hook objects (helm.sh/hook) as ordinary objects;
	// otherwise they are left out and listed in Result.Hooks.
	ApplyHooks bool
	// Timeout bounds template execution (<= 0: DefaultHelmTimeout).
	Timeout time.Duration
	// PostRender, when set, runs a kustomization over the chart's objects.
	PostRender *PostRender
}

// ValuesFile is one values file: its name for messages and its content.
type ValuesFile struct {
	Name string
	Data []byte
}

// SetValue is one --set: String keeps the value a string (--set-string).
type SetValue struct {
	Key    string
	Value  string
	String bool
}

// Hook is a hook object a render left out.
type Hook struct {
	// Object names the object: "Job/batch shop/db-migrate".
	Object string
	// Events is the helm.sh/hook annotation (pre-install,post-upgrade).
	Events string
	Origin sources.Origin
}

// hookAnnotation marks a Helm hook object.
const hookAnnotation = "helm.sh/hook"

// RenderHelm renders the chart folder h.Chart of files with the Helm
// template engine. Nothing outside the tree is read: no dependency is
// downloaded, lookup fails, DNS functions return nothing.
func RenderHelm(ctx context.Context, files sources.Tree, h HelmOptions, opt Options) (*Result, error) {
	dir, err := cleanTarget(h.Chart)
	if err != nil {
		return nil, fmt.Errorf("render chart %q: %w", h.Chart, err)
	}
	opt.lastKeyWins = true // as Helm reads its own output
	b := newBudget(opt)
	res, err := renderHelm(ctx, files, dir, h, b)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", sources.QuotePath(dir), err)
	}
	if h.PostRender != nil {
		if res, err = postRender(res, *h.PostRender, h.ApplyHooks, b); err != nil {
			return nil, fmt.Errorf("post-render chart %s: %w", sources.QuotePath(dir), err)
		}
	}
	return res, nil
}

func renderHelm(ctx context.Context, files sources.Tree, dir string, h HelmOptions, b *budget) (*Result, error) {
	// 1. Read the chart folder and load it; its dependencies are vendored.
	buf, err := chartFiles(files, dir, b)
	if err != nil {
		return nil, err
	}
	ch, top, err := prepareChart(buf, dir, h)
	if err != nil {
		return nil, err
	}
	// 2. Execute the templates, bounded in time and output (and, in the
	// sandbox, in memory).
	out, err := executeTemplates(ctx, buf, ch, dir, top, h, b)
	if err != nil {
		return nil, err
	}
	// 3. Decode the output into objects, CRDs first, hooks set aside.
	return helmObjects(ch, dir, out, h, b)
}

// prepareChart loads the chart's files and computes the values its
// templates see: values files, then --set, then dependency conditions and
// imports, then the release and capabilities.
func prepareChart(buf []*archiveFile, dir string, h HelmOptions) (*chart.Chart, common.Values, error) {
	ch, err := loadChart(buf, dir)
	if err != nil {
		return nil, nil, err
	}
	vals, err := helmValues(h)
	if err != nil {
		return nil, nil, err
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return nil, nil, errorf(ErrHelm, "dependencies: %v", err)
	}
	caps, err := capabilities(h)
	if err != nil {
		return nil, nil, err
	}
	if kv := ch.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, nil, errorf(ErrHelm, "Chart.yaml: the chart needs kubeVersion %s, not %s: set render.helm.kubeVersion", kv, caps.KubeVersion.Version)
	}
	rel := common.ReleaseOptions{Name: h.ReleaseName, Namespace: h.Namespace, Revision: 1, IsInstall: true}
	top, err := commonutil.ToRenderValuesWithSchemaValidation(ch, vals, rel, caps, true)
	if err != nil {
		return nil, nil, errorf(ErrHelm, "values: %v", err)
	}
	// Helm's own schema check (skipped above) follows file: and http:
	// references in the schema; validateSchemas follows none.
	if err := validateSchemas(ch, asMap(top["Values"]), dir); err != nil {
		return nil, nil, err
	}
	return ch, top, nil
}

// chartFiles reads the files of the chart folder (honouring .helmignore),
// named relative to the folder.
func chartFiles(files sources.Tree, dir string, b *budget) ([]*archiveFile, error) {
	chartFile := path.Join(dir, helmChartFile)
	if dir == "." {
		chartFile = helmChartFile
	}
	if !files.Has(chartFile) {
		return nil, errorf(ErrNotFound, "%s: no Chart.yaml: render.helm.chart must name a chart folder", sources.QuotePath(dir))
	}
	rules, err := helmIgnore(files, dir)
	if err != nil {
		return nil, err
	}
	var buf []*archiveFile
	for _, p := range files.Paths() {
		rel, ok := relTo(dir, p)
		if !ok || rules.ignored(rel) {
			continue
		}
		data, err := readFile(files, p)
		if err != nil {
			return nil, err
		}
		if err := b.read(p, len(data)); err != nil {
			return nil, err
		}
		buf = append(buf, &archiveFile{Name: rel, Data: data})
	}
	return buf, nil
}

// loadChart loads a chart from its files and checks its dependencies are
// vendored.
func loadChart(buf []*archiveFile, dir string) (*chart.Chart, error) {
	ch, err := loader.LoadFiles(buf)
	if err != nil {
		return nil, errorf(ErrHelm, "load: %v", err)
	}
	if err := checkVendored(ch, dir); err != nil {
		return nil, err
	}
	return ch, nil
}

// checkVendored refuses a chart whose Chart.yaml dependencies are not in
// its charts/ folder: trueup never downloads them.
func checkVendored(ch *chart.Chart, where string) error {
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	for _, d := range ch.Metadata.Dependencies {
		if !have[d.Name] {
			return errorf(ErrNotFound, "%s: dependency %s %s from %s is not vendored in charts/: run `helm dependency build` "+
				"and commit the charts/ folder (trueup does not download dependencies)", sources.QuotePath(where), d.Name, d.Version, d.Repository)
		}
	}
	for _, d := range ch.Dependencies() {
		if err := checkVendored(d, where+"/charts/"+d.Name()); err != nil {
			return err
		}
	}
	return nil
}

// helmValues merges the values files in order, then applies --set.
func helmValues(h HelmOptions) (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range h.Values {
		cur := map[string]any{}
		if err := yaml.Unmarshal(f.Data, &cur); err != nil {
			return nil, errorf(ErrInvalid, "values %s: %v", sources.QuotePath(f.Name), err)
		}
		vals = loader.MergeMaps(vals, cur)
	}
	for _, s := range h.Set {
		kv := s.Key + "=" + escapeSet(s.Value)
		parse := strvals.ParseInto
		if s.String {
			parse = strvals.ParseIntoString
		}
		if err := parse(kv, vals); err != nil {
			return nil, errorf(ErrInvalid, "set %s: %v", s.Key, err)
		}
	}
	return vals, nil
}

// escapeSet escapes what strvals reads as syntax in a value.
func escapeSet(v string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`).Replace(v)
}

// capabilities are helm template's defaults with the target's versions.
func capabilities(h HelmOptions) (*common.Capabilities, error) {
	caps := common.DefaultCapabilities.Copy()
	if h.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(h.KubeVersion)
		if err != nil {
			return nil, errorf(ErrInvalid, "kubeVersion %q: %v", h.KubeVersion, err)
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, h.APIVersions...)
	return caps, nil
}

// helmObjects turns the rendered templates into objects: CRDs first, then
// templates in path order, each file's documents in order. NOTES.txt and
// partials are not manifests.
func helmObjects(ch *chart.Chart, dir string, out map[string]string, h HelmOptions, b *budget) (*Result, error) {
	res := &Result{Mode: ModeHelm}
	var units []helmUnit
	if h.IncludeCRDs {
		for _, c := range ch.CRDObjects() {
			units = append(units, helmUnit{file: chartRepoPath(dir, c.Filename), data: c.File.Data})
		}
	}
	for _, name := range slices.Sorted(mapsKeys(out)) {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" || strings.TrimSpace(out[name]) == "" {
			continue
		}
		units = append(units, helmUnit{file: chartRepoPath(dir, name), data: []byte(out[name])})
	}
	for _, u := range units {
		docs, err := decodeFile(u.file, u.data, b)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			objs, err := objectsOf(u.file, d)
			if err != nil {
				return nil, err
			}
			if err := b.add(docID(u.file, d.index), len(objs)); err != nil {
				return nil, err
			}
			for _, o := range objs {
				if ev := o.Object.GetAnnotations()[hookAnnotation]; ev != "" && !h.ApplyHooks {
					res.Hooks = append(res.Hooks, Hook{Object: describeObject(o), Events: ev, Origin: o.Origin})
					continue
				}
				res.Objects = append(res.Objects, o)
			}
		}
	}
	if err := checkDuplicates(res.Objects); err != nil {
		return nil, err
	}
	return res, nil
}

type helmUnit struct {
	file string
	data []byte
}

// chartRepoPath maps a rendered template name ("web/templates/a.yaml": the
// chart's name, then the path in the chart) to the repository path of the
// template (dir/templates/a.yaml). A dependency packaged as .tgz maps to
// the folder it would have (dir/charts/<name>/templates/...).
func chartRepoPath(dir, name string) string {
	_, rest, _ := strings.Cut(name, "/")
	if dir == "." {
		return rest
	}
	return dir + "/" + rest
}
