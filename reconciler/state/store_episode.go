package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

// EpisodeFilter selects episodes; zero fields select everything.
type EpisodeFilter struct {
	Target string
	// Object is a ref string; it needs Target.
	Object string
	Status EpisodeStatus
	// Open keeps open and acknowledged episodes only.
	Open bool
}

func (f EpisodeFilter) keep(e *Episode) bool {
	return (f.Target == "" || e.Target == f.Target) &&
		(f.Object == "" || e.Object == f.Object) &&
		(f.Status == "" || e.Status == f.Status) &&
		(!f.Open || e.Status.IsOpen())
}

// scan picks the narrowest index for the filter; keep does the rest.
func (f EpisodeFilter) scan() (index string, args []any) {
	switch {
	case f.Open && f.Object != "":
		return indexOpen, []any{f.Target, f.Object}
	case f.Open && f.Target != "":
		return indexOpen + prefixSuffix, []any{f.Target, ""}
	case f.Open:
		return indexOpen + prefixSuffix, nil
	case f.Object != "":
		return indexObject, []any{f.Target, f.Object}
	case f.Target != "":
		return indexTarget, []any{f.Target}
	case f.Status != "":
		return indexStatus, []any{string(f.Status)}
	}
	return indexID, nil
}

// OpenEpisode returns the open (or acknowledged) episode of a target's
// object, or nil when it has none. The watch fires when the object's open
// episode opens, changes or closes.
func (s *Store) OpenEpisode(ws memdb.WatchSet, target string, ref drift.ObjectRef) (*Episode, error) {
	object := ref.String()
	e, err := first[Episode](ws, s.db.Txn(false), tableEpisodes, indexOpen, target, object)
	if err != nil {
		return nil, fmt.Errorf("target %s: object %s: open episode: %w", target, object, err)
	}
	return episodeView(e), nil
}

// Episode returns an episode by id, or nil when there is none.
func (s *Store) Episode(ws memdb.WatchSet, id string) (*Episode, error) {
	e, err := first[Episode](ws, s.db.Txn(false), tableEpisodes, indexID, id)
	if err != nil {
		return nil, fmt.Errorf("episode %s: read: %w", id, err)
	}
	return episodeView(e), nil
}

// Episodes returns the episodes the filter selects, in the order of the
// index it scans (by id, or by target and object).
func (s *Store) Episodes(ws memdb.WatchSet, f EpisodeFilter) ([]Episode, error) {
	if f.Object != "" && f.Target == "" {
		return nil, fmt.Errorf("episodes of %s: %w: object filter without target", f.Object, ErrInvalid)
	}
	index, args := f.scan()
	it, err := s.db.Txn(false).Get(tableEpisodes, index, args...)
	if err != nil {
		return nil, fmt.Errorf("episodes: read: %w", err)
	}
	return list(ws, it, f.keep, (*Episode).view), nil
}

// UpsertEpisode inserts or replaces an episode. It fails with ErrConflict
// when the episode is open and its object already has another open one.
//
// Writers race: the reconciler upserts what NextEpisode computed from an
// episode it read, while notifiers and people add threads, pull requests and
// acknowledgements or close an episode by hand (accepted, adopted). So
// thread ids and the pull request URL missing from e are kept from the
// stored episode, and an open e neither undoes a stored acknowledgement nor
// reopens a closed episode: a closed episode stays closed (drift after it
// opens a new one).
func (s *Store) UpsertEpisode(e Episode) error {
	return s.write(func(txn *memdb.Txn) error { return upsertEpisodeTxn(txn, e.clone()) })
}

// SetThread records the episode's thread id at a notifier.
func (s *Store) SetThread(episodeID, notifier, threadID string) error {
	if notifier == "" || threadID == "" {
		return fmt.Errorf("episode %s: %w: empty notifier or thread id", episodeID, ErrInvalid)
	}
	return s.modifyEpisode(episodeID, func(e *Episode) {
		if e.Threads == nil {
			e.Threads = map[string]string{}
		}
		e.Threads[notifier] = threadID
	})
}

// SetPullRequest records the URL of the pull request that adopts the drift.
func (s *Store) SetPullRequest(episodeID, url string) error {
	return s.modifyEpisode(episodeID, func(e *Episode) { e.PullRequest = url })
}

// DeleteClosedEpisodes removes closed episodes that closed before a time
// (they live on in the history) and returns how many it removed.
func (s *Store) DeleteClosedEpisodes(before time.Time) (int, error) {
	n := 0
	err := s.write(func(txn *memdb.Txn) error {
		var err error
		n, err = deleteClosedEpisodesTxn(txn, before)
		return err
	})
	return n, err
}

func (s *Store) modifyEpisode(id string, change func(*Episode)) error {
	return s.write(func(txn *memdb.Txn) error {
		e, err := first[Episode](nil, txn, tableEpisodes, indexID, id)
		if err != nil {
			return fmt.Errorf("episode %s: read: %w", id, err)
		}
		if e == nil {
			return fmt.Errorf("episode %s: %w", id, ErrNotFound)
		}
		c := e.clone()
		change(&c)
		return insertEpisodeTxn(txn, &c)
	})
}

// upsertEpisodeTxn merges e with the stored episode of the same id (see
// UpsertEpisode) and inserts it. e must be the caller's own copy.
func upsertEpisodeTxn(txn *memdb.Txn, e Episode) error {
	stored, err := first[Episode](nil, txn, tableEpisodes, indexID, e.ID)
	if err != nil {
		return fmt.Errorf("episode %s: read: %w", e.ID, err)
	}
	if stored != nil {
		mergeStored(&e, stored)
	}
	return insertEpisodeTxn(txn, &e)
}

func mergeStored(e, stored *Episode) {
	for notifier, thread := range stored.Threads {
		if _, ok := e.Threads[notifier]; !ok {
			if e.Threads == nil {
				e.Threads = map[string]string{}
			}
			e.Threads[notifier] = thread
		}
	}
	if e.PullRequest == "" {
		e.PullRequest = stored.PullRequest
	}
	switch {
	case e.Status.IsOpen() && stored.Status.IsClosed():
		e.Status, e.Closed = stored.Status, stored.Closed
	case e.Status == EpisodeOpen && stored.Status == EpisodeAcknowledged:
		e.Status = EpisodeAcknowledged
	}
}

// insertEpisodeTxn validates e and inserts it as it is; e must not be
// changed afterwards.
func insertEpisodeTxn(txn *memdb.Txn, e *Episode) error {
	if err := validEpisode(e); err != nil {
		return fmt.Errorf("episode %s: %w", e.ID, err)
	}
	if e.Status.IsOpen() {
		other, err := first[Episode](nil, txn, tableEpisodes, indexOpen, e.Target, e.Object)
		if err != nil {
			return fmt.Errorf("episode %s: read: %w", e.ID, err)
		}
		if other != nil && other.ID != e.ID {
			return fmt.Errorf("episode %s: %w: %s already has open episode %s", e.ID, ErrConflict, e.Object, other.ID)
		}
	}
	if err := txn.Insert(tableEpisodes, e); err != nil {
		return fmt.Errorf("episode %s: insert: %w", e.ID, err)
	}
	return nil
}

func validEpisode(e *Episode) error {
	switch {
	case e.ID == "" || e.Target == "" || e.Object == "":
		return fmt.Errorf("%w: empty id, target or object", ErrInvalid)
	case !e.Status.valid():
		return fmt.Errorf("%w: status %q", ErrInvalid, e.Status)
	}
	return nil
}

func deleteClosedEpisodesTxn(txn *memdb.Txn, before time.Time) (int, error) {
	it, err := txn.Get(tableEpisodes, indexID)
	if err != nil {
		return 0, fmt.Errorf("episodes: read: %w", err)
	}
	var old []*Episode
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if e := raw.(*Episode); e.Status.IsClosed() && closedAt(e).Before(before) {
			old = append(old, e)
		}
	}
	for _, e := range old {
		if err := txn.Delete(tableEpisodes, e); err != nil {
			return 0, fmt.Errorf("episode %s: delete: %w", e.ID, err)
		}
	}
	return len(old), nil
}

// closedAt is when e closed, or when it was last seen when the closing time
// is unknown (an episode closed by hand without one).
func closedAt(e *Episode) time.Time {
	if e.Closed.IsZero() {
		return e.LastSeen
	}
	return e.Closed
}

func episodeView(e *Episode) *Episode {
	if e == nil {
		return nil
	}
	v := e.view()
	return &v
}
