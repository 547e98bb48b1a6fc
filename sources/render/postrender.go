package render

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/trueup-dev/trueup/sources"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// PostRender is a kustomization run over a chart's objects, as Flux's
// HelmRelease postRenderers and Argo CD's Helm-with-kustomize do: the
// chart's objects (hooks left out) are added to the kustomization's
// resources, so its patches, images, labels, namespace and replicas apply
// to them. Its own resources are added to the output.
type PostRender struct {
	// Files is the tree the kustomization lives in (the target's source,
	// which may differ from the chart's when the chart is remote).
	Files sources.Tree
	// Kustomization is the folder holding the kustomization file, from
	// the repository root.
	Kustomization string
}

// PostRenderOutput is the in-memory file, next to the kustomization file,
// that holds the chart's objects during a post-render. The kustomization
// must not list it (trueup adds it first in resources) and its folder must
// not hold a file of that name.
const PostRenderOutput = "helm-output.yaml"

// postRenderIndex is set, in the build that tracks origins only, on each
// chart object to find its template after kustomize renamed it.
const postRenderIndex = "trueup.dev/post-render-index"

// postRender runs the kustomization of pr over the objects of a chart
// render, within the render's budget. Unless applyHooks, hook objects of
// its output are set aside like the chart's.
func postRender(chart *Result, pr PostRender, applyHooks bool, b *budget) (*Result, error) {
	dir, err := cleanTarget(pr.Kustomization)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", pr.Kustomization, err)
	}
	kfile := KustomizationFile(pr.Files, dir)
	if kfile == "" {
		return nil, errorf(ErrNotFound, "%s: no kustomization.yaml: render.helm.postRender.kustomization must name a folder of the "+
			"target's source that holds one", sources.QuotePath(dir))
	}
	outFile := path.Join(dir, PostRenderOutput)
	if pr.Files.Has(outFile) {
		return nil, errorf(ErrInvalid, "%s: the post-render adds the chart's objects as %s: rename that file", sources.QuotePath(outFile), PostRenderOutput)
	}
	// 1. Walk the kustomization as committed: kustomize reads it, not Helm.
	b.opt.lastKeyWins = false
	w := newKustInputs(pr.Files, b)
	docs, err := w.parse(kfile)
	if err != nil {
		return nil, err
	}
	if listsOutput(docs) {
		return nil, errorf(ErrInvalid, "%s: resources lists %s: leave it out, trueup adds the chart's objects itself", kfile, PostRenderOutput)
	}
	est, err := w.walkDir(dir, false)
	if err != nil {
		return nil, err
	}
	// 2. Check the limits before kustomize runs: the chart's objects were
	// counted once; the output is counted instead.
	b.objects -= len(chart.Objects)
	if est.objects > int64(b.opt.MaxObjects-b.objects-len(chart.Objects)) {
		return nil, errorf(ErrLimit, "%s: would build more than %d objects", kfile, b.opt.MaxObjects)
	}
	plain, err := chartManifest(chart.Objects, false)
	if err != nil {
		return nil, err
	}
	if err := b.read(outFile, len(plain)); err != nil {
		return nil, err
	}
	if est.bytes+int64(len(plain)) > b.opt.MaxBytes {
		return nil, errorf(ErrLimit, "%s: would build more than %d bytes", kfile, b.opt.MaxBytes)
	}
	// 3. Build with the chart's objects first in resources.
	kust, err := withResource(w.include[kfile], PostRenderOutput)
	if err != nil {
		return nil, errorf(ErrInvalid, "%s: %v", kfile, err)
	}
	out, err := w.build(dir, map[string][]byte{kfile: kust, outFile: plain})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kfile, err)
	}
	if err := b.add(kfile, out.Size()); err != nil {
		return nil, err
	}
	// 4. Origins: a chart object keeps its template; others as kustomize's.
	tracked := w.postRenderTracked(dir, kfile, kust, chart.Objects)
	res := &Result{Mode: ModeHelm, Hooks: slices.Clone(chart.Hooks)}
	for i, r := range out.Resources() {
		obj, err := w.object(kfile, i, r)
		if err != nil {
			return nil, err
		}
		o, ko := w.postRenderOrigin(dir, kfile, obj, tracked[r.CurId().String()], chart.Objects)
		so := sources.Object{Object: obj, Origin: o}
		if ev := obj.GetAnnotations()[hookAnnotation]; ev != "" && !applyHooks {
			// A hook of the kustomization's own resources is set aside
			// as the chart's are.
			res.Hooks = append(res.Hooks, Hook{Object: describeObject(so), Events: ev, Origin: o})
			continue
		}
		res.Objects = append(res.Objects, so)
		res.Kustomize = append(res.Kustomize, ko)
	}
	if err := checkDuplicates(res.Objects); err != nil {
		return nil, err
	}
	return res, nil
}

// listsOutput reports whether a kustomization lists PostRenderOutput.
func listsOutput(docs []decodedDoc) bool {
	if len(docs) == 0 {
		return false
	}
	k, _ := docs[0].value.(map[string]any)
	return slices.ContainsFunc(stringsOf(k["resources"]), func(r string) bool { return path.Clean(r) == PostRenderOutput })
}

// chartManifest writes the chart's objects as one multi-document YAML
// file; indexed marks each with its position (postRenderIndex).
func chartManifest(objs []sources.Object, indexed bool) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		obj := o.Object
		if indexed {
			obj = obj.DeepCopy()
			ann := obj.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[postRenderIndex] = strconv.Itoa(i)
			obj.SetAnnotations(ann)
		}
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", docID(o.Origin.File, o.Origin.Index), err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes(), nil
}

// withResource returns the kustomization with file first in its resources.
func withResource(data []byte, file string) ([]byte, error) {
	rn, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, err
	}
	seq, err := rn.Pipe(kyaml.LookupCreate(kyaml.SequenceNode, "resources"))
	if err != nil {
		return nil, err
	}
	if seq == nil || seq.YNode().Kind != kyaml.SequenceNode {
		return nil, fmt.Errorf("resources is not a list")
	}
	seq.YNode().Content = append([]*kyaml.Node{kyaml.NewStringRNode(file).YNode()}, seq.YNode().Content...)
	out, err := rn.String()
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// postRenderTracked builds again with origin tracking and each chart
// object marked with its index, and returns the resources by identity
// (empty when that build fails: origins are then looked up by name).
func (w *kustInputs) postRenderTracked(dir, kfile string, kust []byte, objs []sources.Object) map[string]*resource.Resource {
	byID := map[string]*resource.Resource{}
	injected, ok := withOriginTracking(kust)
	if !ok {
		return byID
	}
	marked, err := chartManifest(objs, true)
	if err != nil {
		return byID
	}
	tracked, err := w.build(dir, map[string][]byte{kfile: injected, path.Join(dir, PostRenderOutput): marked})
	if err != nil {
		return byID
	}
	for _, r := range tracked.Resources() {
		byID[r.CurId().String()] = r
	}
	return byID
}

// postRenderOrigin is the origin of one post-rendered object: a chart
// object keeps its template's, with the kustomization's transformers; an
// object of the kustomization's own resources gets kustomize's.
func (w *kustInputs) postRenderOrigin(dir, kfile string, obj *unstructured.Unstructured, tracked *resource.Resource, chart []sources.Object) (sources.Origin, KustomizeOrigin) {
	fromChart := func(o sources.Origin) (sources.Origin, KustomizeOrigin) {
		ko := KustomizeOrigin{File: o.File}
		if tracked != nil {
			ko.Transformers = transformers(dir, tracked)
		}
		return o, ko
	}
	if tracked != nil {
		if i, err := strconv.Atoi(tracked.GetAnnotations()[postRenderIndex]); err == nil && i >= 0 && i < len(chart) {
			return fromChart(chart[i].Origin)
		}
		if ownResource(tracked) {
			return w.origin(dir, kfile, obj, tracked)
		}
	}
	// A patch dropped the mark (and kustomize's origin with it), or the
	// tracked build failed: look the object up among the chart's by kind
	// and name, then among the kustomization's own resources.
	if o, ok := chartCandidate(obj, chart); ok {
		return fromChart(o)
	}
	return w.origin(dir, kfile, obj, tracked)
}

// ownResource reports whether kustomize recorded that r comes from the
// kustomization's own resources or generators. (When a patch dropped the
// origin annotation, kustomize reports the transformer that last changed r
// instead, with no path.)
func ownResource(r *resource.Resource) bool {
	ro, _ := r.GetOrigin()
	if ro == nil {
		return false
	}
	return (ro.Path != "" && path.Clean(ro.Path) != PostRenderOutput) || strings.HasSuffix(ro.ConfiguredBy.Kind, "Generator")
}

// chartCandidate finds the chart object obj was made from: same group and
// kind, and a name a prefix or suffix may have grown into obj's (the
// longest such name).
func chartCandidate(obj *unstructured.Unstructured, chart []sources.Object) (sources.Origin, bool) {
	gvk := obj.GroupVersionKind()
	best, found := -1, false
	var origin sources.Origin
	for _, c := range chart {
		cg := c.Object.GroupVersionKind()
		if cg.Group != gvk.Group || cg.Kind != gvk.Kind || !strings.Contains(obj.GetName(), c.Object.GetName()) {
			continue
		}
		if n := len(c.Object.GetName()); n > best {
			best, found, origin = n, true, c.Origin
		}
	}
	return origin, found
}
