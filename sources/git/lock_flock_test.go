//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package git_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources/git"
)

// TestFetchWaitsForOtherProcess holds the source's lock file the way
// another trueup process would and checks that Fetch waits for it.
func TestFetchWaitsForOtherProcess(t *testing.T) {
	repo := newRepo(t)
	head := repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	cacheDir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(cacheDir, "locked.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	c := git.New(cacheDir, git.WithTimeout(300*time.Millisecond))
	src := branchSource("locked", repo.URL())

	_, err = c.Fetch(context.Background(), src)
	wantErr(t, err, git.ErrBusy, true)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Fetch(ctx, src); !errors.Is(err, context.Canceled) || git.IsRetryable(err) {
		t.Fatalf("cancelled wait: %v, want context.Canceled, not retryable", err)
	}

	done := make(chan error, 1)
	slow := git.New(cacheDir, git.WithTimeout(testTimeout))
	go func() {
		rev, err := slow.Fetch(context.Background(), src)
		if err == nil && rev.Commit != head.String() {
			err = errors.New("wrong commit " + rev.Commit)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("fetch finished while another process held the lock: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
