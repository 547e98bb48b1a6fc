package notifications

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Thread is a notifier's record of one episode: where its parent message
// is, what was last sent, and whether it is resolved. The Dispatcher keeps
// one per notifier and episode, for notifiers with and without threads
// (TS is empty for the latter), and uses it to deduplicate and remind.
type Thread struct {
	Notifier string `json:"notifier"`
	Episode  string `json:"episode"`
	// Channel and TS locate the parent message (Slack bot mode only).
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	// Fingerprint is Fingerprint of the last event sent.
	Fingerprint string    `json:"fingerprint"`
	LastSent    time.Time `json:"lastSent"`
	Resolved    bool      `json:"resolved,omitempty"`
	// Last is the last event sent for the episode (redacted), so reminders
	// and the resolved parent can be rendered after a restart.
	Last Event `json:"last"`
}

// Threaded reports whether replies can go into a thread.
func (t Thread) Threaded() bool { return t.TS != "" }

// ThreadStore persists Threads across restarts. The reconciler implements
// it on its state store; MemoryThreads serves tests and the CLI. Calls come
// from the Dispatcher's worker goroutines, concurrently for different
// notifiers.
type ThreadStore interface {
	// Thread returns the record of notifier's episode, if any.
	Thread(notifier, episode string) (Thread, bool, error)
	// SaveThread inserts or replaces the record keyed by Notifier and Episode.
	SaveThread(t Thread) error
	// OpenThreads returns notifier's records that are not resolved.
	OpenThreads(notifier string) ([]Thread, error)
}

// MemoryThreads is an in-memory ThreadStore, safe for concurrent use.
type MemoryThreads struct {
	mu      sync.Mutex
	threads map[threadKey]Thread
}

type threadKey struct{ notifier, episode string }

// NewMemoryThreads returns an empty store.
func NewMemoryThreads() *MemoryThreads {
	return &MemoryThreads{threads: map[threadKey]Thread{}}
}

// Thread implements ThreadStore.
func (m *MemoryThreads) Thread(notifier, episode string) (Thread, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.threads[threadKey{notifier, episode}]
	return t, ok, nil
}

// SaveThread implements ThreadStore.
func (m *MemoryThreads) SaveThread(t Thread) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.threads[threadKey{t.Notifier, t.Episode}] = t
	return nil
}

// OpenThreads implements ThreadStore, ordered by episode.
func (m *MemoryThreads) OpenThreads(notifier string) ([]Thread, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Thread
	for k, t := range m.threads {
		if k.notifier == notifier && !t.Resolved {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b Thread) int { return cmp.Compare(a.Episode, b.Episode) })
	return out, nil
}
