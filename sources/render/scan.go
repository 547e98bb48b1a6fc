package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// A YAML document is checked against the limits on its node tree before
// anything expands its aliases: yaml.v3 decodes into yaml.Node without
// expanding them, so parsing a "billion laughs" document costs as much as
// its text, and the walk below measures the expanded size with one memo
// entry per anchor instead of expanding.

// nodeStat is what the walk learns about one node once expanded.
type nodeStat struct {
	height int   // nesting of maps and lists below and including this node
	size   int64 // expanded size: scalar bytes plus one per node
}

type docScanner struct {
	opt     Options
	id      string
	aliases int
	memo    map[*yaml.Node]nodeStat
	active  map[*yaml.Node]bool
}

// scanYAMLDoc parses one document (a chunk between separators) and checks it
// against the limits. It returns the expanded size of the document and
// whether the document is empty (nothing but comments or whitespace).
// line is the number of lines of the file before the document, so errors
// give lines of the file.
func scanYAMLDoc(id string, data []byte, line int, opt Options) (size int64, empty bool, err error) {
	if int64(len(data)) > opt.MaxDocBytes {
		return 0, false, errorf(ErrLimit, "%s: document has %d bytes, more than the limit of %d", id, len(data), opt.MaxDocBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, true, nil
		}
		return 0, false, errorf(ErrInvalid, "%s: %s", id, yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return 0, false, errorf(ErrInvalid, "%s: %s", id, yamlMessage(err))
		}
		return 0, false, errorf(ErrInvalid, "%s: more than one YAML document; separate documents with a line holding only '---'", id)
	}
	s := &docScanner{opt: opt, id: id, memo: map[*yaml.Node]nodeStat{}, active: map[*yaml.Node]bool{}}
	st, err := s.walk(&doc, 0)
	if err != nil {
		return 0, false, err
	}
	if !opt.lastKeyWins {
		if err := checkDuplicateKeys(id, &doc, "", line); err != nil {
			return 0, false, err
		}
	}
	return st.size, len(doc.Content) == 0, nil
}

// checkDuplicateKeys refuses a mapping that holds a key twice, as kustomize
// (yaml.v3) does: the YAML-to-JSON conversion would silently keep the last.
// Aliases are not followed; their anchors are checked where they stand.
// The walk is bounded by the depth and size checks that ran before it.
func checkDuplicateKeys(id string, n *yaml.Node, at string, line int) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkDuplicateKeys(id, c, at, line); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkDuplicateKeys(id, c, fmt.Sprintf("%s[%d]", at, i), line); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				continue
			}
			p := keyPath(at, k.Value)
			if first, dup := seen[k.Value]; dup {
				return errorf(ErrInvalid, "%s: duplicate key %s (lines %d and %d): remove one of them", id, strconv.Quote(p), first, line+k.Line)
			}
			seen[k.Value] = line + k.Line
			if err := checkDuplicateKeys(id, v, p, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkJSONDuplicateKeys refuses a JSON object that holds a key twice. It
// runs on valid JSON only (depth already bounded by scanJSON), which YAML
// parses to the same tree.
func checkJSONDuplicateKeys(id string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil // valid JSON that yaml.v3 refuses: nothing more to check
	}
	return checkDuplicateKeys(id, &doc, "", 0)
}

// keyPath appends a mapping key to a path: metadata.name, or
// metadata.labels["app.kubernetes.io/name"] for a key that holds a dot.
func keyPath(at, key string) string {
	if strings.ContainsAny(key, ".[]\"") || key == "" {
		return at + "[" + strconv.Quote(key) + "]"
	}
	if at == "" {
		return key
	}
	return at + "." + key
}

// walk returns the expanded stat of n, found at nesting depth.
func (s *docScanner) walk(n *yaml.Node, depth int) (nodeStat, error) {
	if n.Kind == yaml.AliasNode {
		return s.alias(n, depth)
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		depth++
		if depth > s.opt.MaxDepth {
			return nodeStat{}, s.tooDeep()
		}
	}
	if n.Anchor != "" {
		s.active[n] = true
		defer delete(s.active, n)
	}
	st := nodeStat{size: int64(len(n.Value)) + 1}
	for _, c := range n.Content {
		cs, err := s.walk(c, depth)
		if err != nil {
			return nodeStat{}, err
		}
		st.height = max(st.height, cs.height)
		st.size += cs.size
		if st.size > s.opt.MaxDocBytes {
			return nodeStat{}, s.tooBig()
		}
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		st.height++
	}
	if n.Anchor != "" {
		s.memo[n] = st
	}
	return st, nil
}

// alias accounts for one alias without expanding it.
func (s *docScanner) alias(n *yaml.Node, depth int) (nodeStat, error) {
	s.aliases++
	if s.aliases > s.opt.MaxAliases {
		return nodeStat{}, errorf(ErrLimit, "%s: more than %d YAML aliases", s.id, s.opt.MaxAliases)
	}
	target := n.Alias
	if target == nil {
		return nodeStat{}, errorf(ErrInvalid, "%s: unknown YAML alias %q", s.id, n.Value)
	}
	if s.active[target] {
		// An anchor holding an alias to itself expands without end.
		return nodeStat{}, errorf(ErrLimit, "%s: YAML anchor %q contains an alias to itself", s.id, target.Anchor)
	}
	st, ok := s.memo[target]
	if !ok {
		var err error
		if st, err = s.walk(target, depth); err != nil {
			return nodeStat{}, err
		}
	}
	if depth+st.height > s.opt.MaxDepth {
		return nodeStat{}, s.tooDeep()
	}
	return st, nil
}

func (s *docScanner) tooDeep() error {
	return errorf(ErrLimit, "%s: nested deeper than %d levels", s.id, s.opt.MaxDepth)
}

func (s *docScanner) tooBig() error {
	return errorf(ErrLimit, "%s: document expands to more than %d bytes", s.id, s.opt.MaxDocBytes)
}

// scanJSON checks the nesting depth of a JSON text without decoding it.
// Errors in the JSON itself are left to the decoder.
func scanJSON(id string, data []byte, opt Options) error {
	if int64(len(data)) > opt.MaxDocBytes {
		return errorf(ErrLimit, "%s: document has %d bytes, more than the limit of %d", id, len(data), opt.MaxDocBytes)
	}
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > opt.MaxDepth {
				return errorf(ErrLimit, "%s: nested deeper than %d levels", id, opt.MaxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// yamlMessage strips the "yaml: " prefix that yaml.v3 puts on its errors.
func yamlMessage(err error) string {
	msg := err.Error()
	if len(msg) > 6 && msg[:6] == "yaml: " {
		return msg[6:]
	}
	return msg
}
