package state

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"
)

var (
	// ErrNotFound: the record a write refers to does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a record lacks a required field or has an unknown status.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the write would give an object a second open episode.
	ErrConflict = errors.New("conflict")
)

// Store is the state store. Its methods are safe for concurrent use: reads
// see a consistent snapshot, writes are serialized by memdb.
type Store struct {
	db *memdb.MemDB
}

// New returns an empty store.
func New() (*Store, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("state: new database: %w", err)
	}
	return &Store{db: db}, nil
}

// write runs fn in a write transaction and commits when it succeeds.
func (s *Store) write(fn func(txn *memdb.Txn) error) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if err := fn(txn); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// list collects the rows an index scan returns, converted by conv, and adds
// the scan's watch channel to ws.
func list[T, R any](ws memdb.WatchSet, it memdb.ResultIterator, keep func(*T) bool, conv func(*T) R) []R {
	ws.Add(it.WatchCh())
	var out []R
	for raw := it.Next(); raw != nil; raw = it.Next() {
		row := raw.(*T)
		if keep == nil || keep(row) {
			out = append(out, conv(row))
		}
	}
	return out
}

// first looks up one row and adds the lookup's watch channel to ws.
func first[T any](ws memdb.WatchSet, txn *memdb.Txn, table, index string, args ...any) (*T, error) {
	ch, raw, err := txn.FirstWatch(table, index, args...)
	if err != nil {
		return nil, err
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*T), nil
}
