// Package history is trueup's audit history: an append-only, tamper-evident
// record of every reconcile, apply, prune, heal, drift episode change, pull
// request, notification and manual action, queryable and exportable.
//
// # Model
//
// A Record is one event: its Type, the Target and Object it is about, the Git
// Revision, the Actor who caused it, an Outcome, a human Message, and Data, a
// JSON value with the details (masked diff, commit author, committer,
// message and signature, trigger, duration, counts). The reconciler appends
// the records of one reconcile as one batch (Store.Append), which is stored in
// one transaction: all of them or none. Records are never changed; the only
// deletion is retention (Store.Retain).
//
// Two backends share one schema and one migration list: SQLite in a file
// (OpenSQLite; pure Go, WAL, synchronous=FULL, BEGIN IMMEDIATE writers) for one
// machine, PostgreSQL (OpenPostgres) for several. Times are stored in UTC as
// int64 Unix nanoseconds (column time_ns), Data as text exactly as hashed
// (not JSONB, which would reorder it).
//
// Query and Export return records in Seq order, pages cursored by AfterSeq.
// Each filter has an index that ends in seq (target with time), so a page's
// sequence numbers are read from an index alone and only its rows are then
// fetched: a filter that matches thousands of records costs an index range.
// The filterable text columns are indexed through a 64-bit FNV-1a key of
// the text (columns *_key): integer index entries are small and cheap to
// insert, and a query matches the key and then the text. Appends insert
// rows 32 at a time with one prepared statement (SQLite) or one statement
// over arrays (PostgreSQL).
//
// # The chain
//
// Append numbers records with Seq 1, 2, 3, ... without gaps, sets each
// record's PrevHash to the Hash of the record before it ("" for record 1) and
// its Hash to the hex SHA-256 of its canonical encoding, which covers every
// field but Hash, PrevHash included. Changing, removing, inserting or
// reordering a stored record therefore breaks the chain at that record, and
// Verify, which walks the whole chain in Seq order recomputing every hash,
// names the first broken record. Appenders are serialised, so the chain
// cannot fork: in process by the store, across processes by SQLite's write lock
// (BEGIN IMMEDIATE) or PostgreSQL's transaction advisory lock
// (pg_advisory_xact_lock), taken before the head is read; the primary key on
// seq backs this up.
//
// A chain shows what was changed inside it, not a rewrite of all of it or a
// cut of its newest records: Verify returns the head (HeadSeq, HeadHash), and
// publishing it elsewhere from time to time (a Git tag, a ticket, a Slack
// message) lets an auditor detect those too.
//
// # Canonical encoding
//
// The hashed bytes (see Canonical) are a JSON object with exactly these twelve
// members in this order, no whitespace anywhere:
//
//		{"actor":S,"data":D,"message":S,"object":S,"outcome":S,"prev_hash":S,
//		 "revision":S,"seq":N,"target":S,"time":T,"type":S,"v":1}
//
//	  - S: a JSON string as Python's json.dumps(s, ensure_ascii=False) writes
//	    it: " and \ escaped with a backslash; \b \f \n \r \t; any other
//	    character below U+0020 as \u00xx in lowercase hex; every other character
//	    as its UTF-8 bytes (no \u escapes, no HTML escapes). Text is UTF-8 without
//	    NUL bytes; Append refuses anything else.
//	  - N: seq in decimal.
//	  - T: the time as a string in UTC in Go's RFC 3339 with nanoseconds:
//	    2026-05-01T12:00:00.1234Z (the fraction without trailing zeros, and
//	    none at all for a whole second).
//	  - D: the data as stored: the caller's JSON compacted (insignificant
//	    whitespace removed, nothing else changed: member order, number literals
//	    and string escapes stay), or null when there is none.
//	  - v: the version of this encoding, 1.
//
// Hash is the SHA-256 of those bytes in lowercase hex. An auditor can
// recompute the chain without trueup: testdata/verify_chain.py does it in a
// few lines of Python, reading the SQLite file (the same columns exist in
// PostgreSQL). Export writes the stored records as JSON lines with data
// byte for byte as hashed.
//
// # Retention
//
// Retain(before) removes the oldest records: the longest prefix of the chain
// whose records are all older than before (a chain has no holes, so an old
// record after a newer one waits for it). In the same transaction it appends a
// checkpoint record (Type checkpoint, written only by Retain) whose Data names
// the last removed record and its hash:
//
//	{"before":"...","removed":N,"through_seq":S,"through_hash":H}
//
// The checkpoint is an ordinary link of the chain, so it is itself
// tamper-evident, and the history records that it was cut. Verify starts from
// the newest checkpoint: it checks the checkpoint's own hash, then expects the
// first stored record to be S+1 with PrevHash H, and walks on from there.
package history
