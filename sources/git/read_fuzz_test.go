package git

import (
	"context"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources"
)

// FuzzSymlinkTargets commits links with arbitrary targets into a repository
// and reads the target path "in": a read either fails or returns under "in"
// only content that lives in "in", and never follows the link outside it.
func FuzzSymlinkTargets(f *testing.F) {
	for _, seed := range [][2]string{
		{"a.txt", "sub/b.txt"},
		{"../out.txt", "../a.txt"},
		{"/etc/passwd", "."},
		{"sub", ".."},
		{"../in/sub/../a.txt", "../../in/a.txt"},
		{"sub/link2/x", "../link"},
		{"sub/up", "../../out"},
		{strings.Repeat("../", 50) + "out.txt", "sub//b.txt/"},
		{"", "\x00"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, target1, target2 string) {
		files := map[string]gitrepo.Entry{
			"in/a.txt":     gitrepo.File("IN-A"),
			"in/sub/b.txt": gitrepo.File("IN-B"),
			"in/sub/up":    gitrepo.Symlink("../a.txt"),
			"in/link":      gitrepo.Symlink(target1),
			"in/sub/link2": gitrepo.Symlink(target2),
			"out.txt":      gitrepo.File("OUT"),
			"out/l":        gitrepo.Symlink(target1),
		}
		got, err := readMemory(t, files, "in")
		if err != nil {
			return
		}
		for p, b := range got {
			switch {
			case p == "out.txt":
			case strings.HasPrefix(p, "in/"):
				if c := string(b); c != "IN-A" && c != "IN-B" {
					t.Fatalf("%s has content %q from outside the target path (links %q, %q)", p, c, target1, target2)
				}
			default:
				t.Fatalf("unexpected file %q (links %q, %q)", p, target1, target2)
			}
		}
	})
}

// readMemory runs the tree reader over a commit in an in-memory repository.
func readMemory(t *testing.T, files map[string]gitrepo.Entry, target string) (sources.Files, error) {
	t.Helper()
	r, err := gogit.Init(memory.NewStorage(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := (&gitrepo.Repo{Git: r}).Commit(t, files, gitrepo.CommitOptions{})
	c, err := r.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	root, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	tr := &treeReader{ctx: context.Background(), repo: r, root: root, target: target, blobs: map[string]plumbing.Hash{}}
	if err := tr.checkTarget(); err != nil {
		return nil, err
	}
	if err := tr.walk(root, "", "", nil); err != nil {
		return nil, err
	}
	tree := newTree(context.Background(), r, tr.blobs, DefaultReadOptions())
	out := sources.Files{}
	for _, p := range tree.Paths() {
		b, err := tree.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[p] = b
	}
	return out, nil
}
