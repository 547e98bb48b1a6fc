package hostapi

import "sync"

// Lazy holds a value fetched on first use and kept once a fetch
// succeeds; failed fetches are not kept. It is safe for concurrent use.
// The lock is not held while fetching, so concurrent first uses may
// fetch more than once; each fetch runs under its caller's context.
type Lazy[T any] struct {
	mu   sync.Mutex
	done bool
	v    T
}

// Get returns the kept value, or calls fetch and keeps its result when it
// succeeds.
func (l *Lazy[T]) Get(fetch func() (T, error)) (T, error) {
	l.mu.Lock()
	if l.done {
		defer l.mu.Unlock()
		return l.v, nil
	}
	l.mu.Unlock()
	v, err := fetch()
	if err != nil {
		return v, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.v, l.done = v, true
	}
	return l.v, nil
}
