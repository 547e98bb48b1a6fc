//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package git

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// lockPollInterval is how often a blocked process lock is retried.
const lockPollInterval = 20 * time.Millisecond

// lockFile takes an exclusive flock on path, creating it if needed, waiting
// until ctx is done. It excludes other processes and other Clients sharing
// the cache directory; the lock is released if the process dies.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPollInterval):
		}
	}
}
