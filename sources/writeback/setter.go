package writeback

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/trueup-dev/trueup/drift"
	"k8s.io/apimachinery/pkg/labels"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// setterKind says what sets a field of a kustomize target's object.
type setterKind int

const (
	inResource setterKind = iota // the resource file defining the object
	inSMP                        // a strategic-merge patch
	inJSON6902                   // an operation of a JSON 6902 patch
	inReplicas                   // a replicas entry of a kustomization
	inImages                     // an images entry of a kustomization
	inLabels                     // labels or annotations set on every object
)

// setter is one place that sets the field.
type setter struct {
	kind  setterKind
	layer int // index in the site's chain
	patch *patchSrc
	chunk int      // document of the patch
	local []string // path of the field in the patch document
	// JSON 6902: the operation, its index, and the field's path below the
	// operation's path (empty when the operation sets the field itself).
	op      string
	opIndex int
	sub     []string
	entry   int   // replicas or images entry
	err     error // inLabels: why it is not written there
}

// setters lists what sets the field at r.tokens, the one that wins first:
// kustomizations from the target's down, and in each its transformers,
// then its patches last to first, then its components; finally the
// resource document.
func (s *kustSite) setters(r request, steps []step) ([]setter, error) {
	images := s.imageSetters(r.tokens, steps)
	var out []setter
	for k, l := range s.chain {
		if err := s.transformerField(k, r.tokens); err != nil {
			out = append(out, setter{kind: inLabels, layer: k, err: err})
		}
		if e, ok := s.replicaSetter(k, r.tokens); ok {
			out = append(out, setter{kind: inReplicas, layer: k, entry: e})
		}
		if e, ok := images[k]; ok {
			out = append(out, setter{kind: inImages, layer: k, entry: e})
		}
		var srcs []*patchSrc
		for _, c := range l.components {
			srcs = append(srcs, c.patches...)
		}
		srcs = append(srcs, l.patches...)
		for i := len(srcs) - 1; i >= 0; i-- {
			found, err := s.patchSetters(k, srcs[i], r.tokens, steps)
			if err != nil {
				return nil, err
			}
			out = append(out, found...)
		}
	}
	if local, ok := resolveSteps(s.doc, steps); ok {
		out = append(out, setter{kind: inResource, layer: len(s.chain) - 1, local: local})
	}
	return out, nil
}

// transformerField refuses a label or annotation that a kustomization sets
// on every object it builds: changing it there would change them all.
func (s *kustSite) transformerField(k int, tokens []string) error {
	n := len(tokens)
	if n < 2 {
		return nil
	}
	l := s.chain[k]
	parent, key := tokens[n-2], tokens[n-1]
	_, label := l.labels[key]
	_, annotation := l.annotations[key]
	switch {
	case label && (parent == "labels" || parent == "matchLabels" || (parent == "selector" && n == 3)):
		return inFile(l.file, fmt.Errorf("the label is set on every object by the kustomization's labels; change it there by hand: %w", ErrUnsupported))
	case annotation && parent == "annotations":
		return inFile(l.file, fmt.Errorf("the annotation is set on every object by the kustomization's commonAnnotations; change it there by hand: %w", ErrUnsupported))
	}
	return nil
}

// replicaSetter returns the replicas entry of chain[k] for the object.
func (s *kustSite) replicaSetter(k int, tokens []string) (int, bool) {
	if !equalStrings(tokens, []string{"spec", "replicas"}) {
		return 0, false
	}
	found, entry := false, 0
	for _, e := range s.chain[k].replicas {
		if slices.Contains(s.names[k:], e.name) {
			found, entry = true, e.index
		}
	}
	return entry, found
}

// isImagePath reports whether tokens name a container's image.
func isImagePath(tokens []string) bool {
	n := len(tokens)
	return n >= 3 && tokens[n-1] == "image" && (tokens[n-3] == "containers" || tokens[n-3] == "initContainers")
}

// imageSetters follows the image of the resource document through the
// images entries of the chain, inner kustomizations first, and returns the
// last entry of each kustomization that matched.
func (s *kustSite) imageSetters(tokens []string, steps []step) map[int]int {
	out := map[int]int{}
	if !isImagePath(tokens) {
		return out
	}
	local, ok := resolveSteps(s.doc, steps)
	if !ok {
		return out
	}
	d := &yamlDoc{root: s.doc}
	frames, rest, err := d.locate(local)
	if err != nil || len(rest) > 0 {
		return out
	}
	img := scalarString(frames[len(frames)-1].node)
	for k := len(s.chain) - 1; k >= 0; k-- {
		for _, e := range s.chain[k].images {
			if e.name == "" || imageName(img) != e.name {
				continue
			}
			img = applyImage(img, e)
			out[k] = e.index
		}
	}
	return out
}

// parseImage splits an image reference into name, tag and digest.
func parseImage(ref string) (name, tag, digest string) {
	name, digest, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

func imageName(ref string) string {
	n, _, _ := parseImage(ref)
	return n
}

// applyImage is what kustomize's images entry does to an image.
func applyImage(ref string, e imageEntry) string {
	name, tag, digest := parseImage(ref)
	if e.newName != "" {
		name = e.newName
	}
	switch {
	case e.digest != "":
		return name + "@" + e.digest
	case e.newTag != "":
		return name + ":" + e.newTag
	case digest != "":
		return name + "@" + digest
	case tag != "":
		return name + ":" + tag
	}
	return name
}

// patchSetters returns where a patch of chain[k] sets the field.
func (s *kustSite) patchSetters(k int, src *patchSrc, tokens []string, steps []step) ([]setter, error) {
	json := isJSONFile(src.file)
	if src.json6902 {
		if src.target == nil || !s.selects(src.target, k) {
			return nil, nil
		}
		return s.opSetters(k, src, json, tokens)
	}
	var out []setter
	chunks := splitChunks(src.text, json)
	for ci := len(chunks) - 1; ci >= 0; ci-- {
		c := chunks[ci]
		d, err := parseDoc(src.text[c.start:c.end], json)
		if err != nil {
			return nil, inFile(src.where(), err)
		}
		if d.root == nil || d.root.Kind != kyaml.MappingNode {
			continue
		}
		if src.target != nil && !s.selects(src.target, k) || src.target == nil && !s.patchNames(identOf(d.root), k) {
			continue
		}
		if local, ok := resolveSteps(d.root, steps); ok {
			out = append(out, setter{kind: inSMP, layer: k, patch: src, chunk: ci, local: local})
		}
	}
	return out, nil
}

// opSetters returns the operations of a JSON 6902 patch that set the
// field or a parent of it, last first.
func (s *kustSite) opSetters(k int, src *patchSrc, json bool, tokens []string) ([]setter, error) {
	d, err := parseDoc(src.text, json)
	if err != nil {
		return nil, inFile(src.where(), err)
	}
	var out []setter
	ops := items(d.root)
	for i := len(ops) - 1; i >= 0; i-- {
		op := scalarString(mapGet(ops[i], "op"))
		p, err := drift.SplitPointer(scalarString(mapGet(ops[i], "path")))
		if err != nil || len(p) > len(tokens) || !equalStrings(tokens[:len(p)], p) {
			continue
		}
		out = append(out, setter{kind: inJSON6902, layer: k, patch: src, op: op, opIndex: i, sub: tokens[len(p):]})
	}
	return out, nil
}

// patchNames reports whether a strategic-merge patch document names the
// object as chain[k] sees it.
func (s *kustSite) patchNames(id ident, k int) bool {
	if id.kind != s.res.id.kind || id.group() != s.res.id.group() || !slices.Contains(s.names[k:], id.name) {
		return false
	}
	return id.namespace == "" || slices.ContainsFunc(s.nss[k:], func(ns string) bool { return effectiveNS(ns) == effectiveNS(id.namespace) })
}

func effectiveNS(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// selects reports whether a patch target selects the object at chain[k],
// as kustomize's selectors do (anchored regular expressions, labels).
func (s *kustSite) selects(sel *selector, k int) bool {
	id := s.res.id
	group, version := id.group(), id.apiVersion
	if _, v, ok := strings.Cut(id.apiVersion, "/"); ok {
		version = v
	}
	if !matchRe(sel.group, group) || !matchRe(sel.version, version) || !matchRe(sel.kind, id.kind) {
		return false
	}
	if sel.name != "" && !slices.ContainsFunc(s.names[k:], func(n string) bool { return matchRe(sel.name, n) }) {
		return false
	}
	if sel.namespace != "" && !slices.ContainsFunc(s.nss[k:], func(n string) bool { return matchRe(sel.namespace, effectiveNS(n)) }) {
		return false
	}
	return matchLabels(sel.labelSelector, s.labelsAt(k, "labels")) && matchLabels(sel.annotationSelector, s.labelsAt(k, "annotations"))
}

// labelsAt returns the object's labels (or annotations) as chain[k]'s
// patches see them: the document's, and those the kustomizations below
// add.
func (s *kustSite) labelsAt(k int, field string) labels.Set {
	set := labels.Set{}
	if m := mapGet(mapGet(s.doc, "metadata"), field); m != nil && m.Kind == kyaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			set[m.Content[i].Value] = scalarString(m.Content[i+1])
		}
	}
	for j := len(s.chain) - 1; j > k; j-- {
		src := s.chain[j].labels
		if field == "annotations" {
			src = s.chain[j].annotations
		}
		for key, v := range src {
			set[key] = v
		}
	}
	return set
}

func matchRe(pattern, v string) bool {
	if pattern == "" {
		return true
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	return err == nil && re.MatchString(v)
}

func matchLabels(sel string, set labels.Set) bool {
	if sel == "" {
		return true
	}
	s, err := labels.Parse(sel)
	return err == nil && s.Matches(set)
}
