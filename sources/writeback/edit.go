package writeback

import (
	"fmt"
	"reflect"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// maxDepth bounds the recursion of a merge into nested values.
const maxDepth = 64

// setIn sets the value at tokens in the YAML document b, creating missing
// mappings on the way, and returns the new text. Everything outside the
// value keeps its bytes. A mapping merged into a mapping, or a sequence
// into a sequence, is set member by member, so comments inside stay.
func setIn(b []byte, json bool, tokens []string, v any) ([]byte, error) {
	return setDepth(b, json, tokens, v, 0)
}

func setDepth(b []byte, json bool, tokens []string, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errLayout("value nested too deeply")
	}
	d, err := parseDoc(b, json)
	if err != nil {
		return nil, err
	}
	frames, rest, err := d.locate(tokens)
	if err != nil {
		return nil, err
	}
	last := frames[len(frames)-1]
	if len(rest) == 0 {
		return d.setExisting(last, tokens, v, depth)
	}
	switch last.node.Kind {
	case kyaml.MappingNode:
		return d.addKey(last, rest[0], nest(rest[1:], v))
	case kyaml.SequenceNode:
		return d.appendItem(last, nest(rest[1:], v))
	}
	return d.replace(last, nest(rest, v))
}

// nest wraps v in one mapping per token, or a sequence for the token "-"
// (append): nest([a b], v) is {a: {b: v}}, nest([a -], v) is {a: [v]}.
func nest(tokens []string, v any) any {
	for i := len(tokens) - 1; i >= 0; i-- {
		if tokens[i] == "-" {
			v = []any{v}
			continue
		}
		v = map[string]any{tokens[i]: v}
	}
	return v
}

func (d *yamlDoc) setExisting(f frame, tokens []string, v any, depth int) ([]byte, error) {
	var cur any
	if err := f.node.Decode(&cur); err == nil && reflect.DeepEqual(canon(cur), v) {
		return d.t.b, nil
	}
	n := f.node
	switch x := v.(type) {
	case map[string]any:
		if n.Kind == kyaml.MappingNode && len(x) > 0 && len(n.Content) > 0 {
			return d.mergeMap(n, tokens, x, depth)
		}
	case []any:
		if n.Kind == kyaml.SequenceNode && len(x) > 0 && len(n.Content) > 0 {
			return d.mergeSeq(len(n.Content), tokens, x, depth)
		}
	}
	return d.replace(f, v)
}

func child(tokens []string, tok string) []string {
	return append(append([]string(nil), tokens...), tok)
}

func (d *yamlDoc) mergeMap(n *kyaml.Node, tokens []string, m map[string]any, depth int) ([]byte, error) {
	var old []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		old = append(old, n.Content[i].Value)
	}
	b := d.t.b
	var err error
	for _, k := range sortedKeys(m) {
		if b, err = setDepth(b, d.json, child(tokens, k), m[k], depth+1); err != nil {
			return nil, err
		}
	}
	for _, k := range old {
		if _, ok := m[k]; ok {
			continue
		}
		if b, _, err = removeIn(b, d.json, child(tokens, k)); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (d *yamlDoc) mergeSeq(old int, tokens []string, s []any, depth int) ([]byte, error) {
	b := d.t.b
	var err error
	for i, v := range s {
		tok := "-"
		if i < old {
			tok = fmt.Sprint(i)
		}
		if b, err = setDepth(b, d.json, child(tokens, tok), v, depth+1); err != nil {
			return nil, err
		}
	}
	for i := old - 1; i >= len(s); i-- {
		if b, _, err = removeIn(b, d.json, child(tokens, fmt.Sprint(i))); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (d *yamlDoc) splice(s, e int, repl string) []byte {
	out := make([]byte, 0, len(d.t.b)-(e-s)+len(repl))
	out = append(out, d.t.b[:s]...)
	out = append(out, repl...)
	return append(out, d.t.b[e:]...)
}

// spliceLines splices text that ends a line. At the end of a document
// without a final line break, lines of their own get one: a literal block
// there would otherwise lose its last line break.
func (d *yamlDoc) spliceLines(s, e int, repl string) []byte {
	if e == len(d.t.b) && strings.ContainsAny(repl, "\r\n") {
		repl += d.t.newline()
	}
	return d.splice(s, e, repl)
}

// parentIndent is the indentation block scalars in frame f are measured
// from.
func (d *yamlDoc) parentIndent(f frame) (int, error) {
	if f.parent == nil {
		return -1, nil
	}
	if f.parent.Kind == kyaml.MappingNode {
		return f.key.Column - 1, nil
	}
	dash, err := d.dash(f.parent, f.index)
	if err != nil {
		return 0, err
	}
	return dash - d.t.lineStart(dash), nil
}

func isCollection(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// replace writes v in place of the value in frame f.
func (d *yamlDoc) replace(f frame, v any) ([]byte, error) {
	if f.parent == nil {
		return nil, fmt.Errorf("cannot replace a whole document: %w", ErrPath)
	}
	if f.flow || d.json {
		s, e, err := d.extent(f.node, 0, true, false)
		if err != nil {
			return nil, err
		}
		str, _ := layoutOf(d).inline(v, f.node, true)
		return d.splice(s, e, str), nil
	}
	ap, E, kept, err := d.valueRegion(f)
	if err != nil {
		return nil, err
	}
	repl, err := d.valueText(f, v, kept)
	if err != nil {
		return nil, err
	}
	return d.spliceLines(ap, E, repl), nil
}

// valueRegion returns the bytes a block value occupies, from the end of
// its key's colon (or its dash) to the end of its last line, and the
// comment to keep on the key's line.
func (d *yamlDoc) valueRegion(f frame) (int, int, string, error) {
	ap, err := d.anchorPoint(f)
	if err != nil {
		return 0, 0, "", err
	}
	s, err := d.pos(f.node)
	if err != nil {
		return 0, 0, "", err
	}
	pi, err := d.parentIndent(f)
	if err != nil {
		return 0, 0, "", err
	}
	e, err := d.end(f.node, pi, false)
	if err != nil {
		return 0, 0, "", err
	}
	if s < ap || e < s {
		return 0, 0, "", errLayout("value before its key")
	}
	E := d.t.lineEnd(e)
	kept, err := d.keptComment(ap, s, e, E)
	return ap, E, kept, err
}

// valueText renders v to follow a key's colon (or a dash): on the same
// line when it fits there, else on lines of its own below.
func (d *yamlDoc) valueText(f frame, v any, kept string) (string, error) {
	l := layoutOf(d)
	indent, err := d.valueIndent(f)
	if err != nil {
		return "", err
	}
	inItem := f.parent.Kind == kyaml.SequenceNode
	nl := d.t.newline()
	keepFlow := isFlow(f.node) && len(f.node.Content) > 0 && isCollection(v)
	if str, ok := l.inline(v, f.node, keepFlow); ok {
		return " " + str + kept, nil
	}
	if str, ok := v.(string); ok {
		ci := indent + l.unit
		if inItem {
			ci = indent
		}
		h, lines, _ := literal(str, ci)
		return " " + h + kept + nl + strings.Join(lines, nl), nil
	}
	lines := l.block(v, indent, inItem)
	switch {
	case len(lines) == 0:
		return "", errLayout("nothing to write")
	case !inItem:
		return kept + nl + strings.Join(lines, nl), nil
	}
	repl := " " + strings.TrimLeft(lines[0], " ") + kept
	if len(lines) > 1 {
		repl += nl + strings.Join(lines[1:], nl)
	}
	return repl, nil
}

// keptComment returns the comment that stays on the line of a key when its
// value [s, e) is replaced: the one after a one-line value, or the one on
// the key line of a value that starts below it.
func (d *yamlDoc) keptComment(ap, s, e, E int) (string, error) {
	apLine := d.t.lineNo(ap)
	switch {
	case d.t.lineNo(s) == apLine && d.t.lineNo(e) == apLine:
		if !d.t.onlyComment(e, E) {
			return "", errLayout("unexpected text after a value")
		}
		return strings.TrimRight(string(d.t.b[e:E]), " \t"), nil
	case d.t.lineNo(s) > apLine:
		le := d.t.lineEnd(ap)
		if d.t.onlyComment(ap, le) {
			return strings.TrimRight(string(d.t.b[ap:le]), " \t"), nil
		}
	}
	return "", nil
}

// addKey adds key: v to the mapping in frame f, after its last pair.
func (d *yamlDoc) addKey(f frame, key string, v any) ([]byte, error) {
	m := f.node
	l := layoutOf(d)
	if len(m.Content) == 0 && !f.flow && !d.json && f.parent != nil {
		return d.replace(f, map[string]any{key: v}) // {} under a key becomes a block
	}
	if isFlow(m) || d.json {
		str, _ := l.inline(v, nil, true)
		return d.flowAdd(f, l.key(key, true)+": "+str)
	}
	if len(m.Content) < 2 {
		return d.replace(f, map[string]any{key: v})
	}
	k := m.Content[len(m.Content)-2]
	e, err := d.end(m.Content[len(m.Content)-1], k.Column-1, false)
	if err != nil {
		return nil, err
	}
	E := d.t.lineEnd(e)
	lines := l.pair(key, v, m.Content[0].Column-1)
	nl := d.t.newline()
	return d.spliceLines(E, E, nl+strings.Join(lines, nl)), nil
}

// appendItem adds v after the last item of the sequence in frame f.
func (d *yamlDoc) appendItem(f frame, v any) ([]byte, error) {
	s := f.node
	l := layoutOf(d)
	if len(s.Content) == 0 && !f.flow && !d.json && f.parent != nil {
		return d.replace(f, []any{v}) // [] under a key becomes a block
	}
	if isFlow(s) || d.json {
		str, _ := l.inline(v, nil, true)
		return d.flowAdd(f, str)
	}
	last := len(s.Content) - 1
	dash, err := d.dash(s, last)
	if err != nil {
		return nil, err
	}
	indent := dash - d.t.lineStart(dash)
	e, err := d.end(s.Content[last], indent, false)
	if err != nil {
		return nil, err
	}
	E := d.t.lineEnd(e)
	lines := l.item(v, indent)
	nl := d.t.newline()
	return d.spliceLines(E, E, nl+strings.Join(lines, nl)), nil
}

// flowAdd adds an entry at the end of the flow collection in frame f: on
// the last entry's line, or on a line of its own when the entries are one
// to a line.
func (d *yamlDoc) flowAdd(f frame, entry string) ([]byte, error) {
	n := f.node
	s, err := d.pos(n)
	if err != nil {
		return nil, err
	}
	p := d.t.skipSpace(d.t.skipProps(s))
	if p >= len(d.t.b) || (d.t.b[p] != '{' && d.t.b[p] != '[') {
		return nil, errLayout("flow collection not found")
	}
	closing, err := d.t.bracketEnd(p)
	if err != nil {
		return nil, err
	}
	if len(n.Content) == 0 {
		return d.splice(p+1, p+1, entry), nil
	}
	last := n.Content[len(n.Content)-1]
	le, err := d.end(last, 0, true)
	if err != nil {
		return nil, err
	}
	start := last
	if n.Kind == kyaml.MappingNode {
		start = n.Content[len(n.Content)-2]
	}
	sp, err := d.pos(start)
	if err != nil {
		return nil, err
	}
	if d.t.lineNo(le) == d.t.lineNo(closing-1) || !d.t.blankBefore(sp) {
		return d.splice(le, le, ", "+entry), nil
	}
	nl := d.t.newline()
	return d.splice(le, le, ","+nl+string(d.t.b[d.t.lineStart(sp):sp])+entry), nil
}

// removeIn removes the value at tokens and reports whether it was there.
// A mapping or sequence left empty is written as {} or [].
func removeIn(b []byte, json bool, tokens []string) ([]byte, bool, error) {
	d, err := parseDoc(b, json)
	if err != nil {
		return nil, false, err
	}
	frames, rest, err := d.locate(tokens)
	if err != nil {
		return nil, false, err
	}
	if len(rest) > 0 {
		return b, false, nil
	}
	f := frames[len(frames)-1]
	if f.parent == nil {
		return nil, false, fmt.Errorf("cannot remove a whole document: %w", ErrPath)
	}
	if isFlow(f.parent) || f.flow || json {
		out, err := d.flowRemove(f)
		return out, true, err
	}
	entries := len(f.parent.Content)
	if f.parent.Kind == kyaml.MappingNode {
		entries /= 2
	}
	if entries == 1 {
		pf := frames[len(frames)-2]
		if pf.parent == nil {
			return nil, false, fmt.Errorf("removing %s would leave the document empty: %w", pointer(tokens), ErrPath)
		}
		var empty any = map[string]any{}
		if f.parent.Kind == kyaml.SequenceNode {
			empty = []any{}
		}
		out, err := d.replace(pf, empty)
		return out, true, err
	}
	out, err := d.removeBlock(f, f.parent == d.root)
	return out, true, err
}

// entryStart returns where entry i of a collection starts: its key, or its
// dash (block) or value (flow).
func (d *yamlDoc) entryStart(parent *kyaml.Node, i int) (int, error) {
	if parent.Kind == kyaml.MappingNode {
		return d.pos(parent.Content[2*i])
	}
	if isFlow(parent) {
		return d.pos(parent.Content[i])
	}
	return d.dash(parent, i)
}

// removeBlock removes the entry in frame f of a block collection, with the
// comment lines right above it.
func (d *yamlDoc) removeBlock(f frame, top bool) ([]byte, error) {
	start, err := d.entryStart(f.parent, f.index)
	if err != nil {
		return nil, err
	}
	pi, err := d.parentIndent(f)
	if err != nil {
		return nil, err
	}
	e, err := d.end(f.node, pi, false)
	if err != nil {
		return nil, err
	}
	E := d.t.lineEnd(e)
	if !d.t.blankBefore(start) {
		// The first entry shares its line with a parent's dash: pull the
		// next entry up to it.
		if f.index != 0 {
			return nil, errLayout("entry does not start its line")
		}
		next, err := d.entryStart(f.parent, f.index+1)
		if err != nil {
			return nil, err
		}
		return d.splice(start, next, ""), nil
	}
	ls := d.t.lineStart(start)
	indent := start - ls
	for !(top && f.index == 0) {
		k := d.t.lineNo(ls)
		if k == 1 {
			break
		}
		ps := d.t.lines[k-2]
		if c, in := d.t.commentLine(ps); !c || in != indent {
			break
		}
		ls = ps
	}
	return d.splice(ls, E+breakLen(d.t.b, E), ""), nil
}

// flowRemove removes the entry in frame f of a flow collection with the
// comma that separates it.
func (d *yamlDoc) flowRemove(f frame) ([]byte, error) {
	p := f.parent
	n := len(p.Content)
	if p.Kind == kyaml.MappingNode {
		n /= 2
	}
	start, err := d.entryStart(p, f.index)
	if err != nil {
		return nil, err
	}
	e, err := d.end(f.node, 0, true)
	if err != nil {
		return nil, err
	}
	switch {
	case n == 1:
		return d.splice(start, e, ""), nil
	case f.index < n-1:
		next, err := d.entryStart(p, f.index+1)
		if err != nil {
			return nil, err
		}
		return d.splice(start, next, ""), nil
	}
	prev := p.Content[f.index-1]
	if p.Kind == kyaml.MappingNode {
		prev = p.Content[2*f.index-1]
	}
	pe, err := d.end(prev, 0, true)
	if err != nil {
		return nil, err
	}
	return d.splice(pe, e, ""), nil
}

// lineOf returns the 1-based line of the value at tokens: its key's line,
// or its dash's for a sequence item.
func lineOf(b []byte, json bool, tokens []string) (int, bool) {
	d, err := parseDoc(b, json)
	if err != nil {
		return 0, false
	}
	frames, rest, err := d.locate(tokens)
	if err != nil || len(rest) > 0 {
		return 0, false
	}
	f := frames[len(frames)-1]
	switch {
	case f.key != nil:
		return f.key.Line, true
	case f.parent != nil && !isFlow(f.parent) && !f.flow:
		if p, err := d.dash(f.parent, f.index); err == nil {
			return d.t.lineNo(p), true
		}
	}
	return f.node.Line, true
}
