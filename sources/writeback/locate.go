package writeback

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// yamlDoc is one parsed YAML document and its text. kyaml (yaml.v3) parses
// it; the nodes give the positions at which edits are spliced into the
// text, so everything the edit does not touch stays byte for byte.
type yamlDoc struct {
	t    *text
	root *kyaml.Node // the document's top node; nil for an empty document
	json bool        // the file is JSON: everything written is JSON
}

func parseDoc(b []byte, json bool) (*yamlDoc, error) {
	var n kyaml.Node
	err := kyaml.NewDecoder(bytes.NewReader(b)).Decode(&n)
	d := &yamlDoc{t: newText(b), json: json}
	switch {
	case errors.Is(err, io.EOF):
		return d, nil
	case err != nil:
		return nil, fmt.Errorf("parse yaml: %w", errors.Join(err, ErrInvalid))
	}
	if n.Kind == kyaml.DocumentNode && len(n.Content) > 0 {
		d.root = n.Content[0]
	}
	return d, nil
}

// frame is one node on the way from the document's top to a path.
type frame struct {
	node   *kyaml.Node
	parent *kyaml.Node // the mapping or sequence holding node; nil at the top
	key    *kyaml.Node // node's key when parent is a mapping
	index  int         // node's pair or item index in parent
	flow   bool        // node sits inside a flow collection
}

// locate follows tokens from the top of the document. It returns the
// frames of the nodes it found and the tokens it could not follow: the
// fields that do not exist yet. A path through a scalar, an alias or past
// the end of a sequence is an error.
func (d *yamlDoc) locate(tokens []string) ([]frame, []string, error) {
	if d.root == nil {
		return nil, nil, fmt.Errorf("empty document: %w", ErrInvalid)
	}
	frames := []frame{{node: d.root}}
	for i, tok := range tokens {
		cur := frames[len(frames)-1]
		flow := cur.flow || cur.node.Style&kyaml.FlowStyle != 0
		switch cur.node.Kind {
		case kyaml.MappingNode:
			k := mapIndex(cur.node, tok)
			if k < 0 {
				return frames, tokens[i:], nil
			}
			frames = append(frames, frame{node: cur.node.Content[2*k+1], parent: cur.node, key: cur.node.Content[2*k], index: k, flow: flow})
		case kyaml.SequenceNode:
			n, err := seqIndex(tok, len(cur.node.Content))
			if err != nil {
				return nil, nil, err
			}
			if n == len(cur.node.Content) {
				return frames, tokens[i:], nil
			}
			frames = append(frames, frame{node: cur.node.Content[n], parent: cur.node, index: n, flow: flow})
		case kyaml.ScalarNode:
			if isNull(cur.node) {
				return frames, tokens[i:], nil
			}
			return nil, nil, fmt.Errorf("%s is a scalar: %w", pointer(tokens[:i]), ErrPath)
		default:
			return nil, nil, errLayout("%s is an alias", pointer(tokens[:i]))
		}
	}
	return frames, nil, nil
}

// mapIndex returns the pair index of key in a mapping, or -1.
func mapIndex(m *kyaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == kyaml.ScalarNode && k.Value == key {
			return i / 2
		}
	}
	return -1
}

// mapGet returns the value of key in a mapping node, or nil.
func mapGet(m *kyaml.Node, key string) *kyaml.Node {
	if m == nil || m.Kind != kyaml.MappingNode {
		return nil
	}
	if i := mapIndex(m, key); i >= 0 {
		return m.Content[2*i+1]
	}
	return nil
}

// scalarString returns the value of a scalar node, or "".
func scalarString(n *kyaml.Node) string {
	if n == nil || n.Kind != kyaml.ScalarNode || isNull(n) {
		return ""
	}
	return n.Value
}

// seqIndex parses a sequence index token; "-" and n mean "append".
func seqIndex(tok string, n int) (int, error) {
	if tok == "-" {
		return n, nil
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 || strconv.Itoa(i) != tok {
		return 0, fmt.Errorf("%q is not a list index: %w", tok, ErrPath)
	}
	if i > n {
		return 0, fmt.Errorf("index %d is past the end of a list of %d: %w", i, n, ErrPath)
	}
	return i, nil
}

func isNull(n *kyaml.Node) bool {
	return n.Kind == kyaml.ScalarNode && n.Tag == "!!null"
}

// isEmptyNull reports whether n is a null written as nothing ("key:").
func isEmptyNull(n *kyaml.Node) bool {
	return isNull(n) && n.Value == "" && n.Style&(kyaml.DoubleQuotedStyle|kyaml.SingleQuotedStyle) == 0
}

func isFlow(n *kyaml.Node) bool { return n.Style&kyaml.FlowStyle != 0 }

// pos returns the offset of a node's position (its properties, if any).
func (d *yamlDoc) pos(n *kyaml.Node) (int, error) {
	return d.t.off(n.Line, n.Column)
}

// extent returns where a scalar, alias or flow collection starts and ends,
// properties included. parentIndent is the indentation of the node holding
// it (for block scalars).
func (d *yamlDoc) extent(n *kyaml.Node, parentIndent int, flow, key bool) (int, int, error) {
	s, err := d.pos(n)
	if err != nil {
		return 0, 0, err
	}
	if isEmptyNull(n) {
		p := d.t.skipProps(s)
		if p > s && !d.t.isBlankOrEnd(p) && d.t.b[p] != '#' && !(flow && isFlowIndicator(d.t.b[p])) {
			return 0, 0, errLayout("empty node with unexpected content")
		}
		if p == s {
			return s, s, nil
		}
		return s, trimRightBlank(d.t.b, s, p), nil
	}
	p := d.t.skipProps(s)
	if n.Kind == kyaml.AliasNode {
		if p >= len(d.t.b) || d.t.b[p] != '*' {
			return 0, 0, errLayout("alias not found")
		}
		return s, min(p+1+len(n.Value), len(d.t.b)), nil
	}
	if n.Kind == kyaml.MappingNode || n.Kind == kyaml.SequenceNode {
		p = d.t.skipSpace(p)
		if p >= len(d.t.b) || (d.t.b[p] != '{' && d.t.b[p] != '[') {
			return 0, 0, errLayout("flow collection not found")
		}
		e, err := d.t.bracketEnd(p)
		return s, e, err
	}
	if p >= len(d.t.b) {
		return 0, 0, errLayout("scalar not found")
	}
	var e int
	switch c := d.t.b[p]; {
	case c == '"' && n.Style&kyaml.DoubleQuotedStyle != 0:
		e, err = d.t.doubleEnd(p)
	case c == '\'' && n.Style&kyaml.SingleQuotedStyle != 0:
		e, err = d.t.singleEnd(p)
	case (c == '|' || c == '>') && n.Style&(kyaml.LiteralStyle|kyaml.FoldedStyle) != 0:
		e = d.t.blockScalarEnd(p, parentIndent)
	default:
		e, err = d.t.plainEnd(p, n.Value, flow, key)
	}
	return s, e, err
}

func trimRightBlank(b []byte, s, e int) int {
	for e > s && isBlank(b[e-1]) {
		e--
	}
	return e
}

// end returns the offset after the last character of a node.
func (d *yamlDoc) end(n *kyaml.Node, parentIndent int, flow bool) (int, error) {
	flow = flow || isFlow(n)
	switch {
	case (n.Kind == kyaml.MappingNode || n.Kind == kyaml.SequenceNode) && !isFlow(n):
		if len(n.Content) == 0 {
			return 0, errLayout("empty block collection")
		}
		last := n.Content[len(n.Content)-1]
		indent, err := d.childIndent(n, len(n.Content)-1)
		if err != nil {
			return 0, err
		}
		return d.end(last, indent, flow)
	case n.Kind == kyaml.DocumentNode:
		return 0, errLayout("nested document")
	}
	_, e, err := d.extent(n, parentIndent, flow, false)
	return e, err
}

// childIndent returns the indentation that block scalars among the
// children of a block collection are measured from: the key's for a
// mapping value, the dash's for a sequence item.
func (d *yamlDoc) childIndent(n *kyaml.Node, i int) (int, error) {
	if n.Kind == kyaml.MappingNode {
		k := n.Content[i-i%2]
		return k.Column - 1, nil
	}
	dash, err := d.dash(n, i)
	if err != nil {
		return 0, err
	}
	return dash - d.t.lineStart(dash), nil
}

// keyColon returns the offset after the colon that follows a key.
func (d *yamlDoc) keyColon(k *kyaml.Node, flow bool) (int, error) {
	if k.Kind != kyaml.ScalarNode {
		return 0, errLayout("complex mapping key")
	}
	_, e, err := d.extent(k, 0, flow, true)
	if err != nil {
		return 0, err
	}
	for e < len(d.t.b) && isBlank(d.t.b[e]) {
		e++
	}
	if e >= len(d.t.b) || d.t.b[e] != ':' {
		return 0, errLayout("mapping key without a colon")
	}
	return e + 1, nil
}

// dash returns the offset of the "-" introducing item i of a block
// sequence. All dashes of a block sequence sit in the same column.
func (d *yamlDoc) dash(seq *kyaml.Node, i int) (int, error) {
	first, err := d.firstDash(seq)
	if err != nil {
		return 0, err
	}
	col := first - d.t.lineStart(first)
	if i == 0 {
		return first, nil
	}
	item := seq.Content[i]
	p, err := d.pos(item)
	if err != nil {
		return 0, err
	}
	for l := d.t.lineNo(p); l >= 1; l-- {
		s := d.t.lines[l-1]
		q := s + col
		if q < len(d.t.b) && q <= p && d.t.b[q] == '-' && d.t.isBlankOrEnd(q+1) && d.t.blankBefore(q) {
			return q, nil
		}
	}
	return 0, errLayout("sequence item without a dash")
}

func (d *yamlDoc) firstDash(seq *kyaml.Node) (int, error) {
	p, err := d.pos(seq)
	if err != nil {
		return 0, err
	}
	p = d.t.skipSpace(d.t.skipProps(p))
	if p >= len(d.t.b) || d.t.b[p] != '-' || !d.t.isBlankOrEnd(p+1) {
		return 0, errLayout("block sequence without a dash")
	}
	return p, nil
}

// anchorPoint returns where the value in frame f is attached: after the
// colon of its key, or after the dash of its item.
func (d *yamlDoc) anchorPoint(f frame) (int, error) {
	if f.parent.Kind == kyaml.MappingNode {
		return d.keyColon(f.key, f.flow)
	}
	dash, err := d.dash(f.parent, f.index)
	return dash + 1, err
}

// valueIndent returns the indentation that new lines of the value in frame
// f start from: its key's, or for a sequence item the column of its
// content.
func (d *yamlDoc) valueIndent(f frame) (int, error) {
	if f.parent.Kind == kyaml.MappingNode {
		return f.key.Column - 1, nil
	}
	dash, err := d.dash(f.parent, f.index)
	if err != nil {
		return 0, err
	}
	return dash - d.t.lineStart(dash) + 2, nil
}
