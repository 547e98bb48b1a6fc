package writeback

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestEditDoc covers the text editor on small documents: each case is a
// document, a path, a value (or a removal) and the exact text expected.
func TestEditDoc(t *testing.T) {
	tests := []struct {
		name   string
		json   bool
		src    string
		path   string
		value  any
		remove bool
		want   string
		err    error
	}{
		{name: "scalar keeps its comment", src: "a: 1 # one\nb: 2\n", path: "/a", value: 5, want: "a: 5 # one\nb: 2\n"},
		{name: "double quotes stay", src: "a: \"x\"\n", path: "/a", value: "y", want: "a: \"y\"\n"},
		{name: "single quotes stay", src: "a: 'it''s'\n", path: "/a", value: "it's new", want: "a: 'it''s new'\n"},
		{name: "plain string that reads as a bool is quoted", src: "a: x\n", path: "/a", value: "yes", want: "a: \"yes\"\n"},
		{name: "number string is quoted", src: "a: x\n", path: "/a", value: "5", want: "a: \"5\"\n"},
		{name: "float", src: "a: 1\n", path: "/a", value: 1.5, want: "a: 1.5\n"},
		{name: "non-ascii before the value", src: "é: 1\nb: \"ü\" # c\n", path: "/b", value: "ß", want: "é: 1\nb: \"ß\" # c\n"},
		{name: "crlf kept", src: "a: 1\r\nb:\r\n  c: 2\r\n", path: "/b/d", value: 3, want: "a: 1\r\nb:\r\n  c: 2\r\n  d: 3\r\n"},
		{name: "new key after the last, before a trailing comment", src: "a:\n  b: 1\n  # end\nc: 2\n", path: "/a/z", value: "q", want: "a:\n  b: 1\n  z: q\n  # end\nc: 2\n"},
		{name: "new nested mapping", src: "a:\n  b: 1\n", path: "/a/c/d", value: 2, want: "a:\n  b: 1\n  c:\n    d: 2\n"},
		{name: "four-space indentation followed", src: "a:\n    b: 1\n", path: "/a/c", value: map[string]any{"d": 2}, want: "a:\n    b: 1\n    c:\n        d: 2\n"},
		{name: "compact sequence style followed", src: "a:\n- x\nb:\n  c: 1\n", path: "/b/l", value: []any{"y"}, want: "a:\n- x\nb:\n  c: 1\n  l:\n  - \"y\"\n"},
		{name: "wide sequence style followed", src: "a:\n  - x\nb:\n  c: 1\n", path: "/b/l", value: []any{"z"}, want: "a:\n  - x\nb:\n  c: 1\n  l:\n    - z\n"},
		{name: "append an item", src: "l:\n- a\n- b\n", path: "/l/2", value: "c", want: "l:\n- a\n- b\n- c\n"},
		{name: "append with dash", src: "l:\n- a\n", path: "/l/-", value: map[string]any{"name": "web", "v": 1}, want: "l:\n- a\n- name: web\n  v: 1\n"},
		{name: "index past the end", src: "l:\n- a\n", path: "/l/3", value: "c", err: ErrPath},
		{name: "through a scalar", src: "a: 1\n", path: "/a/b", value: "c", err: ErrPath},
		{name: "null becomes a mapping", src: "a:\nb: 1\n", path: "/a/c", value: 1, want: "a:\n  c: 1\nb: 1\n"},
		{name: "tilde null with comment", src: "a: ~ # none\n", path: "/a", value: map[string]any{"x": []any{1}}, want: "a: # none\n  x:\n  - 1\n"},
		{name: "empty flow mapping becomes block", src: "a:\n  e: {}\n", path: "/a/e/m", value: "Memory", want: "a:\n  e:\n    m: Memory\n"},
		{name: "flow sequence item", src: "a: [x, y]\n", path: "/a/1", value: "z", want: "a: [x, z]\n"},
		{name: "flow sequence append", src: "a: [1, 2]\n", path: "/a/2", value: 3, want: "a: [1, 2, 3]\n"},
		{name: "flow mapping member", src: "a: {b: 1, c: 2}\n", path: "/a/c", value: "x, y", want: "a: {b: 1, c: \"x, y\"}\n"},
		{name: "flow mapping remove first", src: "a: {b: 1, c: 2}\n", path: "/a/b", remove: true, want: "a: {c: 2}\n"},
		{name: "flow mapping remove last", src: "a: {b: 1, c: 2}\n", path: "/a/c", remove: true, want: "a: {b: 1}\n"},
		{name: "literal block replaced by literal", src: "a: |\n  x\n  y\nb: 1\n", path: "/a", value: "p\nq\n", want: "a: |\n  p\n  q\nb: 1\n"},
		{name: "literal block replaced by scalar", src: "a: |\n  x\n  y\nb: 1\n", path: "/a", value: "z", want: "a: z\nb: 1\n"},
		{name: "folded block replaced", src: "a: >\n  folded\n  text\nc: 2\n", path: "/a", value: "plain", want: "a: plain\nc: 2\n"},
		{name: "multi-line string added as literal", src: "a:\n  b: 1\n", path: "/a/c", value: "l1\nl2", want: "a:\n  b: 1\n  c: |-\n    l1\n    l2\n"},
		{name: "block mapping replaced by scalar", src: "a:\n  b: 1\n  c: 2\nd: 3\n", path: "/a", value: "s", want: "a: s\nd: 3\n"},
		{name: "mapping merged member by member", src: "a:\n  b: 1 # keep\n  c: 2\n", path: "/a", value: map[string]any{"b": 1, "d": 4}, want: "a:\n  b: 1 # keep\n  d: 4\n"},
		{name: "sequence merged item by item", src: "l:\n- a # first\n- b\n- c\n", path: "/l", value: []any{"a", "x"}, want: "l:\n- a # first\n- x\n"},
		{name: "remove with attached comment", src: "a:\n  # about b\n  b: 1\n  c: 2\n", path: "/a/b", remove: true, want: "a:\n  c: 2\n"},
		{name: "remove last key leaves an empty mapping", src: "a:\n  b: 1\nc: 2\n", path: "/a/b", remove: true, want: "a: {}\nc: 2\n"},
		{name: "remove last item leaves an empty list", src: "a:\n- 1\nc: 2\n", path: "/a/0", remove: true, want: "a: []\nc: 2\n"},
		{name: "remove the first key of an item", src: "l:\n- n: a\n  v: 1\n", path: "/l/0/n", remove: true, want: "l:\n- v: 1\n"},
		{name: "remove an item", src: "l:\n- a\n- b\n- c\n", path: "/l/1", remove: true, want: "l:\n- a\n- c\n"},
		{name: "remove at the end without a final newline", src: "a: 1\nb: x", path: "/b", remove: true, want: "a: 1\n"},
		{name: "remove a key whose block scalar ends the file", src: "a: 1\nb:\n  c: |\n    x\n  d: 1", path: "/b/d", remove: true, want: "a: 1\nb:\n  c: |\n    x\n"},
		{name: "remove the only key of the document", src: "a: 1\n", path: "/a", remove: true, err: ErrPath},
		{name: "alias target is not changed", src: "a: &x 5\nb: *x\n", path: "/a", value: 6, err: ErrUnsupported},
		{name: "key n stays a string to both readers", src: "l:\n- n: a\n  v: 1\n", path: "/l/0/n", value: "b", want: "l:\n- n: b\n  v: 1\n"},
		{name: "json member", json: true, src: "{\n  \"a\": 1,\n  \"b\": \"x\"\n}\n", path: "/b", value: "y", want: "{\n  \"a\": 1,\n  \"b\": \"y\"\n}\n"},
		{name: "json new member on its own line", json: true, src: "{\n  \"a\": 1\n}\n", path: "/c", value: map[string]any{"d": []any{1}}, want: "{\n  \"a\": 1,\n  \"c\": {\"d\":[1]}\n}\n"},
		{name: "json remove", json: true, src: "{\n  \"a\": 1,\n  \"b\": 2\n}\n", path: "/a", remove: true, want: "{\n  \"b\": 2\n}\n"},
		{name: "json multi-line string", json: true, src: "{\"a\": \"x\"}", path: "/a", value: "p\nq", want: "{\"a\": \"p\\nq\"}"},
		{name: "no change when equal", src: "a: \"5\"\n", path: "/a", value: "5", want: "a: \"5\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := normalizeLive(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			tokens := strings.Split(tt.path, "/")[1:]
			got, _, err := editDoc([]byte(tt.src), tt.json, tokens, v, tt.remove)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestSplitChunks checks that documents are cut where kubectl cuts them.
func TestSplitChunks(t *testing.T) {
	src := "# head\n---\na: 1\n--- # two\nb: 2\n---x\nc: 3\n"
	var got []string
	for _, c := range splitChunks([]byte(src), false) {
		got = append(got, strconv.Itoa(c.line)+":"+src[c.start:c.end])
	}
	want := []string{"1:# head\n", "3:a: 1\n", "5:b: 2\n---x\nc: 3\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestParseImage covers the image references images entries act on.
func TestParseImage(t *testing.T) {
	tests := []struct{ ref, name, tag, digest string }{
		{"nginx", "nginx", "", ""},
		{"nginx:1.25", "nginx", "1.25", ""},
		{"registry:5000/team/app:v1", "registry:5000/team/app", "v1", ""},
		{"registry:5000/app", "registry:5000/app", "", ""},
		{"app@sha256:abc", "app", "", "sha256:abc"},
		{"app:v1@sha256:abc", "app", "v1", "sha256:abc"},
	}
	for _, tt := range tests {
		n, tag, d := parseImage(tt.ref)
		if n != tt.name || tag != tt.tag || d != tt.digest {
			t.Errorf("parseImage(%q) = %q %q %q", tt.ref, n, tag, d)
		}
	}
}

// FuzzEditDoc sets and removes values at paths of arbitrary documents. It
// must not panic, and every edit it accepts has passed the read-back check:
// it is read here once more.
func FuzzEditDoc(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb:\n  c: [1, {d: e}]\n  f: |\n    x\n",
		"l:\n- n: a\n  v: 1\n- - x\n  - y\n",
		"{\"a\": {\"b\": [1, 2]}}",
		"a: &x {b: 1}\nc: *x\nd: !!str 5\n",
		"k: 'multi\n  line'\nm: \"esc\\\"aped\"\n",
		"? complex\n: value\n",
	} {
		f.Add([]byte(s), uint8(0), uint8(0), false)
	}
	values := []any{int64(3), "x: y", "a\nb\n", map[string]any{"k": []any{"v", int64(1)}}, []any{}, map[string]any{}, nil, "- z", "#", ""}
	f.Fuzz(func(t *testing.T, data []byte, pick, value uint8, json bool) {
		var doc any
		if kyaml.NewDecoder(bytes.NewReader(data)).Decode(&doc) != nil {
			return
		}
		paths := pathsOf(canon(doc), nil, 0)
		if len(paths) == 0 {
			return
		}
		tokens := paths[int(pick)%len(paths)]
		if value%3 == 0 {
			tokens = append(tokens, "new")
		}
		v := values[int(value)%len(values)]
		out, found, err := editDoc(data, json, tokens, v, v == nil)
		if err != nil || !found {
			return
		}
		if _, err := decodeV3(out); err != nil {
			t.Fatalf("edit wrote invalid YAML: %v\n%s", err, out)
		}
	})
}

// pathsOf lists the paths of the members and items of v.
func pathsOf(v any, prefix []string, depth int) [][]string {
	if depth > 8 {
		return nil
	}
	var out [][]string
	switch c := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(c) {
			p := child(prefix, k)
			out = append(out, p)
			out = append(out, pathsOf(c[k], p, depth+1)...)
		}
	case []any:
		for i, e := range c {
			p := child(prefix, strconv.Itoa(i))
			out = append(out, p)
			out = append(out, pathsOf(e, p, depth+1)...)
		}
		out = append(out, child(prefix, "-"))
	}
	return out
}
