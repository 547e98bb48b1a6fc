package git_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

// readRepo commits tree to a new repository, fetches it and reads it.
func readRepo(t *testing.T, tree map[string]gitrepo.Entry, opt git.ReadOptions) (sources.Files, error) {
	t.Helper()
	repo := newRepo(t)
	repo.Commit(t, tree, gitrepo.CommitOptions{})
	c := newClient(t)
	src := branchSource("files", repo.URL())
	rev := mustFetch(t, c, src)
	return c.ReadFiles(testCtx(t), src, rev.Commit, opt)
}

func withPath(p string) git.ReadOptions {
	o := git.DefaultReadOptions()
	o.Path = p
	return o
}

func TestReadFilesSymlinks(t *testing.T) {
	base := map[string]gitrepo.Entry{
		"apps/base/deploy.yaml":          gitrepo.File("base"),
		"apps/prod/kustomization.yaml":   gitrepo.File("prod"),
		"apps/prod/sub/patch.yaml":       gitrepo.File("patch"),
		"apps/prod/run.sh":               gitrepo.Executable("#!/bin/sh"),
		"outside.txt":                    gitrepo.File("outside"),
		"vendor/lib":                     gitrepo.Submodule(strings.Repeat("1", 40)),
		"apps/prod/vendored":             gitrepo.Submodule(strings.Repeat("2", 40)),
		"apps/base/escape-outside-path":  gitrepo.Symlink("/etc/passwd"),
		"docs/link-into-prod":            gitrepo.Symlink("../apps/prod/kustomization.yaml"),
		"apps/prod/sub/nested-ok/..keep": gitrepo.File("dots"),
	}
	with := func(extra map[string]gitrepo.Entry) map[string]gitrepo.Entry {
		out := maps.Clone(base)
		maps.Copy(out, extra)
		return out
	}
	baseFiles := map[string]string{
		"apps/base/deploy.yaml":          "base",
		"apps/prod/kustomization.yaml":   "prod",
		"apps/prod/sub/patch.yaml":       "patch",
		"apps/prod/run.sh":               "#!/bin/sh",
		"outside.txt":                    "outside",
		"apps/prod/sub/nested-ok/..keep": "dots",
	}
	plus := func(extra map[string]string) map[string]string {
		out := maps.Clone(baseFiles)
		maps.Copy(out, extra)
		return out
	}

	for _, tc := range []struct {
		name     string
		tree     map[string]gitrepo.Entry
		path     string
		want     map[string]string
		wantErr  error
		wantText []string // substrings of the error
	}{
		{name: "whole repository for a target path; links outside it omitted", tree: base, path: "apps/prod", want: baseFiles},
		{name: "leading slash and dot segments in the path", tree: base, path: "/apps/./prod/", want: baseFiles},
		{name: "link to a file in the target path is followed",
			tree: with(map[string]gitrepo.Entry{"apps/prod/alias.yaml": gitrepo.Symlink("kustomization.yaml")}),
			path: "apps/prod", want: plus(map[string]string{"apps/prod/alias.yaml": "prod"})},
		{name: "link up and back down inside the target",
			tree: with(map[string]gitrepo.Entry{"apps/prod/sub/up.yaml": gitrepo.Symlink("../kustomization.yaml")}),
			path: "apps/prod", want: plus(map[string]string{"apps/prod/sub/up.yaml": "prod"})},
		{name: "link to a directory is followed",
			tree: with(map[string]gitrepo.Entry{"apps/prod/overlay": gitrepo.Symlink("sub")}),
			path: "apps/prod", want: plus(map[string]string{"apps/prod/overlay/patch.yaml": "patch", "apps/prod/overlay/nested-ok/..keep": "dots"})},
		{name: "chain of links",
			tree: with(map[string]gitrepo.Entry{"apps/prod/a": gitrepo.Symlink("b"), "apps/prod/b": gitrepo.Symlink("sub/c"), "apps/prod/sub/c": gitrepo.Symlink("patch.yaml")}),
			path: "apps/prod", want: plus(map[string]string{"apps/prod/a": "patch", "apps/prod/b": "patch", "apps/prod/sub/c": "patch"})},
		{name: "link through a directory link",
			tree: with(map[string]gitrepo.Entry{"apps/prod/d": gitrepo.Symlink("sub"), "apps/prod/p": gitrepo.Symlink("d/patch.yaml")}),
			path: "apps/prod", want: plus(map[string]string{"apps/prod/d/patch.yaml": "patch", "apps/prod/d/nested-ok/..keep": "dots", "apps/prod/p": "patch"})},
		{name: "root target follows links anywhere in the repository",
			tree: map[string]gitrepo.Entry{"a/f": gitrepo.File("f"), "b/l": gitrepo.Symlink("../a/f")},
			path: "", want: map[string]string{"a/f": "f", "b/l": "f"}},
		{name: "link escaping the target path with ..",
			tree: with(map[string]gitrepo.Entry{"apps/prod/base.yaml": gitrepo.Symlink("../base/deploy.yaml")}),
			path: "apps/prod", wantErr: git.ErrSymlinkEscape, wantText: []string{`"apps/prod/base.yaml"`, `"apps/base/deploy.yaml"`}},
		{name: "absolute link",
			tree: with(map[string]gitrepo.Entry{"apps/prod/passwd": gitrepo.Symlink("/etc/passwd")}),
			path: "apps/prod", wantErr: git.ErrSymlinkEscape, wantText: []string{`"apps/prod/passwd"`, `"/etc/passwd"`}},
		{name: "link leaving the repository",
			tree: with(map[string]gitrepo.Entry{"apps/prod/passwd": gitrepo.Symlink("../../../../etc/passwd")}),
			path: "apps/prod", wantErr: git.ErrSymlinkEscape, wantText: []string{`"apps/prod/passwd"`, `"../../../../etc/passwd"`}},
		{name: "link leaving the repository from the root target",
			tree: map[string]gitrepo.Entry{"l": gitrepo.Symlink("../etc/passwd")},
			path: ".", wantErr: git.ErrSymlinkEscape, wantText: []string{`"l"`}},
		{name: "directory link escaping the target",
			tree: with(map[string]gitrepo.Entry{"apps/prod/base": gitrepo.Symlink("../base")}),
			path: "apps/prod", wantErr: git.ErrSymlinkEscape, wantText: []string{`"apps/prod/base"`, `"apps/base"`}},
		{name: "chain whose last hop escapes",
			tree: with(map[string]gitrepo.Entry{"apps/prod/a": gitrepo.Symlink("b"), "apps/prod/b": gitrepo.Symlink("../../outside.txt")}),
			path: "apps/prod", wantErr: git.ErrSymlinkEscape, wantText: []string{`"outside.txt"`}},
		{name: "escape through a directory link inside the path",
			tree: with(map[string]gitrepo.Entry{"apps/prod/sub/up": gitrepo.Symlink("../.."), "apps/prod/x": gitrepo.Symlink("sub/up/base/deploy.yaml")}),
			path: "apps/prod", wantErr: git.ErrSymlinkEscape},
		{name: "dangling link",
			tree: with(map[string]gitrepo.Entry{"apps/prod/missing": gitrepo.Symlink("nope.yaml")}),
			path: "apps/prod", wantErr: git.ErrBadSymlink, wantText: []string{`"apps/prod/missing"`}},
		{name: "link through a file",
			tree: with(map[string]gitrepo.Entry{"apps/prod/x": gitrepo.Symlink("kustomization.yaml/y")}),
			path: "apps/prod", wantErr: git.ErrBadSymlink},
		{name: "link to a submodule",
			tree: with(map[string]gitrepo.Entry{"apps/prod/lib": gitrepo.Symlink("vendored")}),
			path: "apps/prod", wantErr: git.ErrBadSymlink, wantText: []string{"submodule"}},
		{name: "link loop",
			tree: with(map[string]gitrepo.Entry{"apps/prod/a": gitrepo.Symlink("b"), "apps/prod/b": gitrepo.Symlink("a")}),
			path: "apps/prod", wantErr: git.ErrBadSymlink},
		{name: "directory link cycle",
			tree: with(map[string]gitrepo.Entry{"apps/prod/sub/loop": gitrepo.Symlink("..")}),
			path: "apps/prod", wantErr: git.ErrBadSymlink, wantText: []string{`"apps/prod/sub/loop"`, "cycle"}},
		{name: "self directory link",
			tree: with(map[string]gitrepo.Entry{"apps/prod/self": gitrepo.Symlink(".")}),
			path: "apps/prod", wantErr: git.ErrBadSymlink},
		{name: "mutual directory links",
			tree: map[string]gitrepo.Entry{"x/l": gitrepo.Symlink("../y"), "y/m": gitrepo.Symlink("../x")},
			path: "", wantErr: git.ErrBadSymlink},
		{name: "missing path", tree: base, path: "apps/staging", wantErr: git.ErrPathNotFound},
		{name: "path is a file", tree: base, path: "outside.txt", wantErr: git.ErrPathNotFound},
		{name: "path is a symlink", tree: base, path: "docs/link-into-prod", wantErr: git.ErrPathNotFound},
		{name: "path leaves the repository", tree: base, path: "../x", wantErr: git.ErrInvalidSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readRepo(t, tc.tree, withPath(tc.path))
			if tc.wantErr != nil {
				t.Logf("error: %v", err)
				wantErr(t, err, tc.wantErr, false)
				for _, s := range tc.wantText {
					if !strings.Contains(err.Error(), s) {
						t.Fatalf("error %q does not mention %s", err, s)
					}
				}
				if got != nil {
					t.Fatalf("files returned with an error: %v", keys(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotStr := map[string]string{}
			for k, v := range got {
				gotStr[k] = string(v)
			}
			if !maps.Equal(gotStr, tc.want) {
				t.Fatalf("files\n got %v\nwant %v", sortedKeys(gotStr), sortedKeys(tc.want))
			}
		})
	}
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func TestReadFilesLimits(t *testing.T) {
	tree := map[string]gitrepo.Entry{
		"a.yaml":     gitrepo.File(strings.Repeat("a", 100)),
		"b/big.yaml": gitrepo.File(strings.Repeat("b", 1000)),
		"c.yaml":     gitrepo.File(strings.Repeat("c", 100)),
	}
	for _, tc := range []struct {
		name     string
		opt      git.ReadOptions
		wantErr  bool
		wantText string
	}{
		{name: "defaults", opt: git.ReadOptions{}},
		{name: "limits exactly met", opt: git.ReadOptions{MaxFileBytes: 1000, MaxTotalBytes: 1200, MaxFiles: 3}},
		{name: "file too large", opt: git.ReadOptions{MaxFileBytes: 999}, wantErr: true, wantText: `file "b/big.yaml" is larger than 999 bytes`},
		{name: "total too large", opt: git.ReadOptions{MaxTotalBytes: 1199}, wantErr: true, wantText: "more than 1199 bytes"},
		{name: "too many files", opt: git.ReadOptions{MaxFiles: 2}, wantErr: true, wantText: "more than 2 files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readRepo(t, tree, tc.opt)
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 3 {
					t.Fatalf("files = %v", keys(got))
				}
				return
			}
			wantErr(t, err, git.ErrLimitExceeded, false)
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("error %q does not say %q", err, tc.wantText)
			}
		})
	}
}

func TestReadFilesLinkedFileCountsTowardsLimits(t *testing.T) {
	tree := map[string]gitrepo.Entry{
		"a.yaml": gitrepo.File(strings.Repeat("a", 600)),
		"l.yaml": gitrepo.Symlink("a.yaml"),
	}
	_, err := readRepo(t, tree, git.ReadOptions{MaxTotalBytes: 1000})
	wantErr(t, err, git.ErrLimitExceeded, false)
}

func TestReadFilesErrors(t *testing.T) {
	repo := newRepo(t)
	h := repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	c := newClient(t)
	src := branchSource("s", repo.URL())
	t.Run("before any fetch", func(t *testing.T) {
		_, err := c.ReadFiles(testCtx(t), src, h.String(), git.DefaultReadOptions())
		wantErr(t, err, git.ErrCommitNotFound, false)
	})
	mustFetch(t, c, src)
	for _, tc := range []struct {
		name    string
		commit  string
		wantErr error
	}{
		{name: "unknown commit", commit: strings.Repeat("0", 40), wantErr: git.ErrCommitNotFound},
		{name: "short sha", commit: h.String()[:12], wantErr: git.ErrCommitNotFound},
		{name: "tree instead of commit", commit: mustTree(t, repo, h.String()), wantErr: git.ErrCommitNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ReadFiles(testCtx(t), src, tc.commit, git.DefaultReadOptions())
			wantErr(t, err, tc.wantErr, false)
			if !strings.HasPrefix(err.Error(), `source "s": read commit `) {
				t.Fatalf("error %q does not name the source", err)
			}
		})
	}
}

func mustTree(t *testing.T, repo *gitrepo.Repo, commit string) string {
	t.Helper()
	c, err := repo.Git.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		t.Fatal(err)
	}
	return c.TreeHash.String()
}
