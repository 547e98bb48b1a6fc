package writeback

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// layout is how a document indents: the width of one level and whether a
// sequence under a key sits at the key's column ("compact") or one level
// in ("wide"). New lines follow the document's own layout.
type layout struct {
	unit    int
	compact bool
	json    bool // write JSON (a .json file)
}

// layoutOf derives the layout of a document from its first nested mapping
// and its first sequence under a key.
func layoutOf(d *yamlDoc) layout {
	l := layout{unit: 2, json: d.json}
	l.compact = kyaml.DeriveSeqIndentStyle(string(d.t.b)) == string(kyaml.CompactSequenceStyle)
	if u := nestedUnit(d.root, 0); u > 0 && u <= 8 {
		l.unit = u
	}
	return l
}

// nestedUnit returns how far the first block mapping nested under a key is
// indented from that key, or 0.
func nestedUnit(n *kyaml.Node, depth int) int {
	if n == nil || depth > 50 || isFlow(n) {
		return 0
	}
	if n.Kind == kyaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == kyaml.MappingNode && !isFlow(v) && len(v.Content) > 0 && v.Content[0].Line > k.Line {
				return v.Content[0].Column - k.Column
			}
		}
	}
	for _, c := range n.Content {
		if u := nestedUnit(c, depth+1); u > 0 {
			return u
		}
	}
	return 0
}

func spaces(n int) string { return strings.Repeat(" ", max(n, 0)) }

// inline renders v on one line, keeping the quoting style of the scalar it
// replaces (old may be nil). It reports false for a value that needs block
// lines: a non-empty mapping or sequence, or a multi-line string that a
// literal block can hold, outside flow context.
func (l layout) inline(v any, old *kyaml.Node, flow bool) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return formatFloat(x), true
	case string:
		return l.inlineString(x, old, flow)
	case map[string]any:
		if len(x) == 0 {
			return "{}", true
		}
	case []any:
		if len(x) == 0 {
			return "[]", true
		}
	}
	if flow || l.json {
		return jsonText(v), true
	}
	return "", false
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func (l layout) inlineString(s string, old *kyaml.Node, flow bool) (string, bool) {
	style := kyaml.Style(0)
	if old != nil && old.Kind == kyaml.ScalarNode {
		style = old.Style
	}
	if strings.Contains(s, "\n") && !flow && !l.json {
		if _, _, ok := literal(s, 0); ok {
			return "", false
		}
	}
	switch {
	case l.json || style&kyaml.DoubleQuotedStyle != 0:
		return jsonText(s), true
	case style&kyaml.SingleQuotedStyle != 0 && singleQuotable(s):
		return "'" + strings.ReplaceAll(s, "'", "''") + "'", true
	}
	p := plainString(s)
	if flow && (p != s || strings.ContainsAny(s, ",[]{}#") || strings.Contains(s, ": ")) {
		return jsonText(s), true
	}
	return p, true
}

func singleQuotable(s string) bool {
	return !strings.ContainsAny(s, "\n\r") && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// plainString renders a one-line string the way yaml.v3 does: plain when
// it reads back as the same string (in YAML 1.1 too), quoted otherwise.
func plainString(s string) string {
	out, err := kyaml.Marshal(s)
	if err != nil {
		return jsonText(s)
	}
	r := strings.TrimSuffix(string(out), "\n")
	if strings.ContainsAny(r, "\n\r") || r == "" {
		return jsonText(s)
	}
	return r
}

// key renders a mapping key.
func (l layout) key(k string, flow bool) string {
	if l.json {
		return jsonText(k)
	}
	s, _ := l.inlineString(k, nil, flow)
	if strings.Contains(s, "\n") {
		return jsonText(k)
	}
	return s
}

// jsonText renders v as compact JSON, which is also valid YAML flow.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "null"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// literal renders a multi-line string as a literal block scalar: the
// header ("|", "|-") and the content lines at indent. It reports false for
// strings a literal block cannot hold exactly.
func literal(s string, indent int) (string, []string, bool) {
	if !strings.Contains(s, "\n") || strings.ContainsAny(s, "\r") || strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") || strings.HasPrefix(s, "\t") {
		return "", nil, false
	}
	if strings.IndexFunc(s, func(r rune) bool { return r != '\n' && r != '\t' && !unicode.IsPrint(r) }) >= 0 {
		return "", nil, false
	}
	header := "|-"
	body := s
	if strings.HasSuffix(s, "\n") {
		if strings.HasSuffix(s, "\n\n") {
			return "", nil, false
		}
		header, body = "|", strings.TrimSuffix(s, "\n")
	}
	var lines []string
	for _, line := range strings.Split(body, "\n") {
		if strings.TrimRight(line, " \t") == "" && line != "" {
			return "", nil, false // a blank line with trailing blanks does not read back
		}
		if line == "" {
			lines = append(lines, "")
			continue
		}
		lines = append(lines, spaces(indent)+line)
	}
	return header, lines, true
}

// keyOrder are keys new mappings start with, in this order, as Kubernetes
// manifests and kustomizations have them; other keys follow sorted.
var keyOrder = []string{"op", "path", "group", "version", "kind", "name", "namespace"}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if i := slices.Index(keyOrder, k); i >= 0 {
			return i
		}
		return len(keyOrder)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return keys
}

// pair renders "key: value" at indent, over as many lines as it needs.
func (l layout) pair(k string, v any, indent int) []string {
	head := spaces(indent) + l.key(k, false) + ":"
	if s, ok := l.inline(v, nil, false); ok {
		return []string{head + " " + s}
	}
	switch x := v.(type) {
	case string:
		h, lines, _ := literal(x, indent+l.unit)
		return append([]string{head + " " + h}, lines...)
	case map[string]any:
		return append([]string{head}, l.mapping(x, indent+l.unit)...)
	case []any:
		in := indent + l.unit
		if l.compact {
			in = indent
		}
		return append([]string{head}, l.sequence(x, in)...)
	}
	return []string{head + " null"}
}

// mapping renders the pairs of a mapping at indent, keys sorted.
func (l layout) mapping(m map[string]any, indent int) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, l.pair(k, m[k], indent)...)
	}
	return out
}

// sequence renders the items of a sequence with their dashes at indent.
func (l layout) sequence(s []any, indent int) []string {
	var out []string
	for _, v := range s {
		out = append(out, l.item(v, indent)...)
	}
	return out
}

// item renders one sequence item with its dash at indent.
func (l layout) item(v any, indent int) []string {
	dash := spaces(indent) + "- "
	if s, ok := l.inline(v, nil, false); ok {
		return []string{dash + s}
	}
	var lines []string
	switch x := v.(type) {
	case string:
		h, body, _ := literal(x, indent+2)
		return append([]string{dash + h}, body...)
	case map[string]any:
		lines = l.mapping(x, indent+2)
	case []any:
		lines = l.sequence(x, indent+2)
	}
	if len(lines) == 0 {
		return []string{dash + "null"}
	}
	lines[0] = dash + strings.TrimLeft(lines[0], " ")
	return lines
}

// block renders a value that needs lines of its own under a key at
// keyIndent or as a sequence item whose content starts at keyIndent.
func (l layout) block(v any, keyIndent int, inItem bool) []string {
	switch x := v.(type) {
	case map[string]any:
		if inItem {
			return l.mapping(x, keyIndent)
		}
		return l.mapping(x, keyIndent+l.unit)
	case []any:
		switch {
		case inItem:
			return l.sequence(x, keyIndent)
		case l.compact:
			return l.sequence(x, keyIndent)
		}
		return l.sequence(x, keyIndent+l.unit)
	}
	return nil
}
