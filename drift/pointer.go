package drift

import (
	"errors"
	"fmt"
	"strings"
)

// SplitPointer parses an RFC 6901 JSON pointer into its unescaped reference
// tokens: "/metadata/annotations/a~1b" gives [metadata annotations a/b]. The
// empty pointer refers to the whole document and has no tokens. A pointer
// that does not start with "/" or holds a "~" not followed by 0 or 1 is an
// error.
func SplitPointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("json pointer %q: must be empty or start with /", p)
	}
	raw := strings.Split(p[1:], "/")
	tokens := make([]string, len(raw))
	for i, t := range raw {
		tok, err := unescapeToken(t)
		if err != nil {
			return nil, fmt.Errorf("json pointer %q: %w", p, err)
		}
		tokens[i] = tok
	}
	return tokens, nil
}

// JoinPointer builds a JSON pointer from unescaped reference tokens; it is the
// inverse of SplitPointer.
func JoinPointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(EscapeToken(t))
	}
	return b.String()
}

// EscapeToken escapes one reference token: "~" becomes "~0" and "/" becomes
// "~1".
func EscapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

var errBadEscape = errors.New("~ must be followed by 0 or 1")

func unescapeToken(t string) (string, error) {
	if !strings.Contains(t, "~") {
		return t, nil
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] != '~' {
			b.WriteByte(t[i])
			continue
		}
		if i+1 == len(t) {
			return "", errBadEscape
		}
		switch t[i+1] {
		case '0':
			b.WriteByte('~')
		case '1':
			b.WriteByte('/')
		default:
			return "", errBadEscape
		}
		i++
	}
	return b.String(), nil
}

// hasPrefix reports whether the token path prefix is path itself or one of
// its ancestors.
func hasPrefix(path, prefix []string) bool {
	if len(prefix) > len(path) {
		return false
	}
	for i, t := range prefix {
		if path[i] != t {
			return false
		}
	}
	return true
}

// parsePointers splits each pointer, dropping the ones that do not parse
// (they cannot name a field) and the empty pointer (ignoring the whole
// document is not a field-level rule).
func parsePointers(pointers []string) [][]string {
	out := make([][]string, 0, len(pointers))
	for _, p := range pointers {
		tokens, err := SplitPointer(p)
		if err != nil || len(tokens) == 0 {
			continue
		}
		out = append(out, tokens)
	}
	return out
}
