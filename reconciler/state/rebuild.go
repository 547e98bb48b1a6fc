package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// Rebuild replaces every target and episode with the given ones, in one
// transaction: on start, after the reconciler read the history and turned
// its records into the latest Target and Episode of each. Managed objects
// are left alone; the reconciler learns them again from the destinations.
// Nothing changes when a record is invalid or two open episodes name the
// same object.
func (s *Store) Rebuild(episodes []Episode, targets []Target) error {
	return s.write(func(txn *memdb.Txn) error {
		if err := rebuildTxn(txn, episodes, targets); err != nil {
			return fmt.Errorf("state: rebuild: %w", err)
		}
		return nil
	})
}

func rebuildTxn(txn *memdb.Txn, episodes []Episode, targets []Target) error {
	for _, table := range []string{tableTargets, tableEpisodes} {
		if _, err := txn.DeleteAll(table, indexID); err != nil {
			return fmt.Errorf("clear %s: %w", table, err)
		}
	}
	for _, t := range targets {
		if err := upsertTargetTxn(txn, t); err != nil {
			return err
		}
	}
	for i := range episodes {
		e := episodes[i].clone()
		if err := insertEpisodeTxn(txn, &e); err != nil {
			return err
		}
	}
	return nil
}

// RebuildTarget replaces one target's episodes with the given ones, and
// the threads that threadOf says belong to the target with threads, in one
// transaction: when this replica takes a target over from another, whose
// episodes and threads moved on in the shared history meanwhile. Other
// targets are left alone.
func (s *Store) RebuildTarget(target string, episodes []Episode, threads []Thread, threadOf func(episode string) bool) error {
	return s.write(func(txn *memdb.Txn) error {
		if _, err := txn.DeleteAll(tableEpisodes, indexTarget, target); err != nil {
			return fmt.Errorf("state: rebuild target %s: clear episodes: %w", target, err)
		}
		it, err := txn.Get(tableThreads, indexID)
		if err != nil {
			return fmt.Errorf("state: rebuild target %s: threads: %w", target, err)
		}
		var stale []*Thread
		for obj := it.Next(); obj != nil; obj = it.Next() {
			if th := obj.(*Thread); threadOf(th.Episode) {
				stale = append(stale, th)
			}
		}
		for _, th := range stale {
			if err := txn.Delete(tableThreads, th); err != nil {
				return fmt.Errorf("state: rebuild target %s: thread %s: %w", target, th.id(), err)
			}
		}
		for i := range episodes {
			if episodes[i].Target != target {
				return fmt.Errorf("state: rebuild target %s: episode %s is of target %s: %w", target, episodes[i].ID, episodes[i].Target, ErrInvalid)
			}
			e := episodes[i].clone()
			if err := insertEpisodeTxn(txn, &e); err != nil {
				return err
			}
		}
		for i := range threads {
			th := threads[i]
			if err := txn.Insert(tableThreads, &th); err != nil {
				return fmt.Errorf("state: rebuild target %s: thread %s: %w", target, th.id(), err)
			}
		}
		return nil
	})
}
