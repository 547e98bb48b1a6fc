package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

// Object is one managed object of a target: its ref and what the last
// comparison said, never the object itself.
type Object struct {
	Target string
	Ref    drift.ObjectRef
	// Status is the object's drift status at its last comparison.
	Status drift.Status
	// ResourceVersion is the live object's version at that comparison.
	ResourceVersion string
	// Updated is when Status or ResourceVersion last changed.
	Updated time.Time
}

// ObjectID is the id of a target's object: target/Kind.group/namespace/name.
func ObjectID(target string, ref drift.ObjectRef) string {
	return target + "/" + ref.String()
}

// ID is the object's id (ObjectID).
func (o *Object) ID() string { return ObjectID(o.Target, o.Ref) }

// UpsertObjects inserts or replaces objects of a target. An object's Target
// may be left empty; it is set to target. An object whose Ref, Status and
// ResourceVersion are unchanged is not written (its Updated time stays), so
// a steady-state reconcile wakes no watcher.
func (s *Store) UpsertObjects(target string, objs []Object) error {
	return s.write(func(txn *memdb.Txn) error { return upsertObjectsTxn(txn, target, objs) })
}

// DeleteObjects removes objects of a target; refs that are not stored are
// skipped.
func (s *Store) DeleteObjects(target string, refs []drift.ObjectRef) error {
	return s.write(func(txn *memdb.Txn) error { return deleteObjectsTxn(txn, target, refs) })
}

// Object returns one object of a target, or nil when it is not stored.
func (s *Store) Object(ws memdb.WatchSet, target string, ref drift.ObjectRef) (*Object, error) {
	id := ObjectID(target, ref)
	o, err := first[Object](ws, s.db.Txn(false), tableObjects, indexID, target, ref.String())
	if err != nil {
		return nil, fmt.Errorf("object %s: read: %w", id, err)
	}
	if o == nil {
		return nil, nil
	}
	c := *o
	return &c, nil
}

// Objects returns a target's objects, by id.
func (s *Store) Objects(ws memdb.WatchSet, target string) ([]Object, error) {
	return s.objects(ws, fmt.Sprintf("target %s: objects", target), nil, indexID+prefixSuffix, target, "")
}

// ObjectsByStatus returns the objects of every target with a drift status.
// Asking for in-sync objects scans every object (they are not in the status
// index) and its watch fires on any object write.
func (s *Store) ObjectsByStatus(ws memdb.WatchSet, status drift.Status) ([]Object, error) {
	what := fmt.Sprintf("objects %s", status)
	if status != drift.InSync {
		return s.objects(ws, what, nil, indexStatus, string(status))
	}
	return s.objects(ws, what, func(o *Object) bool { return o.Status == drift.InSync }, indexID)
}

// ObjectsByKind returns the objects of every target of one group and kind.
// It scans every object (see objectsTable), and its watch fires on any
// object write.
func (s *Store) ObjectsByKind(ws memdb.WatchSet, group, kind string) ([]Object, error) {
	return s.objects(ws, fmt.Sprintf("objects %s.%s", kind, group),
		func(o *Object) bool { return o.Ref.Group == group && o.Ref.Kind == kind }, indexID)
}

func (s *Store) objects(ws memdb.WatchSet, what string, keep func(*Object) bool, index string, args ...any) ([]Object, error) {
	it, err := s.db.Txn(false).Get(tableObjects, index, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", what, err)
	}
	return list(ws, it, keep, func(o *Object) Object { return *o }), nil
}

func upsertObjectsTxn(txn *memdb.Txn, target string, objs []Object) error {
	for i := range objs {
		if err := upsertObjectTxn(txn, target, objs[i]); err != nil {
			return err
		}
	}
	return nil
}

func upsertObjectTxn(txn *memdb.Txn, target string, o Object) error {
	if o.Target == "" {
		o.Target = target
	}
	id := o.ID()
	if err := validObject(target, &o); err != nil {
		return fmt.Errorf("object %s: %w", id, err)
	}
	old, err := txn.First(tableObjects, indexID, o.Target, o.Ref.String())
	if err != nil {
		return fmt.Errorf("object %s: read: %w", id, err)
	}
	if old, ok := old.(*Object); ok && old.Ref == o.Ref && old.Status == o.Status && old.ResourceVersion == o.ResourceVersion {
		return nil
	}
	if err := txn.Insert(tableObjects, &o); err != nil {
		return fmt.Errorf("object %s: insert: %w", id, err)
	}
	return nil
}

func validObject(target string, o *Object) error {
	switch {
	case target == "":
		return fmt.Errorf("%w: empty target", ErrInvalid)
	case o.Target != target:
		return fmt.Errorf("%w: belongs to target %s", ErrInvalid, o.Target)
	case o.Ref.Kind == "" || o.Ref.Name == "":
		return fmt.Errorf("%w: ref without kind or name", ErrInvalid)
	}
	return nil
}

func deleteObjectsTxn(txn *memdb.Txn, target string, refs []drift.ObjectRef) error {
	for _, ref := range refs {
		id := ObjectID(target, ref)
		if _, err := txn.DeleteAll(tableObjects, indexID, target, ref.String()); err != nil {
			return fmt.Errorf("object %s: delete: %w", id, err)
		}
	}
	return nil
}
