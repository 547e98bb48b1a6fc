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
