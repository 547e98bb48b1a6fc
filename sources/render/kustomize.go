package render

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/trueup-dev/trueup/sources"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// KustomizeOrigin is what kustomize recorded about where one object came
// from, with paths relative to the repository root.
type KustomizeOrigin struct {
	// File is the resource file the object was read from; empty for a
	// generated object or when kustomize lost track of it.
	File string `json:"file,omitempty"`
	// GeneratedBy is set for an object made by a generator
	// (configMapGenerator, secretGenerator, ...).
	GeneratedBy *KustomizeStep `json:"generatedBy,omitempty"`
	// Transformers are the transformers that ran over the object after it
	// was read or generated, in order: base before overlay. kustomize
	// records every transformer of every kustomization the object passed
	// through, whether or not it changed this object.
	Transformers []KustomizeStep `json:"transformers,omitempty"`
}

// KustomizeStep is one generator or transformer and where it is configured.
type KustomizeStep struct {
	// ConfiguredIn is the kustomization (or plugin configuration) file.
	ConfiguredIn string `json:"configuredIn"`
	// Kind is the builtin plugin, e.g. PatchTransformer, ConfigMapGenerator.
	Kind string `json:"kind"`
}

// kustomizeMu serialises kustomize builds: kustomize keeps process-wide
// state (the kyaml OpenAPI schema) that concurrent builds race on. Flux's
// kustomize-controller serialises its builds the same way.
var kustomizeMu sync.Mutex

// renderKustomize builds the kustomization in dir.
func renderKustomize(files sources.Tree, dir string, b *budget) ([]sources.Object, []KustomizeOrigin, error) {
	kfile := KustomizationFile(files, dir)
	w := newKustInputs(files, b)
	est, err := w.walkDir(dir, false)
	if err != nil {
		return nil, nil, err
	}
	if est.objects > int64(b.opt.MaxObjects-b.objects) {
		return nil, nil, errorf(ErrLimit, "%s: would build more than %d objects", kfile, b.opt.MaxObjects)
	}
	if est.bytes > b.opt.MaxBytes {
		return nil, nil, errorf(ErrLimit, "%s: would build more than %d bytes", kfile, b.opt.MaxBytes)
	}
	// The build that counts runs on the files exactly as committed, so the
	// objects are those of `kustomize build`.
	out, err := w.build(dir, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", kfile, err)
	}
	if err := b.add(kfile, out.Size()); err != nil {
		return nil, nil, err
	}
	tracked := w.trackedBuild(dir, kfile, out)
	objs := make([]sources.Object, 0, out.Size())
	kos := make([]KustomizeOrigin, 0, out.Size())
	for i, r := range out.Resources() {
		obj, err := w.object(kfile, i, r)
		if err != nil {
			return nil, nil, err
		}
		o, ko := w.origin(dir, kfile, obj, tracked[r.CurId().String()])
		objs = append(objs, sources.Object{Object: obj, Origin: o})
		kos = append(kos, ko)
	}
	return objs, kos, nil
}

// trackedBuild returns the resources of a build with origin tracking
// switched on, by identity. Tracking adds annotations during the build,
// which a patch can see, so these resources are used for origins only.
// When the kustomization tracks origins itself, out already has them; when
// the tracked build fails, origins are looked up without it.
func (w *kustInputs) trackedBuild(dir, kfile string, out resmap.ResMap) map[string]*resource.Resource {
	tracked := out
	if !userTracksOrigins(w.docs[kfile]) {
		tracked = nil
		if injected, ok := withOriginTracking(w.include[kfile]); ok {
			tracked, _ = w.build(dir, map[string][]byte{kfile: injected})
		}
	}
	byID := map[string]*resource.Resource{}
	if tracked != nil {
		for _, r := range tracked.Resources() {
			byID[r.CurId().String()] = r
		}
	}
	return byID
}

// build runs kustomize over the admitted files, some of them replaced
// (or added) by replace.
func (w *kustInputs) build(dir string, replace map[string][]byte) (m resmap.ResMap, err error) {
	fs := filesys.MakeFsInMemory()
	for p, data := range w.include {
		if r, ok := replace[p]; ok {
			data = r
		}
		if err := fs.WriteFile(fsPath(p), data); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	for p, data := range replace {
		if _, admitted := w.include[p]; admitted {
			continue
		}
		// A file trueup adds (a post-render's chart output).
		if err := fs.WriteFile(fsPath(p), data); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	opts := &krusty.Options{
		Reorder:          krusty.ReorderOptionUnspecified,
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	}
	kustomizeMu.Lock()
	defer kustomizeMu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			// kustomize panics on an invalid custom OpenAPI schema, leaving
			// its global schema half set up.
			openapi.ResetOpenAPI()
			m, err = nil, &kindError{kind: ErrKustomize, msg: escapeControl(fmt.Sprintf("kustomize build: panic: %v", p)), panicked: true}
		}
	}()
	if w.openAPI {
		// A custom schema would otherwise stay in force for later builds.
		defer openapi.ResetOpenAPI()
	}
	m, err = krusty.MakeKustomizer(opts).Run(fs, fsPath(dir))
	if err != nil {
		return nil, &kindError{kind: ErrKustomize, msg: escapeControl("kustomize build: " + strings.ReplaceAll(err.Error(), "\n", " ")), cause: err}
	}
	return m, nil
}

// fsPath is where a repository path lives in kustomize's filesystem.
func fsPath(p string) string {
	if p == "." {
		return "/"
	}
	return "/" + p
}

// object converts one built resource.
func (w *kustInputs) object(kfile string, i int, r *resource.Resource) (*unstructured.Unstructured, error) {
	id := fmt.Sprintf("%s: output[%d] %s", kfile, i, r.CurId())
	j, err := r.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	v, err := unmarshalJSON(id, j)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(ErrInvalid, "%s: not an object", id)
	}
	return newObject(id, m)
}

// origin turns what the tracked build recorded into an Origin. Objects
// whose origin kustomize lost (a patch replaced their annotations) are
// looked up by kind and name in the resource files of the build; failing
// that, their origin is the kustomization file.
func (w *kustInputs) origin(dir, kfile string, obj *unstructured.Unstructured, tracked *resource.Resource) (sources.Origin, KustomizeOrigin) {
	var ko KustomizeOrigin
	var ro *resource.Origin
	if tracked != nil {
		ro, _ = tracked.GetOrigin()
		ko.Transformers = transformers(dir, tracked)
	}
	switch {
	case ro != nil && ro.Path != "" && ro.Repo == "":
		ko.File = repoPath(dir, ro.Path)
		index := 0
		if c := w.candidates(obj, ko.File); len(c) > 0 {
			index = c[0].index
		}
		return sources.Origin{File: ko.File, Index: index}, ko
	case ro != nil && ro.ConfiguredIn != "" && strings.HasSuffix(ro.ConfiguredBy.Kind, "Generator"):
		ko.GeneratedBy = &KustomizeStep{ConfiguredIn: repoPath(dir, ro.ConfiguredIn), Kind: ro.ConfiguredBy.Kind}
		return sources.Origin{File: ko.GeneratedBy.ConfiguredIn}, ko
	}
	for _, f := range w.resources {
		if c := w.candidates(obj, f); len(c) > 0 {
			ko.File = f
			return sources.Origin{File: f, Index: c[0].index}, ko
		}
	}
	return sources.Origin{File: kfile}, ko
}

// transformers lists the transformers a tracked build recorded on r.
func transformers(dir string, r *resource.Resource) []KustomizeStep {
	var out []KustomizeStep
	ts, _ := r.GetTransformations()
	for _, t := range ts {
		if t == nil || t.ConfiguredIn == "" {
			continue
		}
		step := KustomizeStep{ConfiguredIn: repoPath(dir, t.ConfiguredIn), Kind: t.ConfiguredBy.Kind}
		// kustomize records some transformers once per field entry.
		if n := len(out); n == 0 || out[n-1] != step {
			out = append(out, step)
		}
	}
	return out
}

// repoPath turns a path kustomize recorded relative to the build directory
// into a repository path.
func repoPath(dir, p string) string {
	return path.Join(dir, filepath.ToSlash(p))
}

// docMeta is the identity of one document of a resource file.
type docMeta struct {
	index             int
	group, kind, name string
}

// metas lists the objects written in a resource file.
func (w *kustInputs) metas(file string) []docMeta {
	if m, ok := w.metaCache[file]; ok {
		return m
	}
	var out []docMeta
	defer func() { w.metaCache[file] = out }()
	for _, d := range w.docs[file] {
		objs, err := objectsOf(file, d)
		if err != nil {
			continue
		}
		for _, o := range objs {
			out = append(out, docMeta{index: d.index, group: o.Object.GroupVersionKind().Group, kind: o.Object.GetKind(), name: o.Object.GetName()})
		}
	}
	return out
}

// candidates returns the documents of file that may have become obj: same
// group and kind, and a name that kustomize's prefix and suffix may have
// grown into obj's, best first.
func (w *kustInputs) candidates(obj *unstructured.Unstructured, file string) []docMeta {
	gvk := obj.GroupVersionKind()
	var out []docMeta
	for _, m := range w.metas(file) {
		if m.group == gvk.Group && m.kind == gvk.Kind && strings.Contains(obj.GetName(), m.name) {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b docMeta) int {
		return len(b.name) - len(a.name) // longest (most specific) name first
	})
	return out
}

// userTracksOrigins reports whether the kustomization already asks for
// origin annotations, which then stay in the output as kustomize writes it.
func userTracksOrigins(docs []decodedDoc) bool {
	if len(docs) == 0 {
		return false
	}
	k, _ := docs[0].value.(map[string]any)
	return slices.Contains(stringsOf(k["buildMetadata"]), kustypes.OriginAnnotations)
}

// withOriginTracking returns the kustomization with origin and transformer
// annotations switched on.
func withOriginTracking(data []byte) ([]byte, bool) {
	rn, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, false
	}
	seq, err := rn.Pipe(kyaml.LookupCreate(kyaml.SequenceNode, "buildMetadata"))
	if err != nil || seq == nil || seq.YNode().Kind != kyaml.SequenceNode {
		return nil, false
	}
	for _, opt := range []string{kustypes.OriginAnnotations, kustypes.TransformerAnnotations} {
		have := slices.ContainsFunc(seq.YNode().Content, func(n *kyaml.Node) bool { return n.Value == opt })
		if !have {
			seq.YNode().Content = append(seq.YNode().Content, kyaml.NewStringRNode(opt).YNode())
		}
	}
	out, err := rn.String()
	if err != nil {
		return nil, false
	}
	return []byte(out), true
}
