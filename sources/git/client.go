package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/trueup-dev/trueup/sources"
)

// DefaultTimeout bounds one call (Fetch, FetchRef, ReadFiles, Push,
// DeleteBranch), lock wait included.
const DefaultTimeout = 60 * time.Second

// Client fetches Git sources into per-source bare caches under one
// directory, reads files from them and pushes trueup's own branches. It is
// safe for concurrent use: calls for the same source are serialised (in
// process by a per-source lock, across processes by a lock file), calls
// for different sources run in parallel.
type Client struct {
	dir     string
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	sources map[string]*sourceState
}

// sourceState is what the Client keeps per source name.
type sourceState struct {
	// sem is a one-slot semaphore: a lock that a context can give up on.
	sem chan struct{}
	// ssh is the parsed ssh material of the last call (guarded by sem).
	ssh *sshMaterial

	mu       sync.Mutex
	lastGood *sources.Revision
}

// Option configures a Client.
type Option func(*Client)

// WithTimeout bounds each call of the Client (DefaultTimeout when d is not
// positive) for sources without a Timeout of their own. A caller's context deadline, if sooner, wins.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithClock sets the clock that dates the commits Push writes (time.Now
// when now is nil).
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// New returns a Client that keeps its caches in cacheDir, one bare
// repository per source at <cacheDir>/<source name>.
func New(cacheDir string, opts ...Option) *Client {
	c := &Client{dir: cacheDir, timeout: DefaultTimeout, now: time.Now, sources: map[string]*sourceState{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// LastGood returns the last revision Fetch returned without error for the
// named source in this Client's lifetime.
func (c *Client) LastGood(name string) (sources.Revision, bool) {
	c.mu.Lock()
	st, ok := c.sources[name]
	c.mu.Unlock()
	if !ok {
		return sources.Revision{}, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.lastGood == nil {
		return sources.Revision{}, false
	}
	return *st.lastGood, true
}

func (c *Client) state(name string) *sourceState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.sources[name]
	if !ok {
		st = &sourceState{sem: make(chan struct{}, 1)}
		c.sources[name] = st
	}
	return st
}

func (st *sourceState) setLastGood(rev sources.Revision) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lastGood = &rev
}

// lock takes the in-process then the cross-process lock of a source.
func (c *Client) lock(ctx context.Context, name string) (unlock func(), err error) {
	st := c.state(name)
	select {
	case st.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("source %q: wait for cache lock: %w", name, lockErr(ctx.Err()))
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		<-st.sem
		return nil, fmt.Errorf("source %q: create cache dir: %w", name, err)
	}
	release, err := lockFile(ctx, c.lockPath(name))
	if err != nil {
		<-st.sem
		return nil, fmt.Errorf("source %q: lock cache %s: %w", name, c.lockPath(name), lockErr(err))
	}
	return func() {
		release()
		<-st.sem
	}, nil
}

// lockErr marks a lock wait that ran out of time as ErrBusy; a cancelled
// context stays a plain cancellation.
func lockErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

// Fetch resolves the source's ref on the remote, fetches what is missing
// into the cache, verifies the commit and returns it as a revision.
//
// The remote is listed first (ls-remote); when the ref still points at the
// commit the cache holds, nothing is fetched. A pinned commit already in
// the cache does not contact the remote at all. A moved ref is fetched
// incrementally; a rewritten one is fetched with a forced refspec and
// reported as ForcePushed. On any error nothing changes: LastGood keeps the
// previous revision and its files stay readable.
func (c *Client) Fetch(ctx context.Context, src Source) (sources.Revision, error) {
	if err := src.Validate(); err != nil {
		return sources.Revision{}, err
	}
	var rev sources.Revision
	err := c.inSession(ctx, src, nil, func(ctx context.Context, s *session) (err error) {
		rev, err = s.fetch(ctx)
		return err
	})
	if err != nil {
		return sources.Revision{}, err
	}
	c.state(src.Name).setLastGood(rev)
	return rev, nil
}

// timeoutFor is the bound of one call for src: its own Timeout, else the
// Client's.
func (c *Client) timeoutFor(src Source) time.Duration {
	if src.Timeout > 0 {
		return src.Timeout
	}
	return c.timeout
}

// inSession runs fn in a session of src within its timeout,
// holding the source's locks. before, when not nil, runs under the locks
// before the session opens (the cache) and may refuse.
func (c *Client) inSession(ctx context.Context, src Source, before func() error, fn func(ctx context.Context, s *session) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeoutFor(src))
	defer cancel()
	unlock, err := c.lock(ctx, src.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if before != nil {
		if err := before(); err != nil {
			return err
		}
	}
	s, err := c.newSession(src, &c.state(src.Name).ssh)
	if err != nil {
		return err
	}
	return fn(ctx, s)
}
