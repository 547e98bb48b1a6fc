package git

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// treeEdit is the change Push makes to one directory: files written in it
// and subdirectories changed below it.
type treeEdit struct {
	files map[string][]byte
	dirs  map[string]*treeEdit
}

func newTreeNode() *treeEdit {
	return &treeEdit{files: map[string][]byte{}, dirs: map[string]*treeEdit{}}
}

// newTreeEdit checks the paths of a push request and arranges them by
// directory. Paths are taken in order so the first bad one is reported.
func newTreeEdit(files map[string][]byte) (*treeEdit, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no files to write", ErrInvalidRequest)
	}
	root := newTreeNode()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if files[p] == nil {
			return nil, fmt.Errorf("%w: path %q has nil content (push does not delete files)", ErrInvalidRequest, p)
		}
		segs, err := splitRepoPath(p)
		if err != nil {
			return nil, err
		}
		if err := root.add(p, segs, files[p]); err != nil {
			return nil, err
		}
	}
	return root, nil
}

func (e *treeEdit) add(p string, segs []string, content []byte) error {
	n := e
	for i, s := range segs[:len(segs)-1] {
		if _, ok := n.files[s]; ok {
			return fmt.Errorf("%w: path %q goes through %q, which the request writes as a file",
				ErrInvalidRequest, p, strings.Join(segs[:i+1], "/"))
		}
		if n.dirs[s] == nil {
			n.dirs[s] = newTreeNode()
		}
		n = n.dirs[s]
	}
	last := segs[len(segs)-1]
	if _, ok := n.dirs[last]; ok {
		return fmt.Errorf("%w: path %q is a file in the request and a directory of other paths in it", ErrInvalidRequest, p)
	}
	n.files[last] = content
	return nil
}

// splitRepoPath splits a repository-relative slash path into its names. It
// refuses what could leave the tree or write outside a plain file: absolute
// paths, empty, "." and ".." names, backslashes, NUL bytes and ".git".
func splitRepoPath(p string) ([]string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: path %q %s", ErrInvalidRequest, p, why)
	}
	switch {
	case p == "":
		return nil, bad("is empty")
	case strings.HasPrefix(p, "/"):
		return nil, bad("is absolute; use a path relative to the repository root")
	case strings.Contains(p, "\\"):
		return nil, bad("must use forward slashes")
	case strings.ContainsRune(p, 0):
		return nil, bad("contains a NUL byte")
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		switch {
		case s == "":
			return nil, bad("has an empty name (a leading, doubled or trailing slash)")
		case s == "." || s == "..":
			return nil, bad("has a " + s + " name; paths must stay inside the repository")
		case strings.EqualFold(s, ".git"):
			return nil, bad("names a .git entry")
		}
	}
	return segs, nil
}

// treeWriter writes the trees of an edit into a repository's object store.
type treeWriter struct {
	ctx context.Context
	s   storer.EncodedObjectStorer
}

// write applies edit to base (nil for a new directory at dir) and returns
// the new tree's hash. Entries the edit does not name keep their hash and
// mode; replaced files keep their mode; new files are regular.
func (w *treeWriter) write(base *object.Tree, edit *treeEdit, dir string) (plumbing.Hash, error) {
	if err := w.ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	var entries []object.TreeEntry
	if base != nil {
		entries = slices.Clone(base.Entries)
	}
	for _, name := range slices.Sorted(maps.Keys(edit.files)) {
		e, err := w.fileEntry(entries, name, path.Join(dir, name), edit.files[name])
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = setEntry(entries, e)
	}
	for _, name := range slices.Sorted(maps.Keys(edit.dirs)) {
		e, err := w.dirEntry(entries, name, path.Join(dir, name), edit.dirs[name])
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = setEntry(entries, e)
	}
	sortEntries(entries)
	return storeObject(w.s, &object.Tree{Entries: entries})
}

// fileEntry writes content as the file name of a directory with entries.
func (w *treeWriter) fileEntry(entries []object.TreeEntry, name, p string, content []byte) (object.TreeEntry, error) {
	mode := filemode.Regular
	if i := entryIndex(entries, name); i >= 0 {
		switch m := entries[i].Mode; m {
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			mode = m
		default:
			return object.TreeEntry{}, fmt.Errorf("%w: %q is a %s, not a file", ErrInvalidRequest, p, modeName(m))
		}
	}
	h, err := writeBlob(w.s, content)
	if err != nil {
		return object.TreeEntry{}, fmt.Errorf("write %q: %w", p, err)
	}
	return object.TreeEntry{Name: name, Mode: mode, Hash: h}, nil
}

// dirEntry applies edit to the directory name (new when missing).
func (w *treeWriter) dirEntry(entries []object.TreeEntry, name, p string, edit *treeEdit) (object.TreeEntry, error) {
	var sub *object.Tree
	if i := entryIndex(entries, name); i >= 0 {
		if m := entries[i].Mode; m != filemode.Dir {
			return object.TreeEntry{}, fmt.Errorf("%w: cannot write below %q: it is a %s", ErrInvalidRequest, p, modeName(m))
		}
		var err error
		if sub, err = object.GetTree(w.s, entries[i].Hash); err != nil {
			return object.TreeEntry{}, fmt.Errorf("read tree %q: %w", p, err)
		}
	}
	h, err := w.write(sub, edit, p)
	if err != nil {
		return object.TreeEntry{}, err
	}
	return object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}, nil
}

func modeName(m filemode.FileMode) string {
	switch m {
	case filemode.Dir:
		return "directory"
	case filemode.Symlink:
		return "symlink"
	case filemode.Submodule:
		return "submodule"
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		return "file"
	}
	return "entry of mode " + m.String()
}

func entryIndex(entries []object.TreeEntry, name string) int {
	return slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == name })
}

// setEntry replaces the entry of the same name or appends e.
func setEntry(entries []object.TreeEntry, e object.TreeEntry) []object.TreeEntry {
	if i := entryIndex(entries, e.Name); i >= 0 {
		entries[i] = e
		return entries
	}
	return append(entries, e)
}

// sortEntries puts entries in Git's tree order: by name, a directory
// sorting as if its name ended in "/".
func sortEntries(entries []object.TreeEntry) {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortStableFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
}

func writeBlob(s storer.EncodedObjectStorer, content []byte) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// encodable is a tree or commit that can be written to an object store.
type encodable interface {
	Encode(plumbing.EncodedObject) error
}

func storeObject(s storer.EncodedObjectStorer, o encodable) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}
