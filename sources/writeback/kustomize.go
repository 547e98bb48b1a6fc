package writeback

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/trueup-dev/trueup/sources/render"
)

// maxLayers bounds how deep kustomizations may nest.
const maxLayers = 32

// layer is one kustomization of a target's graph, read for what decides
// where a field of an object comes from.
type layer struct {
	dir, file string
	namespace string
	prefix    string
	suffix    string
	// resources are the resource files, children the kustomizations listed
	// under resources or bases, components those under components.
	resources  []string
	children   []*layer
	components []*layer
	// patches in the order kustomize applies them: patchesStrategicMerge,
	// patches, patchesJson6902.
	patches  []*patchSrc
	replicas []replicaEntry
	images   []imageEntry
	// labels and annotations transformers set on every object.
	labels      map[string]string
	annotations map[string]string
	generators  []generator
	remote      []string
}

type replicaEntry struct {
	name  string
	index int
}

type imageEntry struct {
	name, newName, newTag, digest string
	index                         int
}

type generator struct {
	field, name string
}

// selector is the target of a patch.
type selector struct {
	group, version, kind, name, namespace string
	labelSelector, annotationSelector     string
}

// patchSrc is one patch of a kustomization: a file or an inline text.
type patchSrc struct {
	layer    *layer
	file     string // repository path of the patch file; "" when inline
	text     []byte
	json6902 bool
	target   *selector
	// inline is the path to the patch text in the kustomization.
	inline []string
}

// where names the patch in errors and reports.
func (p *patchSrc) where() string {
	if p.file != "" {
		return p.file
	}
	return p.layer.file
}

// kustGraph loads the kustomizations of a target from the work's files.
type kustGraph struct {
	w       *work
	loading map[string]bool
	layers  map[string]*layer
}

func newGraph(w *work) *kustGraph {
	return &kustGraph{w: w, loading: map[string]bool{}, layers: map[string]*layer{}}
}

// load reads the kustomization in dir and the ones it refers to.
func (g *kustGraph) load(dir string, depth int) (*layer, error) {
	if l, ok := g.layers[dir]; ok {
		return l, nil
	}
	if g.loading[dir] || depth > maxLayers {
		return nil, fmt.Errorf("%s: kustomizations refer to each other in a cycle or nest too deeply: %w", dir, ErrUnsupported)
	}
	g.loading[dir] = true
	defer delete(g.loading, dir)
	kfile := render.KustomizationFile(g.w.files, dir)
	if kfile == "" {
		return nil, fmt.Errorf("%s: no kustomization: %w", dir, ErrNotFound)
	}
	d, err := parseDoc(g.w.files[kfile], isJSONFile(kfile))
	if err != nil {
		return nil, inFile(kfile, err)
	}
	l := &layer{dir: dir, file: kfile, labels: map[string]string{}, annotations: map[string]string{}}
	if d.root == nil || d.root.Kind != kyaml.MappingNode {
		return l, nil
	}
	ld := loader{g: g, l: l, depth: depth}
	if err := ld.read(d.root); err != nil {
		return nil, inFile(kfile, err)
	}
	g.layers[dir] = l
	return l, nil
}

// loader reads one kustomization into its layer.
type loader struct {
	g     *kustGraph
	l     *layer
	depth int
}

func (ld loader) read(k *kyaml.Node) error {
	l := ld.l
	l.namespace = scalarString(mapGet(k, "namespace"))
	l.prefix = scalarString(mapGet(k, "namePrefix"))
	l.suffix = scalarString(mapGet(k, "nameSuffix"))
	for _, f := range []string{"resources", "bases", "components"} {
		for i, v := range scalars(mapGet(k, f)) {
			if err := ld.ref(f, i, v); err != nil {
				return err
			}
		}
	}
	for i, v := range scalars(mapGet(k, "patchesStrategicMerge")) {
		if err := ld.smpEntry(i, v); err != nil {
			return err
		}
	}
	for _, f := range []string{"patches", "patchesJson6902"} {
		for i, e := range items(mapGet(k, f)) {
			if err := ld.patchEntry(f, i, e); err != nil {
				return err
			}
		}
	}
	l.readTransformers(k)
	return nil
}

// scalars returns the scalar items of a sequence node.
func scalars(n *kyaml.Node) []string {
	var out []string
	for _, item := range items(n) {
		out = append(out, scalarString(item))
	}
	return out
}

// items returns the items of a sequence node.
func items(n *kyaml.Node) []*kyaml.Node {
	if n == nil || n.Kind != kyaml.SequenceNode {
		return nil
	}
	return n.Content
}

var remoteUser = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`) })

// isRemote reports whether kustomize would fetch v over the network.
func isRemote(v string) bool {
	s := strings.ToLower(strings.TrimSpace(v))
	s = strings.TrimPrefix(s, "git::")
	return strings.Contains(s, "://") || remoteUser().MatchString(s) ||
		strings.HasPrefix(s, "github.com/") || strings.HasPrefix(s, "github.com:")
}

// resolve turns a reference of the kustomization into a repository path.
func (ld loader) resolve(field string, i int, v string) (string, error) {
	if path.IsAbs(v) || strings.Contains(v, "\\") {
		return "", fmt.Errorf("%s[%d] %q: %w", field, i, v, ErrOutside)
	}
	p := path.Join(ld.l.dir, v)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%s[%d] %q: %w", field, i, v, ErrOutside)
	}
	return p, nil
}

// ref reads one entry of resources, bases or components: a file or a
// kustomization directory.
func (ld loader) ref(field string, i int, v string) error {
	if v == "" {
		return nil
	}
	if isRemote(v) {
		ld.l.remote = append(ld.l.remote, v)
		return nil
	}
	p, err := ld.resolve(field, i, v)
	if err != nil {
		return err
	}
	if _, ok := ld.g.w.files[p]; ok {
		ld.l.resources = append(ld.l.resources, p)
		return nil
	}
	child, err := ld.g.load(p, ld.depth+1)
	if errors.Is(err, ErrNotFound) {
		return nil // kustomize reports the missing reference; it defines nothing
	}
	if err != nil {
		return err
	}
	if field == "components" {
		ld.l.components = append(ld.l.components, child)
	} else {
		ld.l.children = append(ld.l.children, child)
	}
	return nil
}

// smpEntry reads one entry of patchesStrategicMerge: a file, or an inline
// patch.
func (ld loader) smpEntry(i int, v string) error {
	if inline, _ := isInlinePatch(v); inline {
		ld.l.patches = append(ld.l.patches, &patchSrc{layer: ld.l, text: []byte(v),
			inline: []string{"patchesStrategicMerge", fmt.Sprint(i)}})
		return nil
	}
	p, err := ld.resolve("patchesStrategicMerge", i, v)
	if err != nil {
		return err
	}
	ld.l.patches = append(ld.l.patches, &patchSrc{layer: ld.l, file: p, text: ld.g.w.files[p]})
	return nil
}

// isInlinePatch reports whether a patch text is inline YAML (a mapping or
// a sequence) rather than a path, and whether it is a JSON 6902 patch (a
// sequence of operations).
func isInlinePatch(v string) (bool, bool) {
	d, err := parseDoc([]byte(v), false)
	if err != nil || d.root == nil {
		return false, false
	}
	switch d.root.Kind {
	case kyaml.MappingNode:
		return true, false
	case kyaml.SequenceNode:
		return true, true
	}
	return false, false
}

// patchEntry reads one entry of patches or patchesJson6902.
func (ld loader) patchEntry(field string, i int, e *kyaml.Node) error {
	src := &patchSrc{layer: ld.l, json6902: field == "patchesJson6902"}
	if t := mapGet(e, "target"); t != nil && t.Kind == kyaml.MappingNode {
		src.target = &selector{
			group: scalarString(mapGet(t, "group")), version: scalarString(mapGet(t, "version")),
			kind: scalarString(mapGet(t, "kind")), name: scalarString(mapGet(t, "name")),
			namespace: scalarString(mapGet(t, "namespace")), labelSelector: scalarString(mapGet(t, "labelSelector")),
			annotationSelector: scalarString(mapGet(t, "annotationSelector")),
		}
	}
	if p := scalarString(mapGet(e, "path")); p != "" {
		file, err := ld.resolve(field+".path", i, p)
		if err != nil {
			return err
		}
		src.file, src.text = file, ld.g.w.files[file]
	} else if text := scalarString(mapGet(e, "patch")); text != "" {
		src.text, src.inline = []byte(text), []string{field, fmt.Sprint(i), "patch"}
	} else {
		return nil
	}
	if !src.json6902 {
		src.json6902 = isJSON6902(src.text, isJSONFile(src.file))
	}
	ld.l.patches = append(ld.l.patches, src)
	return nil
}

// isJSON6902 reports whether a patch is a list of JSON 6902 operations.
func isJSON6902(text []byte, json bool) bool {
	d, err := parseDoc(text, json)
	return err == nil && d.root != nil && d.root.Kind == kyaml.SequenceNode
}

// readTransformers reads the transformers that set fields of objects.
func (l *layer) readTransformers(k *kyaml.Node) {
	for i, e := range items(mapGet(k, "replicas")) {
		l.replicas = append(l.replicas, replicaEntry{name: scalarString(mapGet(e, "name")), index: i})
	}
	for i, e := range items(mapGet(k, "images")) {
		l.images = append(l.images, imageEntry{
			name: scalarString(mapGet(e, "name")), newName: scalarString(mapGet(e, "newName")),
			newTag: scalarString(mapGet(e, "newTag")), digest: scalarString(mapGet(e, "digest")), index: i,
		})
	}
	addKeys(l.labels, mapGet(k, "commonLabels"))
	for _, e := range items(mapGet(k, "labels")) {
		addKeys(l.labels, mapGet(e, "pairs"))
	}
	addKeys(l.annotations, mapGet(k, "commonAnnotations"))
	for _, f := range []string{"configMapGenerator", "secretGenerator"} {
		for _, e := range items(mapGet(k, f)) {
			l.generators = append(l.generators, generator{field: f, name: scalarString(mapGet(e, "name"))})
		}
	}
}

func addKeys(set map[string]string, m *kyaml.Node) {
	if m == nil || m.Kind != kyaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		set[m.Content[i].Value] = scalarString(m.Content[i+1])
	}
}

// Kinds whose names kustomize's prefix and suffix leave alone, and
// cluster-scoped kinds its namespace transformer leaves alone.
var (
	noPrefixKinds = []string{"CustomResourceDefinition", "APIService", "Namespace"}
	clusterKinds  = []string{
		"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
		"StorageClass", "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
		"APIService", "IngressClass", "RuntimeClass", "CSIDriver", "Node", "VolumeAttachment",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	}
)

// kustSite is where a kustomize target's object comes from: a document of
// a resource file, and the kustomizations from the target's down to the
// one listing that file.
type kustSite struct {
	g     *kustGraph
	chain []*layer // chain[0] is the target's kustomization
	res   objectLoc
	// names[k] is the object's name after chain[k]'s transformers;
	// names[len(chain)] the document's own. nss likewise for namespaces.
	names []string
	nss   []string
	doc   *kyaml.Node // the object in its document
}

// nameIn returns the object's name as chain[k]'s patches see it.
func (s *kustSite) nameIn(k int) string { return s.names[k+1] }

// findKustomize finds the document of the object in the graph of the
// kustomization in dir.
func (w *work) findKustomize(dir string, r request) (*kustSite, error) {
	g := newGraph(w)
	root, err := g.load(dir, 0)
	if err != nil {
		return nil, err
	}
	var sites []*kustSite
	if err := g.search(root, nil, r, &sites, map[*layer]bool{}); err != nil {
		return nil, err
	}
	switch len(sites) {
	case 0:
		return nil, g.notFound(root, r)
	case 1:
		return sites[0], nil
	}
	var where []string
	for _, s := range sites {
		where = append(where, s.res.file)
	}
	return nil, fmt.Errorf("defined in %s: %w", strings.Join(where, ", "), ErrAmbiguous)
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// search looks for the object in the resource files under l.
func (g *kustGraph) search(l *layer, chain []*layer, r request, out *[]*kustSite, seen map[*layer]bool) error {
	if seen[l] {
		return nil
	}
	seen[l] = true
	defer delete(seen, l)
	chain = append(slices.Clone(chain), l)
	for _, f := range l.resources {
		objs, err := objectsIn(f, g.w.files[f])
		if err != nil {
			return inFile(f, err)
		}
		for _, o := range objs {
			if !sameKind(o.id, r.obj) {
				continue
			}
			s := g.site(chain, o)
			if s.names[0] == r.obj.Name && sameNamespace(s.nss[0], r.obj, r.opts.DefaultNamespace) {
				*out = append(*out, s)
			}
		}
	}
	for _, c := range slices.Concat(l.children, l.components) {
		if err := g.search(c, chain, r, out, seen); err != nil {
			return err
		}
	}
	return nil
}

// site computes the names and namespaces of a resource document through
// the chain of kustomizations above it.
func (g *kustGraph) site(chain []*layer, o objectLoc) *kustSite {
	n := len(chain)
	s := &kustSite{g: g, chain: chain, res: o, names: make([]string, n+1), nss: make([]string, n+1)}
	s.names[n], s.nss[n] = o.id.name, o.id.namespace
	for k := n - 1; k >= 0; k-- {
		l := chain[k]
		name, ns := s.names[k+1], s.nss[k+1]
		if !slices.Contains(noPrefixKinds, o.id.kind) {
			name = l.prefix + name + l.suffix
		}
		if l.namespace != "" && !slices.Contains(clusterKinds, o.id.kind) {
			ns = l.namespace
		}
		s.names[k], s.nss[k] = name, ns
	}
	return s
}

// notFound explains why no resource defines the object: a generator makes
// it, a remote base may hold it, or nothing does.
func (g *kustGraph) notFound(root *layer, r request) error {
	dirs := make([]string, 0, len(g.layers))
	for d := range g.layers {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		l := g.layers[d]
		for _, gen := range l.generators {
			kind := map[string]string{"configMapGenerator": "ConfigMap", "secretGenerator": "Secret"}[gen.field]
			if gen.name != "" && r.obj.Kind == kind && strings.Contains(r.obj.Name, gen.name) {
				return inFile(l.file, fmt.Errorf("made by %s %q: edit its source by hand: %w", gen.field, gen.name, ErrUnsupported))
			}
		}
	}
	for _, d := range dirs {
		if l := g.layers[d]; len(l.remote) > 0 {
			return inFile(l.file, fmt.Errorf("not in the repository; remote bases (%s) are not written: %w", strings.Join(l.remote, ", "), ErrNotFound))
		}
	}
	return inFile(root.file, fmt.Errorf("no resource of the kustomization defines it: %w", ErrNotFound))
}
