package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// columns of history_records in the order scanRecord reads them.
const columns = `seq, time_ns, type, target, object, revision, actor, outcome, message, data, prev_hash, hash`

// insertColumns are the columns an append writes: columns and the keys
// of the filterable text columns (see keyOf).
const insertColumns = columns + `, type_key, target_key, object_key, revision_key, actor_key`

// numColumns is how many bind parameters one inserted record takes.
const numColumns = 17

// keyOf is the 64-bit FNV-1a hash of s, the indexed key of a filterable
// text column. It must never change: stored rows carry it.
func keyOf(s string) int64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return int64(h)
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
	// insertOne is the prepared one-row INSERT of dialects without
	// arrayInsertSQL.
	insertOne *sql.Stmt
	// insertMany is the prepared INSERT of insertChunk rows.
	insertMany *sql.Stmt
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
type head struct {
	seq  int64
	hash string
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
	var h head
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM `+tableRecords+` ORDER BY seq DESC LIMIT 1`).Scan(&h.seq, &h.hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read head: %w", err)
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
		link(out, h.seq, h.hash)
		return s.insert(ctx, tx, out)
	})
	if err != nil {
		return nil, s.errorf("append", err)
	}
	return out, nil
}

// insert writes linked records: in one statement with an array per column
// (PostgreSQL), or row by row with the prepared statement (SQLite, where a
// step costs no round trip and parsing one large statement costs more).
func (s *sqlStore) insert(ctx context.Context, tx *sql.Tx, recs []Record) error {
	if s.d.arrayInsertSQL != "" {
		if _, err := tx.ExecContext(ctx, s.d.arrayInsertSQL, arrayArgs(recs)...); err != nil {
			return fmt.Errorf("insert records %d..%d: %w", recs[0].Seq, recs[len(recs)-1].Seq, err)
		}
		return nil
	}
	rest := recs
	if s.insertMany != nil {
		st := tx.StmtContext(ctx, s.insertMany)
		for len(rest) >= insertChunk {
			if _, err := st.ExecContext(ctx, insertArgs(rest[:insertChunk])...); err != nil {
				return fmt.Errorf("insert records %d..%d: %w", rest[0].Seq, rest[insertChunk-1].Seq, err)
			}
			rest = rest[insertChunk:]
		}
	}
	st := tx.StmtContext(ctx, s.insertOne)
	for _, r := range rest {
		if _, err := st.ExecContext(ctx, insertArgs([]Record{r})...); err != nil {
			return fmt.Errorf("insert record %d: %w", r.Seq, err)
		}
	}
	return nil
}

// insertOneSQL inserts one row.
var insertOneSQL = insertRowsSQL(1)

// insertChunk is how many rows the prepared multi-row INSERT takes: one
// statement step per chunk instead of per row.
const insertChunk = 32

// insertRowsSQL inserts n rows.
func insertRowsSQL(n int) string {
	row := "(" + strings.Repeat("?, ", numColumns-1) + "?)"
	return `INSERT INTO ` + tableRecords + ` (` + insertColumns + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// insertArgs flattens recs into bind parameters in columns order.
func insertArgs(recs []Record) []any {
	args := make([]any, 0, len(recs)*numColumns)
	for _, r := range recs {
		var data any // NULL
		if len(r.Data) > 0 {
			data = string(r.Data)
		}
		args = append(args, r.Seq, r.Time.UnixNano(), r.Type, r.Target, r.Object, r.Revision,
			r.Actor, r.Outcome, r.Message, data, r.PrevHash, r.Hash,
			keyOf(r.Type), keyOf(r.Target), keyOf(r.Object), keyOf(r.Revision), keyOf(r.Actor))
	}
	return args
}

// arrayArgs are recs as one array per column, for an INSERT ... SELECT
// FROM unnest(...) that takes any number of rows in numColumns parameters.
func arrayArgs(recs []Record) []any {
	var (
		seq, timeNS                                            = make([]int64, len(recs)), make([]int64, len(recs))
		typ, target, object, revision, actor, outcome, message = make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs))
		data                                                   = make([]*string, len(recs))
		prev, hash                                             = make([]string, len(recs)), make([]string, len(recs))
		keys                                                   = [5][]int64{}
	)
	for k := range keys {
		keys[k] = make([]int64, len(recs))
	}
	for i, r := range recs {
		seq[i], timeNS[i] = r.Seq, r.Time.UnixNano()
		typ[i], target[i], object[i], revision[i] = r.Type, r.Target, r.Object, r.Revision
		actor[i], outcome[i], message[i] = r.Actor, r.Outcome, r.Message
		if len(r.Data) > 0 {
			d := string(r.Data)
			data[i] = &d
		}
		prev[i], hash[i] = r.PrevHash, r.Hash
		for k, v := range [5]string{r.Type, r.Target, r.Object, r.Revision, r.Actor} {
			keys[k][i] = keyOf(v)
		}
	}
	return []any{seq, timeNS, typ, target, object, revision, actor, outcome, message, data, prev, hash,
		keys[0], keys[1], keys[2], keys[3], keys[4]}
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanRecord reads one row selected with columns.
func scanRecord(sc scanner) (Record, error) {
	var (
		r      Record
		timeNS int64
		data   sql.NullString
	)
	err := sc.Scan(&r.Seq, &timeNS, &r.Type, &r.Target, &r.Object, &r.Revision,
		&r.Actor, &r.Outcome, &r.Message, &data, &r.PrevHash, &r.Hash)
	if err != nil {
		return Record{}, err
	}
	r.Time = time.Unix(0, timeNS).UTC()
	if data.Valid && data.String != "" {
		r.Data = json.RawMessage(data.String)
	}
	return r, nil
}

// Get implements Store.
func (s *sqlStore) Get(ctx context.Context, seq int64) (Record, error) {
	q := s.d.rebind(`SELECT ` + columns + ` FROM ` + tableRecords + ` WHERE seq = ?`)
	r, err := scanRecord(s.db.QueryRowContext(ctx, q, seq))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Record{}, s.errorf(fmt.Sprintf("get %d", seq), err)
	}
	return r, nil
}

// setup migrates the schema, prepares the statements the dialect reuses
// and runs its maintenance.
func (s *sqlStore) setup(ctx context.Context) error {
	if err := migrate(ctx, s.db, s.d); err != nil {
		return err
	}
	s.maintain(ctx)
	if s.d.arrayInsertSQL != "" {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, s.d.rebind(insertOneSQL))
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	s.insertOne = st
	if s.insertMany, err = s.db.PrepareContext(ctx, s.d.rebind(insertRowsSQL(insertChunk))); err != nil {
		return fmt.Errorf("prepare insert: %w", err)
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
	for _, st := range []*sql.Stmt{s.insertOne, s.insertMany} {
		if st != nil {
			_ = st.Close()
		}
	}
	if err := s.db.Close(); err != nil {
		return s.errorf("close", err)
	}
	return nil
}
