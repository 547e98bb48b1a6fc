package writeback_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/golden"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
	"github.com/trueup-dev/trueup/sources/writeback"
	"sigs.k8s.io/yaml"
)

// fixtureDir holds one directory per case: case.yaml (what to change and
// what must come out), repo/ (the target's files) and want/ (golden
// files: the changed files under files/, and result.txt).
const fixtureDir = "../../fixtures/writeback"

// testCase is a case.yaml.
type testCase struct {
	Description      string          `json:"description"`
	Target           string          `json:"target"`
	Object           drift.ObjectRef `json:"object"`
	DefaultNamespace string          `json:"defaultNamespace"`
	// NoDesired leaves Options.Desired unset; otherwise the test passes the
	// rendered object, as the reconciler does.
	NoDesired bool `json:"noDesired"`
	Changes   []struct {
		Path   string `json:"path"`
		Live   any    `json:"live"`
		Remove bool   `json:"remove"`
		Masked bool   `json:"masked"`
	} `json:"changes"`
	// WantFiles are the files the edit must change or add.
	WantFiles []string `json:"wantFiles"`
	// WantActions are the actions of the changes, in order.
	WantActions []writeback.Action `json:"wantActions"`
	// WantShared lists the changes (by index) written to a file outside
	// the target path.
	WantShared []int `json:"wantShared"`
	// MaxChangedLines bounds the lines removed plus added in the files
	// that existed before.
	MaxChangedLines int `json:"maxChangedLines"`
	// WantError names the error the edit must fail with.
	WantError string `json:"wantError"`
}

var sentinels = map[string]error{
	"ErrSecret": writeback.ErrSecret, "ErrNotFound": writeback.ErrNotFound, "ErrAmbiguous": writeback.ErrAmbiguous,
	"ErrPath": writeback.ErrPath, "ErrOutside": writeback.ErrOutside, "ErrInvalid": writeback.ErrInvalid,
	"ErrUnsupported": writeback.ErrUnsupported,
}

func loadCase(t *testing.T, dir string) (testCase, sources.Files) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tc testCase
	if err := yaml.UnmarshalStrict(data, &tc); err != nil {
		t.Fatalf("case.yaml: %v", err)
	}
	return tc, readRepo(t, filepath.Join(dir, "repo"))
}

// readRepo reads a directory into sources.Files.
func readRepo(t testing.TB, root string) sources.Files {
	t.Helper()
	files := sources.Files{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func (tc testCase) changes() []writeback.Change {
	var out []writeback.Change
	for _, c := range tc.Changes {
		live := c.Live
		if c.Remove {
			live = nil
		}
		out = append(out, writeback.Change{Path: c.Path, Live: live, Masked: c.Masked})
	}
	return out
}

func (tc testCase) options(t *testing.T, files sources.Files) writeback.Options {
	t.Helper()
	opts := writeback.DefaultOptions()
	opts.DefaultNamespace = tc.DefaultNamespace
	if tc.NoDesired || tc.WantError != "" {
		return opts
	}
	res, err := render.Render(files, tc.Target, render.DefaultOptions())
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	for _, o := range res.Objects {
		ref := drift.RefOf(o.Object)
		if ref.Kind == tc.Object.Kind && ref.Group == tc.Object.Group && ref.Name == tc.Object.Name {
			opts.Desired = o.Object.Object
		}
	}
	return opts
}

// TestEdit runs every case of fixtures/writeback.
func TestEdit(t *testing.T) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(fixtureDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			tc, files := loadCase(t, dir)
			res, err := writeback.EditWithOptions(files, tc.Target, tc.Object, tc.changes(), tc.options(t, files))
			if tc.WantError != "" {
				checkError(t, dir, tc, err)
				return
			}
			if err != nil {
				t.Fatalf("edit: %v", err)
			}
			checkResult(t, dir, tc, files, res)
			checkRender(t, tc, files, res)
			checkIdempotent(t, tc, files, res)
		})
	}
}

func checkError(t *testing.T, dir string, tc testCase, err error) {
	t.Helper()
	want, ok := sentinels[tc.WantError]
	if !ok {
		t.Fatalf("case.yaml: unknown wantError %q", tc.WantError)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %s", err, tc.WantError)
	}
	var we *writeback.Error
	if !errors.As(err, &we) || !strings.HasPrefix(err.Error(), tc.Object.String()+": ") {
		t.Errorf("error %q does not start with the object %s", err, tc.Object)
	}
	for _, c := range tc.Changes {
		if s, ok := c.Live.(string); ok && len(s) > 3 && strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a value", err)
		}
	}
	golden.Check(t, filepath.Join(dir, "want", "result.txt"), "error: "+err.Error()+"\n")
}

func checkResult(t *testing.T, dir string, tc testCase, files sources.Files, res writeback.Result) {
	t.Helper()
	var got []string
	for p := range res.Files {
		got = append(got, p)
	}
	slices.Sort(got)
	if !slices.Equal(got, tc.WantFiles) {
		t.Errorf("changed files %v, want %v", got, tc.WantFiles)
	}
	var actions []writeback.Action
	var shared []int
	var summary strings.Builder
	for i, a := range res.Changes {
		actions = append(actions, a.Action)
		if a.Shared {
			shared = append(shared, i)
		}
		fmt.Fprintf(&summary, "%s: %s:%d: %s", a.Path, a.File, a.Line, a.Action.Describe())
		if a.Removed {
			summary.WriteString(" (removed)")
		}
		if a.Shared {
			summary.WriteString(" (outside the target path)")
		}
		if a.Unchanged {
			summary.WriteString(" (unchanged)")
		}
		summary.WriteString("\n")
		checkLine(t, res, files, a)
	}
	if !slices.Equal(actions, tc.WantActions) {
		t.Errorf("actions %v, want %v", actions, tc.WantActions)
	}
	if !slices.Equal(shared, tc.WantShared) {
		t.Errorf("shared changes %v, want %v", shared, tc.WantShared)
	}
	if tc.MaxChangedLines > 0 {
		n := 0
		for p, c := range res.Files {
			if old, ok := files[p]; ok {
				n += changedLines(string(old), string(c))
			}
		}
		if n > tc.MaxChangedLines {
			t.Errorf("%d lines changed, want at most %d", n, tc.MaxChangedLines)
		}
	}
	for _, p := range got {
		golden.Check(t, filepath.Join(dir, "want", "files", filepath.FromSlash(p)), string(res.Files[p]))
	}
	golden.Check(t, filepath.Join(dir, "want", "result.txt"), summary.String())
}

// checkLine checks that the reported line of a change is in the file and,
// for a value set, mentions the field (or the kustomization entry's
// field that makes it).
func checkLine(t *testing.T, res writeback.Result, files sources.Files, a writeback.Applied) {
	t.Helper()
	content, ok := res.Files[a.File]
	if !ok {
		content = files[a.File]
	}
	if a.Unchanged && a.Line == 0 {
		return
	}
	lines := strings.Split(string(content), "\n")
	if a.Line < 1 || a.Line > len(lines) {
		t.Fatalf("%s: line %d is outside %s", a.Path, a.Line, a.File)
	}
	if a.Removed {
		return
	}
	tokens, err := drift.SplitPointer(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{tokens[len(tokens)-1]}
	if a.Action == writeback.SetInPatch || a.Action == writeback.AddedPatch {
		want = append(want, "value") // a JSON 6902 operation's value
	}
	if a.Action == writeback.SetInKustomization {
		want = []string{"count", "newTag", "newName", "digest"}
	}
	line := lines[a.Line-1]
	for _, w := range want {
		if strings.Contains(line, w) {
			return
		}
	}
	if _, err := strconv.Atoi(tokens[len(tokens)-1]); err == nil && strings.Contains(line, "- ") {
		return // a list item: its dash's line
	}
	t.Errorf("%s: line %d of %s is %q, which does not mention %v", a.Path, a.Line, a.File, line, want)
}

// changedLines counts the lines removed plus added between two texts.
func changedLines(a, b string) int {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	return len(x) + len(y) - 2*lcs[0][0]
}

func apply(files, changed sources.Files) sources.Files {
	out := sources.Files{}
	for p, c := range files {
		out[p] = c
	}
	for p, c := range changed {
		out[p] = c
	}
	return out
}

// checkRender renders the target before and after the edit: after must be
// before with the live values at the changed paths, and nothing else
// changed. This is what the pull request promises: merging it makes Git
// produce the live object.
func checkRender(t *testing.T, tc testCase, files sources.Files, res writeback.Result) {
	t.Helper()
	before, err := render.Render(files, tc.Target, render.DefaultOptions())
	if err != nil {
		t.Fatalf("render before: %v", err)
	}
	after, err := render.Render(apply(files, res.Files), tc.Target, render.DefaultOptions())
	if err != nil {
		t.Fatalf("render after: %v", err)
	}
	want := objectsByRef(t, before.Objects)
	got := objectsByRef(t, after.Objects)
	key := findRef(t, want, tc)
	obj := want[key]
	for _, c := range tc.changes() {
		tokens, err := drift.SplitPointer(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		obj = set(obj, tokens, normalize(t, c.Live), c.Live == nil)
	}
	want[key] = obj
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rendered objects after the edit differ from the live ones\n got: %v\nwant: %v", got[key], want[key])
	}
}

func findRef(t *testing.T, objs map[string]any, tc testCase) string {
	t.Helper()
	ns := tc.Object.Namespace
	for _, cand := range []string{ns, ""} {
		ref := tc.Object
		ref.Namespace, ref.Version = cand, ""
		if _, ok := objs[ref.String()]; ok {
			return ref.String()
		}
	}
	t.Fatalf("rendered objects lack %s", tc.Object)
	return ""
}

func objectsByRef(t *testing.T, objs []sources.Object) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, o := range objs {
		ref := drift.RefOf(o.Object)
		ref.Version = ""
		out[ref.String()] = normalize(t, o.Object.Object)
	}
	return out
}

// normalize turns a value into JSON's shapes (float64 numbers), so values
// from YAML, JSON and Go literals compare equal.
func normalize(t *testing.T, v any) any {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"v": v})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out["v"]
}

// set returns doc with v at tokens, or without what is there.
func set(doc any, tokens []string, v any, remove bool) any {
	if len(tokens) == 0 {
		return v
	}
	switch c := doc.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range c {
			out[k] = e
		}
		if remove && len(tokens) == 1 {
			delete(out, tokens[0])
			return out
		}
		out[tokens[0]] = set(c[tokens[0]], tokens[1:], v, remove)
		return out
	case []any:
		out := slices.Clone(c)
		var i int
		fmt.Sscan(tokens[0], &i)
		if remove && len(tokens) == 1 {
			return slices.Delete(out, i, i+1)
		}
		if i == len(out) {
			return append(out, set(nil, tokens[1:], v, remove))
		}
		out[i] = set(c[i], tokens[1:], v, remove)
		return out
	}
	if remove {
		return doc
	}
	return map[string]any{tokens[0]: set(nil, tokens[1:], v, remove)}
}

// checkIdempotent runs the edit again on its own result: the values are
// there now, so nothing may change.
func checkIdempotent(t *testing.T, tc testCase, files sources.Files, res writeback.Result) {
	t.Helper()
	after := apply(files, res.Files)
	again, err := writeback.EditWithOptions(after, tc.Target, tc.Object, tc.changes(), tc.options(t, after))
	if err != nil {
		t.Fatalf("second edit: %v", err)
	}
	for p, c := range again.Files {
		t.Errorf("second edit changed %s:\n%s", p, c)
	}
}

// TestEditDoesNotModifyInput checks that Edit leaves its input alone.
func TestEditDoesNotModifyInput(t *testing.T) {
	files := sources.Files{"app/deploy.yaml": []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n")}
	obj := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "default", Name: "web"}
	res, err := writeback.Edit(files, "app", obj, []writeback.Change{{Path: "/spec/replicas", Live: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if string(files["app/deploy.yaml"]) != "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n" {
		t.Errorf("input modified")
	}
	if got := string(res.Files["app/deploy.yaml"]); !strings.Contains(got, "replicas: 4\n") {
		t.Errorf("got %q", got)
	}
}
