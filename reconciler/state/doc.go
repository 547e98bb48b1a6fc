// Package state holds what is true now for the reconciler, in an in-memory
// go-memdb database: the targets and how their last reconcile went, the
// objects each target manages with their drift status, and the drift
// episodes with the Slack threads and pull requests attached to them.
//
// The package owns the schema (schema.go) and every transaction. Reads take a
// memdb.WatchSet, nil when the caller does not care; each read adds the watch
// channel of the index range it scanned, so a later write to that range
// closes the channel: Target watches one target, Objects one target's
// objects, OpenEpisode one object's open episode. A lookup that finds nothing
// watches the nearest part of the index and may also wake on unrelated
// writes; a watcher re-reads, it never trusts a wake-up alone. Writes run in
// one transaction through helpers that take the txn, so Rebuild composes
// them. Rows are copied in and out: callers never share memory with the
// database, and stored rows are never changed in place.
//
// A drift episode is one stretch of time during which one object differs
// from Git. It opens when a report first shows the object drifted or missing,
// is updated when the drifted fields change, and closes when the object is in
// sync again: healed (trueup re-applied Git), adopted (Git took the live
// value), accepted (a person accepted the drift), gone (the object was
// deleted or pruned) or resolved (in sync by other means). Open and
// acknowledged episodes are open: an object has at most one, found with
// OpenEpisode, and a closed episode never reopens. NextEpisode is the pure
// decision between one report and the open episode; the store records its
// result and keeps what notifiers added meanwhile (threads, pull request).
//
// The store is rebuilt on start: the reconciler reads the history, turns its
// records into Targets and Episodes and calls Rebuild. Managed objects are
// not rebuilt from the history; the reconciler learns them again from the
// destinations.
//
// Memory: an object row keeps its ref and a few short strings, never the
// object. Each index entry costs a few hundred bytes in go-memdb's radix
// trees (a node, a leaf and a watch channel each), so the objects table has
// as few as the queries need: the id (target, then ref) also serves "objects
// of a target" by prefix; the status index leaves in-sync objects out; the
// kind index (group, kind). TestObjectMemory measures about 1.3 KB per
// in-sync object and 1.9 KB per drifted one at 10,000 objects.
package state
