package writeback

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// text is the bytes of one YAML document with a table of its lines, so that
// the line and column yaml.v3 reports for a node can be turned into a byte
// offset. Lines are cut where yaml.v3 cuts them (\r\n, \r, \n, NEL, LS, PS)
// and columns count characters, as yaml.v3 does.
type text struct {
	b     []byte
	lines []int // byte offset where each line starts
}

var utf8BOM = []byte("\xef\xbb\xbf")

func newText(b []byte) *text {
	t := &text{b: b, lines: []int{0}}
	for i := 0; i < len(b); {
		if n := breakLen(b, i); n > 0 {
			i += n
			t.lines = append(t.lines, i)
			continue
		}
		i++
	}
	return t
}

// breakLen returns the length of the line break at i, or 0.
func breakLen(b []byte, i int) int {
	switch {
	case i >= len(b):
		return 0
	case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
		return 2
	case b[i] == '\r' || b[i] == '\n':
		return 1
	case b[i] == 0xC2 && i+1 < len(b) && b[i+1] == 0x85:
		return 2
	case b[i] == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9):
		return 3
	}
	return 0
}

// errLayout reports a position that does not fit the text: the document is
// laid out in a way the editor does not handle.
func errLayout(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrUnsupported)
}

// off returns the byte offset of a 1-based line and character column.
func (t *text) off(line, col int) (int, error) {
	if line < 1 || line > len(t.lines) || col < 1 {
		return 0, errLayout("position %d:%d is outside the document", line, col)
	}
	p := t.lines[line-1]
	if line == 1 && bytes.HasPrefix(t.b, utf8BOM) {
		p += len(utf8BOM)
	}
	for c := 1; c < col; c++ {
		if p >= len(t.b) || breakLen(t.b, p) > 0 {
			return 0, errLayout("position %d:%d is outside the document", line, col)
		}
		_, n := utf8.DecodeRune(t.b[p:])
		p += n
	}
	return p, nil
}

// lineNo returns the 1-based line holding offset p.
func (t *text) lineNo(p int) int {
	lo, hi := 0, len(t.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if t.lines[mid] <= p {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1
}

// lineStart returns the offset where the line holding p starts.
func (t *text) lineStart(p int) int { return t.lines[t.lineNo(p)-1] }

// lineEnd returns the offset of the line break ending the line holding p
// (or the end of the text).
func (t *text) lineEnd(p int) int {
	for i := p; i < len(t.b); i++ {
		if breakLen(t.b, i) > 0 {
			return i
		}
	}
	return len(t.b)
}

// nextLine returns the offset of the line after the one holding p, or the
// end of the text.
func (t *text) nextLine(p int) int {
	e := t.lineEnd(p)
	return e + breakLen(t.b, e)
}

// newline returns the line break the text uses ("\n" when it has none).
func (t *text) newline() string {
	for i := 0; i < len(t.b); i++ {
		if n := breakLen(t.b, i); n > 0 {
			if s := string(t.b[i : i+n]); s == "\r\n" {
				return s
			}
			return "\n"
		}
	}
	return "\n"
}

// indentAt returns the number of spaces starting the line holding p.
func (t *text) indentAt(p int) int {
	s := t.lineStart(p)
	n := 0
	for s+n < len(t.b) && t.b[s+n] == ' ' {
		n++
	}
	return n
}

// blankBefore reports whether only spaces precede p on its line.
func (t *text) blankBefore(p int) bool {
	for i := t.lineStart(p); i < p; i++ {
		if t.b[i] != ' ' && t.b[i] != '\t' {
			return false
		}
	}
	return true
}

// commentLine reports whether the line starting at s holds only a comment,
// and its indentation.
func (t *text) commentLine(s int) (bool, int) {
	i := s
	for i < len(t.b) && t.b[i] == ' ' {
		i++
	}
	return i < len(t.b) && t.b[i] == '#', i - s
}

// onlyComment reports whether b[from:to] holds nothing but blanks and a
// comment.
func (t *text) onlyComment(from, to int) bool {
	s := strings.TrimLeft(string(t.b[from:to]), " \t")
	return s == "" || s[0] == '#'
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func (t *text) isBreakOrEnd(i int) bool { return i >= len(t.b) || breakLen(t.b, i) > 0 }

func (t *text) isBlankOrEnd(i int) bool { return t.isBreakOrEnd(i) || isBlank(t.b[i]) }

func isFlowIndicator(c byte) bool { return strings.IndexByte(",[]{}", c) >= 0 }

// skipProps skips the anchor and tag properties of a node and the blanks
// after them, on one line.
func (t *text) skipProps(p int) int {
	for p < len(t.b) && (t.b[p] == '&' || t.b[p] == '!') {
		for p < len(t.b) && !t.isBlankOrEnd(p) {
			p++
		}
		for p < len(t.b) && isBlank(t.b[p]) {
			p++
		}
	}
	return p
}

// skipSpace skips blanks, line breaks and comments.
func (t *text) skipSpace(p int) int {
	for p < len(t.b) {
		switch {
		case isBlank(t.b[p]):
			p++
		case breakLen(t.b, p) > 0:
			p += breakLen(t.b, p)
		case t.b[p] == '#':
			p = t.lineEnd(p)
		default:
			return p
		}
	}
	return p
}

// doubleEnd returns the offset after the double-quoted scalar opening at p.
func (t *text) doubleEnd(p int) (int, error) {
	for i := p + 1; i < len(t.b); i++ {
		switch t.b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errLayout("unterminated double-quoted scalar")
}

// singleEnd returns the offset after the single-quoted scalar opening at p.
func (t *text) singleEnd(p int) (int, error) {
	for i := p + 1; i < len(t.b); i++ {
		if t.b[i] != '\'' {
			continue
		}
		if i+1 < len(t.b) && t.b[i+1] == '\'' {
			i++
			continue
		}
		return i + 1, nil
	}
	return 0, errLayout("unterminated single-quoted scalar")
}

// plainLineEnd returns where a plain scalar starting at p ends on its line:
// before a comment, a flow indicator in flow context, or the ": " after a
// key.
func (t *text) plainLineEnd(p int, flow, key bool) int {
	end := p
	for i := p; i < len(t.b) && breakLen(t.b, i) == 0; i++ {
		c := t.b[i]
		if c == '#' && i > p && isBlank(t.b[i-1]) {
			break
		}
		if flow && isFlowIndicator(c) {
			break
		}
		if c == ':' && (key || flow) && (t.isBlankOrEnd(i+1) || (flow && isFlowIndicator(t.b[i+1]))) {
			break
		}
		if !isBlank(c) {
			end = i + 1
		}
	}
	return end
}

// plainEnd returns the offset after the plain scalar starting at p whose
// value is value, following it over continuation lines when it spans more
// than one.
func (t *text) plainEnd(p int, value string, flow, key bool) (int, error) {
	end := t.plainLineEnd(p, flow, key)
	want := strings.Fields(value)
	got := strings.Fields(string(t.b[p:end]))
	for i := 0; i < 10000 && !equalStrings(got, want); i++ {
		if len(got) >= len(want) || end >= len(t.b) {
			return 0, errLayout("plain scalar does not match its value")
		}
		s := t.nextLine(end)
		for s < len(t.b) && isBlank(t.b[s]) {
			s++
		}
		if s >= len(t.b) {
			return 0, errLayout("plain scalar does not match its value")
		}
		if breakLen(t.b, s) > 0 {
			end = s
			continue
		}
		e := t.plainLineEnd(s, flow, key)
		if e == s {
			return 0, errLayout("plain scalar does not match its value")
		}
		got = append(got, strings.Fields(string(t.b[s:e]))...)
		end = e
	}
	if !equalStrings(got, want) {
		return 0, errLayout("plain scalar does not match its value")
	}
	return end, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// blockScalarEnd returns the offset after the last content line of the
// literal or folded scalar whose indicator is at p. parentIndent is the
// indentation of the node holding it.
func (t *text) blockScalarEnd(p, parentIndent int) int {
	i := p + 1
	explicit := 0
	for i < len(t.b) && strings.IndexByte("+-0123456789", t.b[i]) >= 0 {
		if t.b[i] >= '1' && t.b[i] <= '9' {
			explicit = int(t.b[i] - '0')
		}
		i++
	}
	end := i
	content := -1
	if explicit > 0 {
		content = max(parentIndent, 0) + explicit
	}
	for s := t.nextLine(p); s < len(t.b); s = t.nextLine(s) {
		n := 0
		for s+n < len(t.b) && t.b[s+n] == ' ' {
			n++
		}
		if t.isBlankLine(s) {
			continue
		}
		if content < 0 {
			if n <= parentIndent {
				break
			}
			content = n
		}
		if n < content {
			break
		}
		end = t.lineEnd(s)
	}
	return end
}

// isBlankLine reports whether the line starting at s holds only blanks.
func (t *text) isBlankLine(s int) bool {
	for i := s; i < len(t.b) && breakLen(t.b, i) == 0; i++ {
		if !isBlank(t.b[i]) {
			return false
		}
	}
	return true
}

// quoteStart reports whether a quote at i opens a quoted scalar inside a
// flow collection, rather than sitting inside a plain one.
func (t *text) quoteStart(i int) bool {
	for j := i - 1; j >= 0; j-- {
		c := t.b[j]
		if isBlank(c) {
			continue
		}
		return strings.IndexByte("[{,:\r\n", c) >= 0
	}
	return true
}

// bracketEnd returns the offset after the flow collection opening at p.
func (t *text) bracketEnd(p int) (int, error) {
	depth := 0
	for i := p; i < len(t.b); i++ {
		c := t.b[i]
		switch {
		case (c == '"' || c == '\'') && t.quoteStart(i):
			end, err := t.quotedEnd(i)
			if err != nil {
				return 0, err
			}
			i = end - 1
		case c == '#' && i > p && t.isBlankOrEnd(i-1):
			i = t.lineEnd(i) - 1
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, errLayout("unterminated flow collection")
}

func (t *text) quotedEnd(p int) (int, error) {
	if t.b[p] == '"' {
		return t.doubleEnd(p)
	}
	return t.singleEnd(p)
}
