package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
)

// TargetStatus is how a target's last reconcile went.
type TargetStatus string

const (
	// TargetPending: not reconciled yet since the daemon started or the
	// target changed.
	TargetPending TargetStatus = "pending"
	// TargetReady: the last reconcile succeeded.
	TargetReady TargetStatus = "ready"
	// TargetFailed: the last reconcile failed; LastError says why.
	TargetFailed TargetStatus = "failed"
	// TargetSuspended: reconciling is switched off for the target.
	TargetSuspended TargetStatus = "suspended"
	// TargetFrozen: a new revision waits for a freeze window to end; Held
	// names the window.
	TargetFrozen TargetStatus = "frozen"
	// TargetWaiting: the target waits for its dependencies (dependsOn);
	// Held names them and why.
	TargetWaiting TargetStatus = "waiting"
)

func (s TargetStatus) valid() bool {
	switch s {
	case TargetPending, TargetReady, TargetFailed, TargetSuspended, TargetFrozen, TargetWaiting:
		return true
	}
	return false
}

// Target is one target's current state.
type Target struct {
	Name string
	// Destination is the cluster or cloud account the target reconciles into.
	Destination string
	Status      TargetStatus
	// Revision is the last source revision reconciled.
	Revision      string
	LastReconcile time.Time
	LastError     string
	// LastAction is what the last reconcile did (applied, healed, pruned, none, ...).
	LastAction string
	// Held says why a frozen or waiting target holds its revision.
	Held string
}

// UpsertTarget inserts or replaces a target.
func (s *Store) UpsertTarget(t Target) error {
	return s.write(func(txn *memdb.Txn) error { return upsertTargetTxn(txn, t) })
}

// DeleteTarget removes a target and its managed objects. Its episodes stay:
// they are history; an open one is closed by the caller.
func (s *Store) DeleteTarget(name string) error {
	return s.write(func(txn *memdb.Txn) error {
		if _, err := txn.DeleteAll(tableTargets, indexID, name); err != nil {
			return fmt.Errorf("target %s: delete: %w", name, err)
		}
		if _, err := txn.DeleteAll(tableObjects, indexID+prefixSuffix, name, ""); err != nil {
			return fmt.Errorf("target %s: delete objects: %w", name, err)
		}
		return nil
	})
}

// Target returns a target, or nil when there is none by that name.
func (s *Store) Target(ws memdb.WatchSet, name string) (*Target, error) {
	t, err := first[Target](ws, s.db.Txn(false), tableTargets, indexID, name)
	if err != nil {
		return nil, fmt.Errorf("target %s: read: %w", name, err)
	}
	if t == nil {
		return nil, nil
	}
	c := *t
	return &c, nil
}

// Targets returns every target, by name.
func (s *Store) Targets(ws memdb.WatchSet) ([]Target, error) {
	it, err := s.db.Txn(false).Get(tableTargets, indexID)
	if err != nil {
		return nil, fmt.Errorf("targets: read: %w", err)
	}
	return list(ws, it, nil, func(t *Target) Target { return *t }), nil
}

func upsertTargetTxn(txn *memdb.Txn, t Target) error {
	if t.Name == "" {
		return fmt.Errorf("target: %w: empty name", ErrInvalid)
	}
	if !t.Status.valid() {
		return fmt.Errorf("target %s: %w: status %q", t.Name, ErrInvalid, t.Status)
	}
	if err := txn.Insert(tableTargets, &t); err != nil {
		return fmt.Errorf("target %s: insert: %w", t.Name, err)
	}
	return nil
}
