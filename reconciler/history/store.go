package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// keyOf is the 64-bit FNV-1a hash of s. Posting keys are keyOf of a
// column name and a value (see postingKey). It must never change: stored
// postings carry it.
func keyOf(s string) int64 {
	return int64(fnv(fnvOffset, s))
}

// fnvOffset is the FNV-1a offset basis.
const fnvOffset = 14695981039346656037

// fnv continues the 64-bit FNV-1a hash h over s.
func fnv(h uint64, s string) uint64 {
	const prime = 1099511628211
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// Option configures a Store at open.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock that stamps records appended with a zero Time
// and retention checkpoints (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// sqlStore is the Store over database/sql shared by both backends.
type sqlStore struct {
	// id starts every error: "history sqlite /path" or
	// "history postgres user@host:port/db" (never a password).
	id string
	db *sql.DB
	d  *dialect
	// redact removes secrets (a DSN password) from error text.
	redact func(error) error
	now    func() time.Time
	// insertSegment and writerHead are insertSegmentSQL and writerHeadSQL
	// prepared at open (SQLite, where parsing costs more than a step), or
	// nil.
	insertSegment, writerHead *sql.Stmt
	// writer serialises this process's writers (a channel, so that waiting
	// honours ctx); the dialect's lock serialises processes.
	writer chan struct{}
}

// newStore is a store over an open db; the caller migrates and prepares.
func newStore(id string, db *sql.DB, d *dialect, opts []Option) *sqlStore {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return &sqlStore{id: id, db: db, d: d, now: o.now, writer: make(chan struct{}, 1)}
}

var _ Store = (*sqlStore)(nil)

// errorf wraps err with the store's identity and the operation.
func (s *sqlStore) errorf(op string, err error) error {
	if s.redact != nil {
		err = s.redact(err)
	}
	return fmt.Errorf("%s: %s: %w", s.id, op, err)
}

// head is the last record of the chain: Seq 0 and Hash "" when empty.
// A writer also learns history_posted.through_seq (posted) and how many
// segments follow it (unposted).
type head struct {
	seq              int64
	hash             string
	posted, unposted int64
	// runMax is the head segment's run_max_time_ns (MinInt64 when empty).
	runMax int64
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readHead reads the head from the newest segment: one primary key step.
func readHead(ctx context.Context, q querier) (head, error) {
	var h head
	err := q.QueryRowContext(ctx, `SELECT last_seq, head_hash FROM `+tableSegments+` ORDER BY first_seq DESC LIMIT 1`).Scan(&h.seq, &h.hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return head{}, fmt.Errorf("read head: %w", err)
	}
	return h, nil
}

// writerHeadSQL reads the head and the unposted tail (see postingDue) in
// one statement; each part is a primary key step or range whatever the
// planner knows of the tables.
const writerHeadSQL = `WITH p AS (SELECT COALESCE(MAX(through_seq), 0) AS through_seq FROM ` + tablePosted + `)
	SELECT p.through_seq, (SELECT COUNT(*) FROM ` + tableSegments + ` s WHERE s.first_seq > p.through_seq),
		(SELECT last_seq FROM ` + tableSegments + ` ORDER BY first_seq DESC LIMIT 1),
		(SELECT head_hash FROM ` + tableSegments + ` ORDER BY first_seq DESC LIMIT 1),
		(SELECT run_max_time_ns FROM ` + tableSegments + ` ORDER BY first_seq DESC LIMIT 1)
	FROM p`

// readWriterHead reads the head with the state of the postings.
func (s *sqlStore) readWriterHead(ctx context.Context, tx *sql.Tx) (head, error) {
	var (
		h           head
		seq, runMax sql.NullInt64
		hash        sql.NullString
	)
	row := tx.QueryRowContext(ctx, writerHeadSQL)
	if s.writerHead != nil {
		row = tx.StmtContext(ctx, s.writerHead).QueryRowContext(ctx)
	}
	if err := row.Scan(&h.posted, &h.unposted, &seq, &hash, &runMax); err != nil {
		return head{}, fmt.Errorf("read head: %w", err)
	}
	h.seq, h.hash, h.runMax = seq.Int64, hash.String, runMax.Int64
	if !runMax.Valid {
		h.runMax = math.MinInt64
	}
	return h, nil
}

// write runs fn in a writer transaction that holds the chain lock, with the
// chain's head as it is under that lock.
func (s *sqlStore) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, h head) error) error {
	select {
	case s.writer <- struct{}{}:
		defer func() { <-s.writer }()
	case <-ctx.Done():
		return fmt.Errorf("wait for the writer: %w", ctx.Err())
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.d.lock(ctx, tx); err != nil {
		return fmt.Errorf("lock chain: %w", err)
	}
	h, err := s.readWriterHead(ctx, tx)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx, h); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Append implements Store.
func (s *sqlStore) Append(ctx context.Context, recs ...Record) ([]Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	now := s.now()
	out := make([]Record, len(recs))
	for i, r := range recs {
		if r.Type == TypeCheckpoint {
			return nil, s.errorf(fmt.Sprintf("append: record %d", i), fmt.Errorf("type %q is written by retention only: %w", r.Type, ErrInvalidRecord))
		}
		n, err := normalize(r, now)
		if err != nil {
			return nil, s.errorf(fmt.Sprintf("append: record %d", i), err)
		}
		out[i] = n
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, h head) error {
		var err error
		if out, err = s.dropResolvedEpisodes(ctx, tx, out); err != nil || len(out) == 0 {
			return err
		}
		return s.appendSegment(ctx, tx, h, linkSegment(out, h.seq, h.hash))
	})
	if err != nil {
		return nil, s.errorf("append", err)
	}
	return out, nil
}

// insertSegmentSQL inserts one segment.
const insertSegmentSQL = `INSERT INTO ` + tableSegments +
	` (first_seq, last_seq, min_time_ns, max_time_ns, run_max_time_ns, head_hash, posting_keys, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// writeSegment inserts seg in tx, with the prepared statement when there
// is one. Its postings wait in posting_keys (see postingDue).
func writeSegment(ctx context.Context, tx *sql.Tx, d *dialect, prepared *sql.Stmt, seg segment) error {
	args := []any{seg.first, seg.last, seg.minTime, seg.maxTime, seg.runMax, seg.headHash, formatKeys(seg.postings), string(seg.body)}
	var err error
	if prepared != nil {
		_, err = tx.StmtContext(ctx, prepared).ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, d.rebind(insertSegmentSQL), args...)
	}
	if err != nil {
		return fmt.Errorf("insert segment %d..%d: %w", seg.first, seg.last, err)
	}
	return nil
}

// appendSegment writes seg as the new head after h and posts the tail
// when due.
func (s *sqlStore) appendSegment(ctx context.Context, tx *sql.Tx, h head, seg segment) error {
	seg.runMax = max(h.runMax, seg.maxTime)
	if err := writeSegment(ctx, tx, s.d, s.insertSegment, seg); err != nil {
		return err
	}
	if !postingDue(h, seg) {
		return nil
	}
	return postTail(ctx, tx, s.d, h.posted)
}

// segmentColumns are the columns readSegment reads.
const segmentColumns = `first_seq, last_seq, min_time_ns, max_time_ns, run_max_time_ns, head_hash, posting_keys, body`

// storedSeg is a segment as read back.
type storedSeg struct {
	first, last      int64
	minTime, maxTime int64
	runMax           int64
	headHash, keys   string
	body             string
}

// readSegment scans one row selected with segmentColumns.
func readSegment(sc interface{ Scan(dest ...any) error }) (storedSeg, error) {
	var g storedSeg
	err := sc.Scan(&g.first, &g.last, &g.minTime, &g.maxTime, &g.runMax, &g.headHash, &g.keys, &g.body)
	return g, err
}

// Get implements Store: the segment whose range holds seq, then its line.
func (s *sqlStore) Get(ctx context.Context, seq int64) (Record, error) {
	q := s.d.rebind(`SELECT ` + segmentColumns + ` FROM ` + tableSegments + ` WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1`)
	g, err := readSegment(s.db.QueryRowContext(ctx, q, seq))
	var r Record
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && g.last < seq:
		err = ErrNotFound
	case err == nil:
		r, err = g.find(seq)
	}
	if err != nil {
		return Record{}, s.errorf(fmt.Sprintf("get %d", seq), err)
	}
	return r, nil
}

// find returns the record seq of the segment: the line at its place, or
// else any line that holds it.
func (g storedSeg) find(seq int64) (Record, error) {
	rest := g.body
	for i := g.first; i < seq && rest != ""; i++ {
		_, rest, _ = strings.Cut(rest, "\n")
	}
	line, _, _ := strings.Cut(rest, "\n")
	if r, _, err := parseLine(line); err == nil && r.Seq == seq {
		return detach(r), nil
	}
	for _, line := range splitLines(g.body) {
		if r, _, err := parseLine(line); err == nil && r.Seq == seq {
			return detach(r), nil
		}
	}
	return Record{}, ErrNotFound
}

// setup migrates the schema, prepares the statements the dialect reuses
// and runs its maintenance.
func (s *sqlStore) setup(ctx context.Context) error {
	if err := migrate(ctx, s.db, s.d); err != nil {
		return err
	}
	s.maintain(ctx)
	if !s.d.prepare {
		return nil
	}
	var err error
	if s.insertSegment, err = s.db.PrepareContext(ctx, insertSegmentSQL); err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	if s.writerHead, err = s.db.PrepareContext(ctx, writerHeadSQL); err != nil {
		return fmt.Errorf("prepare head: %w", err)
	}
	return nil
}

// maintain runs the dialect's upkeep (SQLite: PRAGMA optimize, which keeps
// the planner's statistics current). It is an optimisation: errors are
// ignored.
func (s *sqlStore) maintain(ctx context.Context) {
	if s.d.maintain != "" {
		_, _ = s.db.ExecContext(ctx, s.d.maintain)
	}
}

// Close implements Store.
func (s *sqlStore) Close() error {
	for _, st := range []*sql.Stmt{s.insertSegment, s.writerHead} {
		if st != nil {
			_ = st.Close()
		}
	}
	if err := s.db.Close(); err != nil {
		return s.errorf("close", err)
	}
	return nil
}
