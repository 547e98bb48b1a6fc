package state

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hashicorp/go-memdb"
)

// Thread is a notifier's record of one episode (a drift episode or a
// compliance finding): where its messages went and what was last sent. The
// notification pipeline owns Data; the store keeps it opaque.
type Thread struct {
	Notifier string
	Episode  string
	Resolved bool
	// Data is the notification pipeline's record, as JSON.
	Data json.RawMessage
}

func (t *Thread) id() string { return t.Notifier + "\x00" + t.Episode }

func threadsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableThreads,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				stringIndex[Thread](func(t *Thread) string { return t.Notifier }),
				stringIndex[Thread](func(t *Thread) string { return t.Episode }),
			}}},
			// Resolved threads are left out of the open index.
			indexOpen: {Name: indexOpen, AllowMissing: true, Indexer: &unlessIndex[Thread]{
				skip:        func(t *Thread) bool { return t.Resolved },
				stringIndex: stringIndex[Thread](func(t *Thread) string { return t.Notifier }),
			}},
		},
	}
}

// SaveThread inserts or replaces the thread of a notifier's episode.
func (s *Store) SaveThread(t Thread) error {
	if t.Notifier == "" || t.Episode == "" {
		return fmt.Errorf("state: thread %q of notifier %q: notifier and episode are required: %w", t.Episode, t.Notifier, ErrInvalid)
	}
	t.Data = slices.Clone(t.Data)
	return s.write(func(txn *memdb.Txn) error {
		if err := txn.Insert(tableThreads, &t); err != nil {
			return fmt.Errorf("state: thread %s: %w", t.id(), err)
		}
		return nil
	})
}

// Thread returns a notifier's thread of an episode, or nil.
func (s *Store) Thread(ws memdb.WatchSet, notifier, episode string) (*Thread, error) {
	txn := s.db.Txn(false)
	t, err := first[Thread](ws, txn, tableThreads, indexID, notifier, episode)
	if err != nil || t == nil {
		return nil, err
	}
	c := *t
	return &c, nil
}

// OpenThreads returns a notifier's threads that are not resolved, ordered
// by episode.
func (s *Store) OpenThreads(ws memdb.WatchSet, notifier string) ([]Thread, error) {
	it, err := s.db.Txn(false).Get(tableThreads, indexOpen, notifier)
	if err != nil {
		return nil, fmt.Errorf("state: open threads of %s: %w", notifier, err)
	}
	out := list(ws, it, nil, func(t *Thread) Thread { return *t })
	slices.SortFunc(out, func(a, b Thread) int { return cmp.Compare(a.Episode, b.Episode) })
	return out, nil
}

// RestoreThreads adds threads read back from the history on start.
func (s *Store) RestoreThreads(threads []Thread) error {
	return s.write(func(txn *memdb.Txn) error {
		for i := range threads {
			t := threads[i]
			if err := txn.Insert(tableThreads, &t); err != nil {
				return fmt.Errorf("state: restore thread %s: %w", t.id(), err)
			}
		}
		return nil
	})
}

// DeleteResolvedThreads removes the threads of resolved episodes (their
// record stays in the history) and returns how many went.
func (s *Store) DeleteResolvedThreads() (int, error) {
	var n int
	err := s.write(func(txn *memdb.Txn) error {
		it, err := txn.Get(tableThreads, indexID)
		if err != nil {
			return err
		}
		var gone []*Thread
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if t := raw.(*Thread); t.Resolved {
				gone = append(gone, t)
			}
		}
		for _, t := range gone {
			if err := txn.Delete(tableThreads, t); err != nil {
				return fmt.Errorf("state: thread %s: delete: %w", t.id(), err)
			}
		}
		n = len(gone)
		return nil
	})
	return n, err
}
