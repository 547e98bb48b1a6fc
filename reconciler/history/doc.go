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
// machine, PostgreSQL (OpenPostgres) for several.
//
// # Storage
//
// A batch is stored as one row of history_segments, a segment: first_seq
// and last_seq (the Seq range of its records), min_time_ns and max_time_ns
// (the range of their times, UTC Unix nanoseconds), run_max_time_ns (the
// greatest max_time_ns of this segment and all before it, indexed: the
// segments before the first whose run_max_time_ns reaches a time hold only
// older records, so one index step bounds a time range from below),
// head_hash (the Hash of its last record), posting_keys (see below) and
// body, its records as text, one line each:
//
//	HASH SP CANONICAL LF
//
// where HASH is the record's Hash and CANONICAL its canonical encoding
// (below): the hashed bytes themselves, with Data byte for byte as hashed.
// An append therefore writes one row however many records it holds, plus
// a few index entries, and commits few pages. PostgreSQL compresses body
// and posting_keys with lz4 where the server has it (else stores them
// uncompressed: its default pglz costs an append more than the rest of its
// work), and its connections run with jit off (the statements are short).
//
// history_postings (key, first_seq), its primary key, lists for each filter
// value the segments that hold it: one row per distinct non-empty target,
// object, revision, type and actor of a segment, key the 64-bit FNV-1a
// hash of the column name, a NUL byte and the value (postingKey). Postings
// are written a few dozen segments at a time: an Append stores its
// segment's keys in posting_keys (a JSON array of integers), and when the
// segments after history_posted.through_seq reach 32, or about 4,096
// records, that Append inserts their postings together, sorted, so that
// each key's new postings land on one leaf page instead of every segment
// touching a page per key. A query reads postings for the segments up to
// through_seq and posting_keys for the ones after it.
//
// Schema version 1 stored a row per record (history_records, with an index
// per filter); migration 2 moves those rows into segments in its
// transaction (runs of consecutive records of one target, at most 1,000
// within a minute, each record with the hash its row stored, so that a
// record changed before the upgrade is still found), posts them and drops
// the table.
//
// Query and Export return records in Seq order, pages cursored by AfterSeq.
// One posting list drives (object before revision before target before
// actor; with only types, the types' lists merged), read in first_seq order
// from the cursor (and from the run_max_time_ns bound of Since), each
// posting checked against its segment's time range and probed for the
// other keys; without a key filter the segments are read in order. The
// candidate segments' bodies are read a page at a time (two segments, then
// as many as the rate of matches so far says the limit needs), each line
// is checked for the filter's values where its canonical encoding holds
// them, and the lines that have them are decoded and matched exactly (Seq,
// time, text), so a key collision costs a segment read and never returns a
// wrong record. Get(seq) reads the segment with the greatest first_seq <=
// seq.
//
// # The chain
//
// Append numbers records with Seq 1, 2, 3, ... without gaps, sets each
// record's PrevHash to the Hash of the record before it ("" for record 1) and
// its Hash to the hex SHA-256 of its canonical encoding, which covers every
// field but Hash, PrevHash included. Changing, removing, inserting or
// reordering a stored record therefore breaks the chain at that record, and
// Verify, which walks the whole chain in Seq order recomputing every hash,
// names the first broken record. Verify reads the segments in first_seq
// order and also checks each segment against its body: a segment whose
// first_seq, last_seq, head_hash, time range, run_max_time_ns or
// posting_keys disagree with its records (and for run_max_time_ns, with
// the segment before) is broken at its first record (a body cut after a
// record: at the first missing one), and a line that is not a record, or
// is not its canonical encoding, or whose data is not JSON, is broken at
// that record. Postings are an index outside the chain, but a posting
// removed by hand would hide its segment from filtered queries: after the
// chain checks, Verify compares history_postings with the posting_keys of
// the posted segments (per segment, a count and an order-independent sum
// of the mixed pairs) and names the first segment whose postings differ.
// Appenders are serialised, so the chain cannot fork: in process by the store, across processes by SQLite's write lock
// (BEGIN IMMEDIATE) or PostgreSQL's transaction advisory lock
// (pg_advisory_xact_lock), taken before the head is read (the newest
// segment's last_seq and head_hash: one primary key step); the primary key
// on first_seq backs this up.
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
// few lines of Python, reading the bodies from the SQLite file (the same
// columns exist in PostgreSQL). Export writes the stored records as JSON
// lines with data byte for byte as hashed.
//
// # Retention
//
// Retain(before) removes the oldest segments: the longest prefix of them
// whose records are all older than before, the segments before the first
// whose run_max_time_ns reaches before (a chain has no holes and a
// segment goes whole, so a segment holding a newer record keeps its older
// ones, and the ones after it, until it goes), with their postings. In the
// same transaction it appends a checkpoint record (Type checkpoint, written
// only by Retain, a segment of its own) whose Data names the last removed
// record and its hash:
//
//	{"before":"...","removed":N,"through_seq":S,"through_hash":H}
//
// The checkpoint is an ordinary link of the chain, so it is itself
// tamper-evident, and the history records that it was cut. Verify starts from
// the newest checkpoint: it checks the checkpoint's own hash, then expects the
// first stored record to be S+1 with PrevHash H, and walks on from there.
package history
