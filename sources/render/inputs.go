package render

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/trueup-dev/trueup/sources"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
)

// kustInputs walks a kustomization and everything it refers to before
// kustomize runs. The walk is the allow-list of what kustomize may read: only
// the files it admits are put in kustomize's in-memory filesystem, so a field
// the walk does not know makes the build fail ("not found") instead of
// reading something unchecked. On the way it refuses remote references,
// absolute paths, paths above the repository root, Helm charts and plugins
// that are not builtin, and checks every file kustomize will parse as YAML
// against the limits.
type kustInputs struct {
	files sources.Tree
	dirs  map[string]bool
	b     *budget
	// include holds every file kustomize may read, and its content.
	include map[string][]byte
	// docs holds the checked documents of every file kustomize parses.
	docs map[string][]decodedDoc
	// resources lists resource files in walk order, to locate objects.
	resources []string
	seen      map[string]bool
	estimates map[string]estimate
	metaCache map[string][]docMeta
	// openAPI is set when a kustomization chooses its OpenAPI schema.
	openAPI bool
}

func newKustInputs(files sources.Tree, b *budget) *kustInputs {
	dirs := map[string]bool{".": true}
	for _, p := range files.Paths() {
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	return &kustInputs{
		files: files, dirs: dirs, b: b,
		include: map[string][]byte{}, docs: map[string][]decodedDoc{}, seen: map[string]bool{}, estimates: map[string]estimate{}, metaCache: map[string][]docMeta{},
	}
}

// KustomizationFile returns the kustomization file of dir (any name
// kustomize recognises), or "".
func KustomizationFile(files sources.Tree, dir string) string {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if files.Has(path.Join(dir, n)) {
			return path.Join(dir, n)
		}
	}
	return ""
}

// parse checks and decodes a file kustomize reads as YAML, once.
func (w *kustInputs) parse(file string) ([]decodedDoc, error) {
	if docs, ok := w.docs[file]; ok {
		return docs, nil
	}
	data, err := w.data(file)
	if err != nil {
		return nil, err
	}
	docs, err := decodeFile(file, data, w.b)
	if err != nil {
		return nil, err
	}
	w.docs[file] = docs
	return docs, nil
}

// data admits a file kustomize reads without parsing it (generator
// sources), reading it once.
func (w *kustInputs) data(file string) ([]byte, error) {
	if data, ok := w.include[file]; ok {
		return data, nil
	}
	data, err := readFile(w.files, file)
	if err != nil {
		return nil, err
	}
	w.include[file] = data
	return data, w.b.read(file, len(data))
}

// walkDir walks the kustomization in dir and estimates what it builds. In
// plugin mode (a directory listed under generators, transformers or
// validators) its resources are plugin configurations.
func (w *kustInputs) walkDir(dir string, plugins bool) (estimate, error) {
	key := fmt.Sprintf("%s|%t", dir, plugins)
	if w.seen[key] {
		return w.estimates[key], nil // a cycle is left to kustomize to report
	}
	w.seen[key] = true
	est, err := w.walkKustomization(dir, plugins)
	w.estimates[key] = est
	return est, err
}

func (w *kustInputs) walkKustomization(dir string, plugins bool) (estimate, error) {
	kfile := ""
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, n)
		if !w.files.Has(p) {
			continue
		}
		// All of them are admitted, so kustomize reports the ambiguity.
		if _, err := w.parse(p); err != nil {
			return estimate{}, err
		}
		if kfile == "" {
			kfile = p
		}
	}
	if kfile == "" {
		return estimate{}, errorf(ErrNotFound, "%s: no kustomization file", dir)
	}
	docs := w.docs[kfile]
	if len(docs) == 0 {
		return estimate{}, nil // kustomize reports the empty kustomization
	}
	k, ok := docs[0].value.(map[string]any)
	if !ok {
		return estimate{}, nil // kustomize reports the malformed kustomization
	}
	r := refs{w: w, kfile: kfile, dir: path.Dir(kfile), est: &estimate{}}
	err := r.kustomization(k, plugins)
	return *r.est, err
}

// kustomization checks the fields of one kustomization that name files.
func (r refs) kustomization(k map[string]any, plugins bool) error {
	for _, f := range []string{"helmCharts", "helmGlobals", "helmChartInflationGenerator"} {
		if v, ok := k[f]; ok && v != nil {
			return errorf(ErrUnsupported, "%s: %s: helm charts are not supported", r.kfile, f)
		}
	}
	resource := func(field, v string) error { return r.resource(field, v, plugins) }
	steps := []func() error{
		func() error { return r.each(k, "resources", resource) },
		func() error { return r.each(k, "bases", resource) },
		func() error { return r.each(k, "components", resource) },
		func() error { return r.each(k, "generators", r.plugin) },
		func() error { return r.each(k, "transformers", r.uncounted().plugin) },
		func() error { return r.each(k, "validators", r.uncounted().plugin) },
		func() error { return r.each(k, "crds", r.yamlFile) },
		func() error { return r.each(k, "configurations", r.yamlFile) },
		func() error { return r.each(k, "patchesStrategicMerge", r.fileOrInline) },
		func() error { return r.patches(k, "patches") },
		func() error { return r.patches(k, "patchesJson6902") },
		func() error { return r.patches(k, "replacements") },
		func() error { return r.generatorArgs(k, "configMapGenerator") },
		func() error { return r.generatorArgs(k, "secretGenerator") },
		func() error { return r.openAPI(k) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// refs resolves the references of one kustomization file and estimates
// what it builds.
type refs struct {
	w     *kustInputs
	kfile string
	dir   string
	est   *estimate
}

// uncounted returns refs whose estimate is thrown away: transformers and
// validators make no objects.
func (r refs) uncounted() refs {
	r.est = &estimate{}
	return r
}

// each calls fn for every string in the list field f of m.
func (r refs) each(m map[string]any, f string, fn func(field, value string) error) error {
	if v, ok := m[f].(string); ok {
		return fn(f, v)
	}
	for i, v := range stringsOf(m[f]) {
		if err := fn(fmt.Sprintf("%s[%d]", f, i), v); err != nil {
			return err
		}
	}
	return nil
}

// resolve turns a reference into a repository path, refusing anything that
// is not a relative path inside the repository.
func (r refs) resolve(field, v string) (string, error) {
	switch {
	case isRemote(v):
		return "", errorf(ErrRemote, "%s: %s %q: remote references are not allowed", r.kfile, field, v)
	case path.IsAbs(v):
		return "", errorf(ErrRemote, "%s: %s %q: absolute paths are not allowed", r.kfile, field, v)
	}
	p := path.Join(r.dir, v)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", errorf(ErrRemote, "%s: %s %q: path leaves the repository", r.kfile, field, v)
	}
	return p, nil
}

func (r refs) notFound(field, v string) error {
	return errorf(ErrNotFound, "%s: %s %q: no such file or directory in the repository", r.kfile, field, v)
}

// resource admits a resource file or walks a base or component directory.
func (r refs) resource(field, v string, plugins bool) error {
	p, err := r.resolve(field, v)
	if err != nil {
		return err
	}
	if r.w.files.Has(p) {
		docs, err := r.w.parse(p)
		if err != nil {
			return err
		}
		r.est.add(docsEstimate(docs))
		if plugins {
			return r.pluginDocs(p, docs)
		}
		if !slices.Contains(r.w.resources, p) {
			r.w.resources = append(r.w.resources, p)
		}
		return nil
	}
	if !r.w.dirs[p] {
		return r.notFound(field, v)
	}
	if KustomizationFile(r.w.files, p) == "" {
		return errorf(ErrNotFound, "%s: %s %q: directory has no kustomization file", r.kfile, field, v)
	}
	est, err := r.w.walkDir(p, plugins)
	r.est.add(est)
	return err
}

// plugin admits a generator, transformer or validator entry: an inline
// configuration, a file of configurations, or a kustomization directory.
func (r refs) plugin(field, v string) error {
	docs, inline, err := r.inline(field, v)
	if err != nil {
		return err
	}
	if inline {
		r.est.add(docsEstimate(docs))
		return r.pluginDocs(r.kfile+": "+field, docs)
	}
	return r.resource(field, v, true)
}

// inline checks a string that kustomize may parse as inline YAML and says
// whether it is one (a mapping), rather than a path.
func (r refs) inline(field, v string) ([]decodedDoc, bool, error) {
	docs, err := decodeFile(r.kfile+": "+field, []byte(v), r.w.b)
	if errors.Is(err, ErrLimit) {
		return nil, false, err
	}
	if err != nil || len(docs) == 0 {
		return nil, false, nil
	}
	for _, d := range docs {
		if _, ok := d.value.(map[string]any); !ok {
			return nil, false, nil
		}
	}
	return docs, true, nil
}

// yamlFile admits a file kustomize parses.
func (r refs) yamlFile(field, v string) error {
	p, err := r.resolve(field, v)
	if err != nil {
		return err
	}
	if !r.w.files.Has(p) {
		return r.notFound(field, v)
	}
	_, err = r.w.parse(p)
	return err
}

// dataFile admits a file kustomize reads as data.
func (r refs) dataFile(field, v string) error {
	p, err := r.resolve(field, v)
	if err != nil {
		return err
	}
	if !r.w.files.Has(p) {
		return r.notFound(field, v)
	}
	data, err := r.w.data(p)
	r.est.add(estimate{bytes: int64(len(data))})
	return err
}

// fileOrInline admits a strategic-merge patch given as a file or inline.
func (r refs) fileOrInline(field, v string) error {
	if _, inline, err := r.inline(field, v); err != nil || inline {
		return err
	}
	return r.yamlFile(field, v)
}

// patches admits the files of patches, patchesJson6902 and replacements
// and checks their inline patches.
func (r refs) patches(k map[string]any, f string) error {
	for i, item := range list(k[f]) {
		m, _ := item.(map[string]any)
		field := fmt.Sprintf("%s[%d]", f, i)
		if p, ok := m["path"].(string); ok && p != "" {
			if err := r.yamlFile(field+".path", p); err != nil {
				return err
			}
		}
		if p, ok := m["patch"].(string); ok {
			if _, _, err := r.inline(field+".patch", p); err != nil {
				return err
			}
		}
	}
	return nil
}

// generatorArgs admits the files of configMapGenerator and secretGenerator.
func (r refs) generatorArgs(k map[string]any, f string) error {
	for i, item := range list(k[f]) {
		m, _ := item.(map[string]any)
		r.est.add(estimate{objects: 1})
		for _, l := range stringsOf(m["literals"]) {
			r.est.add(estimate{bytes: int64(len(l))})
		}
		if err := r.sources(fmt.Sprintf("%s[%d]", f, i), m); err != nil {
			return err
		}
	}
	return nil
}

// sources admits the files, envs and env of generator arguments.
func (r refs) sources(field string, m map[string]any) error {
	prefix := field
	if prefix != "" {
		prefix += "."
	}
	for i, v := range stringsOf(m["files"]) {
		if _, p, ok := strings.Cut(v, "="); ok {
			v = p
		}
		if err := r.dataFile(fmt.Sprintf("%sfiles[%d]", prefix, i), v); err != nil {
			return err
		}
	}
	envs := stringsOf(m["envs"])
	if e, ok := m["env"].(string); ok && e != "" {
		envs = append(envs, e)
	}
	for i, v := range envs {
		if err := r.dataFile(fmt.Sprintf("%senvs[%d]", prefix, i), v); err != nil {
			return err
		}
	}
	return nil
}

func (r refs) openAPI(k map[string]any) error {
	if _, ok := k["openapi"]; ok {
		r.w.openAPI = true
	}
	m, _ := k["openapi"].(map[string]any)
	if p, ok := m["path"].(string); ok && p != "" {
		return r.yamlFile("openapi.path", p)
	}
	return nil
}

// builtinPlugins are the plugin kinds kustomize runs in process.
var builtinPlugins = krusty.GetBuiltinPluginNames()

// pluginDocs checks plugin configurations (documents of where, a file or
// an inline entry): builtins only, no Helm, and the files they name are
// admitted like those of a kustomization, relative to its directory.
func (r refs) pluginDocs(where string, docs []decodedDoc) error {
	for _, d := range docs {
		m, ok := d.value.(map[string]any)
		if !ok {
			continue
		}
		pr := refs{w: r.w, kfile: docID(where, d.index), dir: r.dir}
		kind, _ := m["kind"].(string)
		apiVersion, _ := m["apiVersion"].(string)
		if apiVersion != konfig.BuiltinPluginApiVersion || !slices.Contains(builtinPlugins, kind) {
			return errorf(ErrUnsupported, "%s: plugin %s/%s: only builtin plugins are allowed (no exec, Go or function plugins)", pr.kfile, apiVersion, kind)
		}
		if kind == "HelmChartInflationGenerator" {
			return errorf(ErrUnsupported, "%s: helm charts are not supported", pr.kfile)
		}
		if err := pr.pluginFields(m); err != nil {
			return err
		}
	}
	return nil
}

// pluginFields admits the files a builtin plugin configuration names:
// path (PatchTransformer, PatchJson6902Transformer), paths and patches
// (PatchStrategicMergeTransformer), patch, targetFilePath
// (ValueAddTransformer), replacements[].path (ReplacementTransformer), and
// files, envs and env (ConfigMapGenerator, SecretGenerator).
func (r refs) pluginFields(m map[string]any) error {
	steps := []func() error{
		func() error { return r.each(m, "path", r.yamlFile) },
		func() error { return r.each(m, "targetFilePath", r.yamlFile) },
		func() error { return r.each(m, "paths", r.fileOrInline) },
		func() error { return r.inlineField(m, "patch") },
		func() error { return r.inlineField(m, "patches") },
		func() error { return r.patches(m, "replacements") },
		func() error { return r.sources("", m) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// inlineField checks the inline YAML in the string field f of m.
func (r refs) inlineField(m map[string]any, f string) error {
	if s, ok := m[f].(string); ok {
		_, _, err := r.inline(f, s)
		return err
	}
	return nil
}

// remoteUser matches the "user@" of an scp-style git URL.
var remoteUser = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`) })

// isRemote reports whether kustomize would fetch v over the network: any
// URL scheme, an scp-style git address, or a GitHub shorthand. It is a
// superset of what kustomize's loader treats as remote.
func isRemote(v string) bool {
	s := strings.ToLower(strings.TrimSpace(v))
	s = strings.TrimPrefix(s, "git::")
	return strings.Contains(s, "://") || remoteUser().MatchString(s) ||
		strings.HasPrefix(s, "github.com/") || strings.HasPrefix(s, "github.com:")
}

// list returns v as a list, or nil.
func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// stringsOf returns the strings of v: a list of strings, or one string.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
