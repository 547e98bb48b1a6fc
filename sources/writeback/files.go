package writeback

import (
	"bytes"
	"path"
	"strconv"
	"strings"

	"github.com/trueup-dev/trueup/drift"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// chunk is one document of a file, cut the way kubectl and trueup's
// renderer cut them: at lines holding only "---" (and maybe a comment).
type chunk struct {
	start, end int // bytes of the document, separators excluded
	line       int // 1-based line of start in the file
}

func isJSONFile(name string) bool { return strings.EqualFold(path.Ext(name), ".json") }

func splitChunks(b []byte, json bool) []chunk {
	if json {
		return []chunk{{start: 0, end: len(b), line: 1}}
	}
	var out []chunk
	t := newText(b)
	start, line := 0, 1
	for l, s := range t.lines {
		e := t.lineEnd(s)
		if !isSeparator(b[s:e]) {
			continue
		}
		out = append(out, chunk{start: start, end: s, line: line})
		start, line = t.nextLine(s), l+2
	}
	return append(out, chunk{start: start, end: len(b), line: line})
}

func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	if len(rest) > 0 && !isBlank(rest[0]) {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// ident is the identity an object document declares.
type ident struct {
	apiVersion, kind, name, namespace string
}

func (i ident) group() string {
	g, _, ok := strings.Cut(i.apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}

func identOf(n *kyaml.Node) ident {
	md := mapGet(n, "metadata")
	return ident{
		apiVersion: scalarString(mapGet(n, "apiVersion")),
		kind:       scalarString(mapGet(n, "kind")),
		name:       scalarString(mapGet(md, "name")),
		namespace:  scalarString(mapGet(md, "namespace")),
	}
}

// objectLoc is where one object document sits: a file, a document of it,
// and the path to the object inside the document (items/N in a List).
type objectLoc struct {
	file  string
	chunk int
	base  []string
	id    ident
}

// objectsIn lists the objects of a manifest file, the items of Lists
// included (an item without apiVersion and kind takes its List's, as
// kubectl does).
func objectsIn(file string, b []byte) ([]objectLoc, error) {
	json := isJSONFile(file)
	var out []objectLoc
	for i, c := range splitChunks(b, json) {
		d, err := parseDoc(b[c.start:c.end], json)
		if err != nil {
			return nil, err
		}
		if d.root == nil || d.root.Kind != kyaml.MappingNode {
			continue
		}
		id := identOf(d.root)
		items := mapGet(d.root, "items")
		if !strings.HasSuffix(id.kind, "List") || items == nil || items.Kind != kyaml.SequenceNode {
			out = append(out, objectLoc{file: file, chunk: i, id: id})
			continue
		}
		for j, item := range items.Content {
			if item.Kind != kyaml.MappingNode {
				continue
			}
			iid := identOf(item)
			if iid.apiVersion == "" && iid.kind == "" {
				iid.apiVersion, iid.kind = id.apiVersion, strings.TrimSuffix(id.kind, "List")
			}
			out = append(out, objectLoc{file: file, chunk: i, base: []string{"items", strconv.Itoa(j)}, id: iid})
		}
	}
	return out, nil
}

// sameKind reports whether a document's kind and group are the object's.
func sameKind(id ident, obj drift.ObjectRef) bool {
	return id.kind == obj.Kind && id.group() == obj.Group
}

// sameNamespace reports whether a document namespace (after transformers)
// is the object's. A document without one is in the target's default
// namespace, or the object is cluster-scoped.
func sameNamespace(ns string, obj drift.ObjectRef, defaultNS string) bool {
	if ns == obj.Namespace {
		return true
	}
	if ns != "" {
		return false
	}
	if defaultNS == "" {
		defaultNS = "default"
	}
	return obj.Namespace == defaultNS
}

// docEdit is one edit of an object's value in one document of a file.
type docEdit struct {
	file   string
	chunk  int
	tokens []string // path inside the document
	value  any
	remove bool
}

// apply edits the document and returns the new file content and the line
// of the value (for a removal, the line it was on).
func (e docEdit) apply(b []byte) ([]byte, int, error) {
	json := isJSONFile(e.file)
	chunks := splitChunks(b, json)
	if e.chunk >= len(chunks) {
		return nil, 0, errLayout("document %d not found", e.chunk)
	}
	c := chunks[e.chunk]
	doc := b[c.start:c.end]
	line, _ := lineOf(doc, json, e.tokens)
	out, found, err := editDoc(doc, json, e.tokens, e.value, e.remove)
	if err != nil {
		return nil, 0, err
	}
	if !found {
		return nil, 0, errNotSet(e.tokens)
	}
	if !e.remove {
		line, _ = lineOf(out, json, e.tokens)
	}
	res := make([]byte, 0, len(b)-len(doc)+len(out))
	res = append(append(append(res, b[:c.start]...), out...), b[c.end:]...)
	return res, c.line + line - 1, nil
}

func errNotSet(tokens []string) error {
	return &pathError{msg: "the file does not set " + pointer(tokens) + ", nothing to remove", err: ErrPath}
}

type pathError struct {
	msg string
	err error
}

func (e *pathError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }
