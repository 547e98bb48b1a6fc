package render

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/trueup-dev/trueup/sources"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a file: the text between two separator
// lines ("---", optionally followed by a comment).
type document struct {
	index int
	data  []byte
	line  int // lines of the file before the document's first line
}

// splitDocuments cuts a YAML stream into documents the way kubectl does
// (a line holding only "---" separates two documents) and numbers them as a
// YAML parser does: text before the first separator that holds nothing but
// comments, blank lines and directives is not a document.
func splitDocuments(data []byte) []document {
	var docs []document
	start, first := 0, true
	emit := func(end int) {
		chunk := data[start:end]
		if !first || hasContent(chunk) {
			docs = append(docs, document{index: len(docs), data: chunk, line: bytes.Count(data[:start], []byte("\n"))})
		}
		first = false
	}
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		if isSeparator(data[off:next]) {
			emit(off)
			start = next
		}
		off = next
	}
	emit(len(data))
	return docs
}

// isSeparator reports whether line is "---", alone or followed by blanks
// and a comment.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\r' && rest[0] != '\n' {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// hasContent reports whether a chunk holds anything but blank lines,
// comments and directives.
func hasContent(chunk []byte) bool {
	for _, line := range bytes.Split(chunk, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' && line[0] != '%' {
			return true
		}
	}
	return false
}

// isJSONFile reports whether a file is read as one JSON document.
func isJSONFile(name string) bool {
	return strings.EqualFold(path.Ext(name), ".json")
}

// docID names one document in errors: "deploy/app.yaml[1]". A file name
// that is not plain printable text is quoted (sources.QuotePath).
func docID(file string, index int) string {
	return fmt.Sprintf("%s[%d]", sources.QuotePath(file), index)
}

// decodedDoc is one non-empty document, checked against the limits and
// converted to JSON values (maps, slices, strings, int64, float64, bool).
type decodedDoc struct {
	index int
	value any
	size  int64 // after alias expansion
}

// decodeFile checks every document of a file against the limits, then
// converts the non-empty ones. YAML goes through sigs.k8s.io/yaml, as in
// kubectl, only after the yaml.v3 scan has bounded its expanded size.
func decodeFile(name string, data []byte, b *budget) ([]decodedDoc, error) {
	if isJSONFile(name) {
		id := docID(name, 0)
		if err := scanJSON(id, data, b.opt); err != nil {
			return nil, err
		}
		if err := b.expand(id, int64(len(data))); err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, nil
		}
		v, err := unmarshalJSON(id, data)
		if err != nil || v == nil {
			return nil, err
		}
		if err := checkJSONDuplicateKeys(id, data); err != nil {
			return nil, err
		}
		return []decodedDoc{{index: 0, value: v, size: int64(len(data))}}, nil
	}
	var out []decodedDoc
	for _, d := range splitDocuments(data) {
		id := docID(name, d.index)
		size, empty, err := scanYAMLDoc(id, d.data, d.line, b.opt)
		if err != nil {
			return nil, err
		}
		if err := b.expand(id, size); err != nil {
			return nil, err
		}
		if empty {
			continue
		}
		j, err := yaml.YAMLToJSON(d.data)
		if err != nil {
			return nil, errorf(ErrInvalid, "%s: %s", id, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		v, err := unmarshalJSON(id, j)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, decodedDoc{index: d.index, value: v, size: size})
		}
	}
	return out, nil
}

func unmarshalJSON(id string, data []byte) (any, error) {
	var v any
	if err := utiljson.Unmarshal(data, &v); err != nil {
		return nil, errorf(ErrInvalid, "%s: %v", id, err)
	}
	return v, nil
}

// objectsOf turns one decoded document into objects: the document itself,
// or the items of a list (a kind ending in "List" with an items array, as
// kubectl reads it).
func objectsOf(file string, doc decodedDoc) ([]sources.Object, error) {
	id := docID(file, doc.index)
	m, ok := doc.value.(map[string]any)
	if !ok {
		return nil, errorf(ErrInvalid, "%s: document is %s, not an object", id, describe(doc.value))
	}
	origin := sources.Origin{File: file, Index: doc.index}
	items, isList := listItems(m)
	if !isList {
		obj, err := newObject(id, m)
		if err != nil {
			return nil, err
		}
		return []sources.Object{{Object: obj, Origin: origin}}, nil
	}
	out := make([]sources.Object, 0, len(items))
	for i, it := range items {
		itemID := fmt.Sprintf("%s: items[%d]", id, i)
		im, ok := it.(map[string]any)
		if !ok {
			return nil, errorf(ErrInvalid, "%s: item is %s, not an object", itemID, describe(it))
		}
		inheritListType(m, im)
		obj, err := newObject(itemID, im)
		if err != nil {
			return nil, err
		}
		out = append(out, sources.Object{Object: obj, Origin: origin})
	}
	return out, nil
}

// listItems returns the items of a list document.
func listItems(m map[string]any) ([]any, bool) {
	kind, _ := m["kind"].(string)
	items, ok := m["items"].([]any)
	return items, ok && strings.HasSuffix(kind, "List")
}

// inheritListType gives an item without apiVersion and kind those of its
// typed list (ConfigMapList -> ConfigMap), as kubectl does.
func inheritListType(list, item map[string]any) {
	_, hasKind := item["kind"]
	_, hasVersion := item["apiVersion"]
	if hasKind || hasVersion {
		return
	}
	kind, _ := list["kind"].(string)
	if k := strings.TrimSuffix(kind, "List"); k != "" {
		item["kind"] = k
		item["apiVersion"] = list["apiVersion"]
	}
}

// newObject checks the fields every object needs and wraps the map.
func newObject(id string, m map[string]any) (*unstructured.Unstructured, error) {
	for _, f := range []string{"apiVersion", "kind"} {
		if s, ok := m[f].(string); !ok || s == "" {
			return nil, errorf(ErrInvalid, "%s: missing %s", id, f)
		}
	}
	meta, ok := m["metadata"].(map[string]any)
	if !ok {
		return nil, errorf(ErrInvalid, "%s: missing metadata.name", id)
	}
	if s, ok := meta["name"].(string); !ok || s == "" {
		if g, _ := meta["generateName"].(string); g != "" {
			return nil, errorf(ErrInvalid, "%s: metadata.generateName %q without metadata.name: trueup needs metadata.name "+
				"to find the object again on every reconcile (to compare it, heal its drift and prune it), and a generated name "+
				"would create a new object each time; set metadata.name", id, g)
		}
		return nil, errorf(ErrInvalid, "%s: missing metadata.name", id)
	}
	if ns, ok := meta["namespace"]; ok && ns != nil {
		if _, ok := ns.(string); !ok {
			return nil, errorf(ErrInvalid, "%s: metadata.namespace is %s, not a string", id, describe(ns))
		}
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}
