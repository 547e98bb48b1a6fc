package writeback

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
	"github.com/trueup-dev/trueup/sources/sops"
)

// Change is one drifted field to adopt into Git.
type Change struct {
	// Path is a JSON pointer into the object: /spec/replicas,
	// /spec/template/spec/containers/0/image, /data/key~1with~1slash.
	Path string `json:"path"`
	// Live is the value to write, JSON-like; nil removes the field.
	Live any `json:"live"`
	// Masked is set when drift masked the value (a Secret's): such a
	// change is refused.
	Masked bool `json:"masked,omitempty"`
}

// Action says how a change was written, for the pull request's body.
type Action string

const (
	// SetInFile: the value was set in the file that defines the object.
	SetInFile Action = "set-in-file"
	// SetInPatch: the value was set in the overlay patch that overrides it.
	SetInPatch Action = "set-in-patch"
	// SetInKustomization: the value was set in the kustomization field
	// that overrides it (replicas, images).
	SetInKustomization Action = "set-in-kustomization"
	// AddedPatch: no file set the value; a patch was added to the overlay.
	AddedPatch Action = "added-patch"
)

// Describe says what the action did in words for a pull request's body.
func (a Action) Describe() string {
	switch a {
	case SetInFile:
		return "set in the file that defines it"
	case SetInPatch:
		return "set in the overlay patch that overrides it"
	case SetInKustomization:
		return "set in the kustomization field that overrides it"
	case AddedPatch:
		return "added a new patch to the overlay"
	case SetInValues:
		return "set in the Helm values file that sets it"
	case AddedToValues:
		return "added to the Helm values file (the chart's default set it)"
	}
	return string(a)
}

// Applied is how one change was written.
type Applied struct {
	// Path is the change's JSON pointer.
	Path string `json:"path"`
	// File is the repository path of the file written.
	File string `json:"file"`
	// Line is the 1-based line of the value in the new content of File
	// (for a removal: the line it was on).
	Line   int    `json:"line"`
	Action Action `json:"action"`
	// Removed is set when the change removed the field.
	Removed bool `json:"removed,omitempty"`
	// Shared is set when File lies outside the target path: a base that
	// other targets may build too.
	Shared bool `json:"shared,omitempty"`
	// Unchanged is set when Git already had the live value (or, for a
	// removal, did not have the field): nothing was written, and Line is
	// 0 when there is no line to point at.
	Unchanged bool `json:"unchanged,omitempty"`
}

// Result is what Edit wrote.
type Result struct {
	// Files holds the files that changed or were added, with their new
	// content. Files left as they were are not in it.
	Files sources.Files `json:"files"`
	// Changes says, per change and in order, where and how it was written.
	Changes []Applied `json:"changes"`
}

// Options are the per-call knobs of EditWithOptions.
type Options struct {
	// DefaultNamespace is the namespace the target applies objects without
	// one to; "" means "default".
	DefaultNamespace string
	// Desired is the rendered desired object, when the caller has it. Its
	// list items tell which item of a list an index means (by name,
	// mountPath, containerPort, ...) in strategic-merge patches; without
	// it the file defining the object tells.
	Desired map[string]any
}

// DefaultOptions returns the options Edit uses.
func DefaultOptions() Options { return Options{} }

// Edit writes the live values of drifted fields of obj into the files of
// the target at targetPath. See EditWithOptions.
func Edit(files sources.Files, targetPath string, obj drift.ObjectRef, changes []Change) (Result, error) {
	return EditWithOptions(files, targetPath, obj, changes, DefaultOptions())
}

// EditWithOptions writes the live values of drifted fields of obj into the
// files of the target at targetPath: the files of a plain target, or the
// kustomization graph of a kustomize target. files are not modified. It
// is all or nothing: on error no result is returned.
func EditWithOptions(files sources.Files, targetPath string, obj drift.ObjectRef, changes []Change, opts Options) (Result, error) {
	if obj.Kind == "Secret" {
		return Result{}, &Error{Object: obj, Err: fmt.Errorf("a Secret: %w", ErrSecret)}
	}
	target, err := cleanPath(targetPath)
	if err != nil {
		return Result{}, &Error{Object: obj, File: targetPath, Err: err}
	}
	w := newWork(files)
	for _, c := range changes {
		tokens, v, err := checkChange(c)
		if err != nil {
			return Result{}, wrapErr(obj, c.Path, err)
		}
		req := request{obj: obj, tokens: tokens, value: v, remove: c.Live == nil, opts: opts}
		writes := w.writes
		a, err := w.place(target, req)
		if err != nil {
			return Result{}, wrapErr(obj, c.Path, err)
		}
		a.Path, a.Removed, a.Unchanged = c.Path, req.remove, w.writes == writes
		a.Shared = !under(target, a.File)
		w.applied = append(w.applied, a)
	}
	return w.result(), nil
}

// request is one change on its way to a file.
type request struct {
	obj    drift.ObjectRef
	tokens []string
	value  any
	remove bool
	opts   Options
}

// forbidden are paths that are the object's identity or copies of it:
// writing them back would make another object or leak a whole one.
var forbidden = [][]string{
	{"apiVersion"}, {"kind"}, {"metadata", "name"}, {"metadata", "namespace"},
	{"metadata", "annotations", drift.LastAppliedAnnotation},
	{"metadata", "managedFields"}, {"metadata", "resourceVersion"}, {"metadata", "uid"}, {"status"},
}

// checkChange parses and vets one change.
func checkChange(c Change) ([]string, any, error) {
	if c.Masked {
		return nil, nil, fmt.Errorf("masked value: %w", ErrSecret)
	}
	tokens, err := drift.SplitPointer(c.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", err, ErrPath)
	}
	if len(tokens) == 0 {
		return nil, nil, fmt.Errorf("the whole object: %w", ErrPath)
	}
	for _, f := range forbidden {
		if len(tokens) >= len(f) && equalStrings(tokens[:len(f)], f) {
			return nil, nil, fmt.Errorf("%s is not written back: %w", pointer(f), ErrPath)
		}
	}
	v, err := normalizeLive(c.Live)
	if err != nil {
		return nil, nil, err
	}
	if masked(v) {
		return nil, nil, fmt.Errorf("masked value: %w", ErrSecret)
	}
	return tokens, v, nil
}

// cleanPath checks a repository path: relative, slash-separated, not
// leaving the repository.
func cleanPath(p string) (string, error) {
	if strings.Contains(p, "\\") || path.IsAbs(p) {
		return "", fmt.Errorf("path %q: %w", p, ErrOutside)
	}
	c := path.Clean("./" + p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q: %w", p, ErrOutside)
	}
	return c, nil
}

// under reports whether file lies under the target path.
func under(target, file string) bool {
	if target == "." || target == file {
		return true
	}
	return strings.HasPrefix(file, target+"/")
}

// work holds the files as edited so far.
type work struct {
	orig    sources.Files
	files   sources.Files
	created map[string]bool
	applied []Applied
	writes  int // how many writes changed a file
}

func newWork(files sources.Files) *work {
	cp := make(sources.Files, len(files))
	for k, v := range files {
		cp[k] = v
	}
	return &work{orig: files, files: cp, created: map[string]bool{}}
}

// write replaces a file's content and moves the lines recorded for earlier
// changes in it past the edited region.
func (w *work) write(file string, content []byte) {
	old, existed := w.files[file]
	if existed && bytes.Equal(old, content) {
		return
	}
	w.writes++
	w.files[file] = content
	oldLines := bytes.Split(old, []byte("\n"))
	newLines := bytes.Split(content, []byte("\n"))
	prefix := 0
	for prefix < len(oldLines) && prefix < len(newLines) && bytes.Equal(oldLines[prefix], newLines[prefix]) {
		prefix++
	}
	suffix := 0
	for suffix < len(oldLines)-prefix && suffix < len(newLines)-prefix &&
		bytes.Equal(oldLines[len(oldLines)-1-suffix], newLines[len(newLines)-1-suffix]) {
		suffix++
	}
	delta := len(newLines) - len(oldLines)
	for i := range w.applied {
		a := &w.applied[i]
		if a.File == file && a.Line > len(oldLines)-suffix {
			a.Line += delta
		}
	}
}

func (w *work) result() Result {
	res := Result{Files: sources.Files{}, Changes: w.applied}
	for p, c := range w.files {
		if o, ok := w.orig[p]; !ok || !bytes.Equal(o, c) {
			res.Files[p] = c
		}
	}
	return res
}

// place finds where the object of a change is defined under target and
// writes the change there.
func (w *work) place(target string, r request) (Applied, error) {
	if _, ok := w.files[target]; ok {
		return w.placePlain([]string{target}, r)
	}
	if render.KustomizationFile(w.files, target) != "" {
		return w.placeKustomize(target, r)
	}
	return w.placeDir(target, r)
}

// editFile applies one document edit to a file of the work.
func (w *work) editFile(e docEdit) (int, error) {
	if _, err := cleanPath(e.file); err != nil {
		return 0, err
	}
	if _, enc := sops.IsEncrypted(e.file, w.files[e.file]); enc {
		return 0, inFile(e.file, ErrEncrypted)
	}
	out, line, err := e.apply(w.files[e.file])
	if err != nil {
		return 0, inFile(e.file, err)
	}
	w.write(e.file, out)
	return line, nil
}
