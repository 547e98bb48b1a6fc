//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package git

import "context"

// lockFile is a no-op where flock is unavailable: only the in-process lock
// protects the cache there.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, ctx.Err()
}
