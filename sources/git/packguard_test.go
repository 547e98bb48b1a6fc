package git

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
)

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestOversizedBlobIsInflatedByFetch: a fetch inflated every object of
// the pack into memory (a 1 GiB blob took 3.2 GB). An object over the
// source's total size limit is refused by the size in its header: the
// fetch fails with a limit error, the bulk of the blob is never even read
// from the stream (so it cannot have been inflated), go-git receives none
// of it, and the cache keeps no part of the pack.
func TestOversizedBlobIsInflatedByFetch(t *testing.T) {
	const limit = 1 << 20
	big := make([]byte, 4<<20) // random: its compressed size is its size
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "repo.git"))
	head := repo.Commit(t, map[string]gitrepo.Entry{
		"apps/web/cm.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"),
		"docs/big.bin":     {Content: big},
	}, gitrepo.CommitOptions{})

	cmd := exec.Command("git", "-C", repo.Dir, "pack-objects", "--stdout", "--revs")
	cmd.Stdin = strings.NewReader(head.String() + "\n")
	pack, err := cmd.Output()
	if err != nil {
		t.Fatalf("git pack-objects: %v", err)
	}
	bigHash := plumbing.ComputeHash(plumbing.BlobObject, big)
	for _, drain := range []bool{false, true} {
		name := map[bool]string{false: "network: the guard stops at the header", true: "local: the guard drains the pack raw"}[drain]
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			cache, err := initCache(dir, "test")
			if err != nil {
				t.Fatal(err)
			}
			packDir := filepath.Join(dir, "objects", "pack")
			guarded := &guardedStorer{Storer: cache.Storer, maxObject: limit, packDir: packDir, drain: drain}
			w, err := guarded.PackfileWriter()
			if err != nil {
				t.Fatal(err)
			}
			src := &countingReader{r: bytes.NewReader(pack)}
			_, copyErr := io.Copy(w, src) // as go-git's WritePackfileToObjectStorage does
			err = errors.Join(copyErr, w.Close())
			if !errors.Is(err, ErrLimitExceeded) || !strings.Contains(err.Error(), "object of 4194304 bytes is larger than the 1048576 allowed") {
				t.Fatalf("error %v, want the 4 MiB object refused by its size", err)
			}
			if got := w.(*packGuard).inflated; got >= limit {
				t.Fatalf("the guard inflated %d bytes; the refused blob was inflated", got)
			}
			if unread := int64(len(pack)) - src.n; !drain && unread < 3<<20 {
				t.Fatalf("the guard read %d of %d pack bytes past the refused header", src.n, len(pack))
			}
			if left, _ := os.ReadDir(packDir); len(left) != 0 {
				t.Fatalf("a refused pack left %d files in the cache: %v", len(left), left)
			}
			if _, err := cache.BlobObject(bigHash); err == nil {
				t.Fatal("the refused blob is in the cache")
			}
		})
	}

	t.Run("a pack within the limit passes the guard unchanged", func(t *testing.T) {
		cache, err := initCache(filepath.Join(t.TempDir(), "cache"), "test")
		if err != nil {
			t.Fatal(err)
		}
		guarded := &guardedStorer{Storer: cache.Storer, maxObject: 8 << 20}
		if err := packfile.UpdateObjectStorage(guarded, bytes.NewReader(pack)); err != nil {
			t.Fatalf("pack within the limit: %v", err)
		}
		b, err := cache.BlobObject(bigHash)
		if err != nil || b.Size != int64(len(big)) {
			t.Fatalf("blob after an admitted pack: %v, %v", b, err)
		}
	})

	t.Run("fetch fails with a limit error and keeps the last good revision", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := New(filepath.Join(t.TempDir(), "cache"))
		src := Source{Name: "s", URL: repo.URL(), Ref: RefSpec{Branch: gitrepo.DefaultBranch}, Limits: Limits{MaxTotalBytes: limit}}
		_, err := c.Fetch(ctx, src)
		if !errors.Is(err, ErrLimitExceeded) || IsRetryable(err) {
			t.Fatalf("fetch error %v, want a terminal limit error", err)
		}
		if !strings.HasPrefix(err.Error(), `source "s": fetch `) || !strings.Contains(err.Error(), "limits.maxTotalSize") {
			t.Fatalf("error %q does not name the source and what to do", err)
		}
		if _, ok := c.LastGood("s"); ok {
			t.Fatal("a refused fetch produced a revision")
		}
	})
}
