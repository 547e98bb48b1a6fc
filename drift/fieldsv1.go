package drift

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// fieldSet is a parsed managedFields fieldsV1 document: a tree whose keys are
// "f:<field>" for object members, "k:<json object>" for list items picked by
// their key fields, "v:<json value>" for set items, "i:<index>" for list
// items picked by position, and "." for the node itself.
type fieldSet struct {
	// self is set when the node has a "." member: the node itself (a list
	// item or a map) is owned, not only things under it.
	self     bool
	children map[string]*fieldSet
}

var errFieldsV1NotObject = errors.New("fieldsV1: every member must be an object")

// parseFieldsV1 parses a fieldsV1 document.
func parseFieldsV1(raw []byte) (*fieldSet, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errFieldsV1NotObject
	}
	return buildFieldSet(doc)
}

func buildFieldSet(doc map[string]any) (*fieldSet, error) {
	fs := &fieldSet{}
	for k, v := range doc {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errFieldsV1NotObject
		}
		if k == "." {
			fs.self = true
			continue
		}
		c, err := buildFieldSet(m)
		if err != nil {
			return nil, err
		}
		if fs.children == nil {
			fs.children = map[string]*fieldSet{}
		}
		fs.children[k] = c
	}
	return fs, nil
}

// leaf reports whether the node owns a value with nothing listed under it:
// a scalar, or an atomic object or list owned as a whole.
func (fs *fieldSet) leaf() bool {
	return len(fs.children) == 0
}

// ownership is how a field set covers a path.
type ownership int

const (
	notOwned ownership = iota
	// ownsAncestor: the set owns an atomic ancestor of the path as a whole.
	ownsAncestor
	// ownsPath: the set holds the path itself, or fields under it.
	ownsPath
)

// lookup reports how fs covers the path tokens of doc (the live object,
// used to turn list indexes into the keys fieldsV1 uses) and, when it holds
// the path, whether it owns it as a leaf.
func (fs *fieldSet) lookup(doc any, tokens []string) (own ownership, leaf bool) {
	node, val := fs, doc
	for i, tok := range tokens {
		next := node.step(val, tok)
		if next == nil {
			if i > 0 && node.leaf() {
				return ownsAncestor, true
			}
			return notOwned, false
		}
		node, val = next, descend(val, tok)
	}
	if len(tokens) == 0 {
		return notOwned, false
	}
	return ownsPath, node.leaf()
}

// step finds the child of fs for one path token: a list item when the live
// value is a list, an object member otherwise.
func (fs *fieldSet) step(val any, tok string) *fieldSet {
	if list, ok := val.([]any); ok {
		i, ok := arrayIndex(tok, len(list))
		if !ok {
			return nil
		}
		return fs.item(list[i], i)
	}
	return fs.children["f:"+tok]
}

// item finds the child for the list item elem at index i.
func (fs *fieldSet) item(elem any, i int) *fieldSet {
	if c := fs.children["i:"+strconv.Itoa(i)]; c != nil {
		return c
	}
	keys := make([]string, 0, len(fs.children))
	for k := range fs.children {
		if strings.HasPrefix(k, "k:") || strings.HasPrefix(k, "v:") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // several matches only in a malformed set: pick stably
	for _, k := range keys {
		if itemMatches(k, elem) {
			return fs.children[k]
		}
	}
	return nil
}

// itemMatches reports whether a "k:" or "v:" key names the list item elem.
func itemMatches(key string, elem any) bool {
	var want any
	if err := json.Unmarshal([]byte(key[2:]), &want); err != nil {
		return false
	}
	want = normalize(want)
	if key[0] == 'v' {
		return equal(want, normalize(elem))
	}
	wm, ok := want.(map[string]any)
	em, isMap := elem.(map[string]any)
	if !ok || !isMap || len(wm) == 0 {
		return false
	}
	for f, wv := range wm {
		if !equal(wv, normalize(em[f])) {
			return false
		}
	}
	return true
}

// descend returns the member or item of a live value a token names.
func descend(val any, tok string) any {
	switch x := val.(type) {
	case map[string]any:
		return x[tok]
	case []any:
		if i, ok := arrayIndex(tok, len(x)); ok {
			return x[i]
		}
	}
	return nil
}
