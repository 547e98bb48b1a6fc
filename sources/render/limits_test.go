package render

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/sources"
)

// billionLaughs is the classic alias bomb: ten levels of nine aliases each
// expand to 9^9 (about 387 million) strings.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 \"lol\"\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [", i, i)
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// bombs are inputs built to exhaust memory or stack; each must fail fast
// with a limit error naming the file.
func bombs() []struct {
	name, file, content, msg string
} {
	return []struct{ name, file, content, msg string }{
		{"billion laughs", "bomb.yaml", billionLaughs(), `render ".": bomb.yaml[0]: document expands to more than`},
		{"deeply nested flow sequences", "deep.yaml", strings.Repeat("[", 200000) + strings.Repeat("]", 200000), `render ".": deep.yaml[0]: `},
		{"nesting just over the limit", "deep.yaml", "a: " + strings.Repeat("[", DefaultMaxDepth+1) + strings.Repeat("]", DefaultMaxDepth+1), `render ".": deep.yaml[0]: nested deeper than 256 levels`},
		{"deeply nested json", "deep.json", strings.Repeat(`{"a":`, 200000) + "1" + strings.Repeat("}", 200000), `render ".": deep.json[0]: nested deeper than 256 levels`},
		{"deep alias expansion", "alias.yaml", "a: &x " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\nb: " + strings.Repeat("[", 100) + "*x" + strings.Repeat("]", 100), `render ".": alias.yaml[0]: nested deeper than 256 levels`},
		{"many aliases", "aliases.yaml", "a: &x 1\nb: [" + strings.Repeat("*x, ", DefaultMaxAliases) + "*x]\n", `render ".": aliases.yaml[0]: more than 1000 YAML aliases`},
		{"recursive alias", "loop.yaml", "a: &x [*x]\n", `render ".": loop.yaml[0]: `},
	}
}

func TestRenderRejectsBombs(t *testing.T) {
	for _, tt := range bombs() {
		t.Run(tt.name, func(t *testing.T) {
			files := sources.Files{tt.file: []byte(tt.content), "ok.yaml": []byte(cmA)}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res, err := Render(files, "", DefaultOptions())
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("Render succeeded with %d objects", len(res.Objects))
			}
			if !strings.HasPrefix(err.Error(), tt.msg) {
				t.Errorf("error:\n got %q\nwant prefix %q", err, tt.msg)
			}
			// Bounded memory: the input is small and nothing is expanded.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("rejecting the bomb allocated %d MiB", alloc>>20)
			}
		})
	}
}

// TestBombsAreLimitErrors: bombs fail as ErrLimit, except nesting past
// the YAML parser's own limit, which the parser refuses.
func TestBombsAreLimitErrors(t *testing.T) {
	for _, tt := range bombs() {
		_, err := Render(sources.Files{tt.file: []byte(tt.content)}, "", DefaultOptions())
		wantLimit := tt.name != "deeply nested flow sequences"
		if got := errorsIs(err, ErrLimit); got != wantLimit {
			t.Errorf("%s: ErrLimit = %v, want %v (%v)", tt.name, got, wantLimit, err)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	many := strings.Repeat(cmA+"---\n", 3)
	tests := []struct {
		name  string
		files sources.Files
		opt   Options
		msg   string
	}{
		{"objects", sources.Files{"a.yaml": []byte(many)}, Options{MaxObjects: 2}, `render ".": a.yaml[2]: more than 2 objects`},
		{"list items count as objects", sources.Files{"l.yaml": []byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n")}, Options{MaxObjects: 1}, `render ".": l.yaml[0]: more than 1 objects`},
		{"total bytes", sources.Files{"a.yaml": []byte(cmA), "b.yaml": []byte(cmB)}, Options{MaxBytes: int64(len(cmA) + 10)}, `render ".": b.yaml: input exceeds`},
		{"document bytes", sources.Files{"a.yaml": []byte(cmA + "data: {k: " + strings.Repeat("x", 200) + "}\n")}, Options{MaxDocBytes: 100}, `render ".": a.yaml[0]: document has`},
		{"json document bytes", sources.Files{"a.json": []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`)}, Options{MaxDocBytes: 20}, `render ".": a.json[0]: document has`},
		{"depth", sources.Files{"a.yaml": []byte(cmA + "data: {a: {b: {c: d}}}\n")}, Options{MaxDepth: 3}, `render ".": a.yaml[0]: nested deeper than 3 levels`},
		{"aliases", sources.Files{"a.yaml": []byte(cmA + "data: {a: &v x, b: *v, c: *v}\n")}, Options{MaxAliases: 1}, `render ".": a.yaml[0]: more than 1 YAML aliases`},
		{"expanded total", sources.Files{"a.yaml": []byte(cmA + "data:\n  a: &v " + strings.Repeat("x", 100) + "\n  b: *v\n  c: *v\n  d: *v\n")}, Options{MaxBytes: 400}, `render ".": a.yaml[0]: input expands to more than 400 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Render(tt.files, "", tt.opt)
			checkErr(t, res, err, ErrLimit, tt.msg)
		})
	}
	t.Run("within limits", func(t *testing.T) {
		files := sources.Files{"a.yaml": []byte(cmA + "data: {a: &v x, b: *v}\n")}
		if _, err := Render(files, "", Options{MaxObjects: 1, MaxAliases: 1, MaxDepth: 2, MaxDocBytes: 200, MaxBytes: 200}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDefaultOptions(t *testing.T) {
	if got := (Options{}).withDefaults(); got != DefaultOptions() {
		t.Errorf("zero options = %+v, want the defaults %+v", got, DefaultOptions())
	}
	if got := (Options{MaxDepth: -1, MaxObjects: 5}).withDefaults(); got.MaxDepth != DefaultMaxDepth || got.MaxObjects != 5 {
		t.Errorf("withDefaults = %+v", got)
	}
}

func BenchmarkRejectBillionLaughs(b *testing.B) {
	files := sources.Files{"bomb.yaml": []byte(billionLaughs())}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(files, "", DefaultOptions()); err == nil {
			b.Fatal("bomb accepted")
		}
	}
}

func BenchmarkRejectDeepNesting(b *testing.B) {
	files := sources.Files{"deep.yaml": []byte(strings.Repeat("[", 1<<20))}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(files, "", DefaultOptions()); err == nil {
			b.Fatal("bomb accepted")
		}
	}
}

func BenchmarkRenderPlain(b *testing.B) {
	files := sources.Files{}
	for i := range 500 {
		files[fmt.Sprintf("deploy/cm-%03d.yaml", i)] = []byte(strings.Replace(cmA, "name: a", fmt.Sprintf("name: cm-%d", i), 1) + "data:\n  key: value\n")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(files, "deploy", DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
