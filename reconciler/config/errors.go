package config

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in the config file, located by its field path.
type FieldError struct {
	// Path is the field path, e.g. targets[2].source. Empty for file-level problems.
	Path string `json:"path"`
	// Message says what is wrong and, where it can, what to write instead.
	Message string `json:"message"`
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Errors is every problem found in a config file.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// errs collects FieldErrors while a config is checked.
type errs struct{ list Errors }

func (c *errs) add(path, format string, args ...any) {
	c.list = append(c.list, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// result returns the collected errors sorted by path, or nil.
func (c *errs) result() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool { return pathLess(c.list[i].Path, c.list[j].Path) })
	return c.list
}

// pathLess orders field paths so that targets[2] comes before targets[10].
func pathLess(a, b string) bool {
	ka, kb := pathKey(a), pathKey(b)
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return len(ka) < len(kb)
}

func pathKey(p string) []string {
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	for i, s := range parts {
		if n := len(s); n > 0 && s[0] >= '0' && s[0] <= '9' {
			parts[i] = fmt.Sprintf("%010s", s)
		}
	}
	return parts
}

func field(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func index(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// suggest returns ` (did you mean "x"?)` when a candidate is close to got.
func suggest(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(got), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(got)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
