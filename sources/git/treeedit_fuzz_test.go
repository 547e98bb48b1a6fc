package git

import (
	"context"
	"maps"
	"path"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
)

// FuzzTreeEditPaths writes a file at an arbitrary path over a tree with
// files, an executable, a symlink and a submodule: the edit is either
// refused, or the new tree is the old one with exactly that clean path
// written as a file (its mode kept when it replaced one).
func FuzzTreeEditPaths(f *testing.F) {
	for _, seed := range []string{
		"a.yaml", "dir/new/deep.yaml", "dir/run.sh", "../x", "/abs", "a//b", "a/./b", "dir/",
		"link/x", "link", "file.txt/x", "sub", "sub/x", ".git/config", "dir/.GIT", "a\\b", "", "\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := gogit.Init(memory.NewStorage(), nil)
		if err != nil {
			t.Fatal(err)
		}
		base := map[string]gitrepo.Entry{
			"file.txt":   gitrepo.File("f"),
			"dir/a.yaml": gitrepo.File("a"),
			"dir/run.sh": gitrepo.Executable("#!/bin/sh"),
			"link":       gitrepo.Symlink("dir"),
			"sub":        gitrepo.Submodule(strings.Repeat("1", 40)),
		}
		h := (&gitrepo.Repo{Git: r}).Commit(t, base, gitrepo.CommitOptions{})
		c, err := r.CommitObject(h)
		if err != nil {
			t.Fatal(err)
		}
		root, err := c.Tree()
		if err != nil {
			t.Fatal(err)
		}
		edit, err := newTreeEdit(map[string][]byte{p: []byte("NEW")})
		if err != nil {
			return
		}
		got, err := (&treeWriter{ctx: context.Background(), s: r.Storer}).write(root, edit, "")
		if err != nil {
			return
		}
		if path.Clean(p) != p || path.IsAbs(p) || strings.ContainsAny(p, "\\\x00") {
			t.Fatalf("path %q was accepted", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." || strings.EqualFold(seg, ".git") {
				t.Fatalf("path %q with %q was accepted", p, seg)
			}
		}
		want := listTree(t, r, root.Hash)
		mode := filemode.Regular
		if old, ok := want[p]; ok {
			mode = old.Mode
		}
		want[p] = object.TreeEntry{Name: path.Base(p), Mode: mode, Hash: plumbing.ComputeHash(plumbing.BlobObject, []byte("NEW"))}
		if after := listTree(t, r, got); !maps.Equal(after, want) {
			t.Fatalf("path %q: tree\n got %v\nwant %v", p, after, want)
		}
	})
}

// listTree lists the non-directory entries of a tree by path.
func listTree(t *testing.T, r *gogit.Repository, h plumbing.Hash) map[string]object.TreeEntry {
	t.Helper()
	out := map[string]object.TreeEntry{}
	var walk func(h plumbing.Hash, dir string)
	walk = func(h plumbing.Hash, dir string) {
		tree, err := r.TreeObject(h)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range tree.Entries {
			if i > 0 && !entryLess(tree.Entries[i-1], e) {
				t.Fatalf("tree %q is not in Git order at %q", dir, e.Name)
			}
			p := path.Join(dir, e.Name)
			if e.Mode == filemode.Dir {
				walk(e.Hash, p)
				continue
			}
			out[p] = e
		}
	}
	walk(h, "")
	return out
}

func entryLess(a, b object.TreeEntry) bool {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	return key(a) < key(b)
}
