package state

import (
	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

// Tables.
const (
	tableTargets  = "targets"
	tableObjects  = "objects"
	tableEpisodes = "episodes"
	tableThreads  = "threads"
)

// Indexes. A name with prefixSuffix scans an index by prefix.
const (
	indexID     = "id"
	indexTarget = "target"
	indexStatus = "status"
	indexObject = "object" // episodes: target + object
	indexOpen   = "open"   // episodes: target + object, open ones only

	prefixSuffix = "_prefix"
)

// schema is the database schema: one table per kind of state.
func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableTargets:  targetsTable(),
		tableObjects:  objectsTable(),
		tableEpisodes: episodesTable(),
		tableThreads:  threadsTable(),
	}}
}

func targetsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableTargets,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: stringIndex[Target](func(t *Target) string { return t.Name })},
		},
	}
}

func objectsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableObjects,
		Indexes: map[string]*memdb.IndexSchema{
			// The id is target and ref, so a prefix scan by target lists a
			// target's objects: no separate target index (memory).
			indexID: {Name: indexID, Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				stringIndex[Object](func(o *Object) string { return o.Target }),
				stringIndex[Object](func(o *Object) string { return o.Ref.String() }),
			}}},
			// In-sync objects, nearly all of them in steady state, are left
			// out of the status index (memory); ObjectsByStatus scans the
			// table for them.
			indexStatus: {Name: indexStatus, AllowMissing: true, Indexer: &unlessIndex[Object]{
				skip:        func(o *Object) bool { return o.Status == drift.InSync },
				stringIndex: stringIndex[Object](func(o *Object) string { return string(o.Status) }),
			}},
			// No kind index: one entry per object (a third of the table's
			// memory at 10,000 objects) for a query nothing in the daemon
			// runs; ObjectsByKind scans the table.
		},
	}
}

func episodesTable() *memdb.TableSchema {
	targetObject := memdb.CompoundIndex{Indexes: []memdb.Indexer{
		stringIndex[Episode](func(e *Episode) string { return e.Target }),
		stringIndex[Episode](func(e *Episode) string { return e.Object }),
	}}
	return &memdb.TableSchema{
		Name: tableEpisodes,
		Indexes: map[string]*memdb.IndexSchema{
			indexID:     {Name: indexID, Unique: true, Indexer: stringIndex[Episode](func(e *Episode) string { return e.ID })},
			indexTarget: {Name: indexTarget, Indexer: stringIndex[Episode](func(e *Episode) string { return e.Target })},
			indexStatus: {Name: indexStatus, Indexer: stringIndex[Episode](func(e *Episode) string { return string(e.Status) })},
			indexObject: {Name: indexObject, Indexer: &targetObject},
			// Unique: upsertEpisodeTxn refuses a second open episode of an
			// object, since memdb itself would silently overwrite the entry.
			indexOpen: {Name: indexOpen, Unique: true, AllowMissing: true, Indexer: &openIndex{targetObject}},
		},
	}
}
