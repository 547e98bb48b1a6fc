package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)
)

// sqliteParams configure every connection: writer transactions take the
// write lock at BEGIN (BEGIN IMMEDIATE), so two processes cannot both read
// the same head; WAL lets readers run beside the writer; synchronous=FULL
// makes a commit durable once Append returns.
const sqliteParams = "_txlock=immediate" +
	"&_pragma=busy_timeout(10000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(ON)" +
	"&_pragma=temp_store(MEMORY)" // statement journals of multi-row inserts

// sqliteDialect is SQLite's side of the shared schema.
var sqliteDialect = &dialect{
	name: "sqlite",
	types: map[string]string{
		"seq_primary_key": "INTEGER PRIMARY KEY", // the rowid
		"without_rowid":   " WITHOUT ROWID",      // postings are their primary key
	},
	lock:           func(context.Context, *sql.Tx) error { return nil }, // BEGIN IMMEDIATE holds it
	readTx:         &sql.TxOptions{ReadOnly: true},                      // a deferred BEGIN: a WAL snapshot
	postingsOf:     tableSegments + ` s, json_each(s.posting_keys) j`,
	postingKeyExpr: "j.value",
	prepare:        true,                      // parsing costs more than a step
	maintain:       "PRAGMA optimize=0x10002", // analyse what lacks statistics, within limits
}

// openTimeout bounds OpenSQLite, which has no ctx.
const openTimeout = 30 * time.Second

// OpenSQLite opens (creating it if needed) the history database in the
// file at path and migrates its schema.
func OpenSQLite(path string, opts ...Option) (Store, error) {
	id := "history sqlite " + path
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%s: open: path must be a file name without ? or #", id)
	}
	db, err := sql.Open("sqlite", path+"?"+sqliteParams)
	if err != nil {
		return nil, fmt.Errorf("%s: open: %w", id, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	s := newStore(id, db, sqliteDialect, opts)
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	// A new database: journal_mode=WAL and the schema need a first writer.
	// Two processes creating it at once (the daemon starting and a
	// `trueup history` beside it) can get SQLITE_BUSY without the busy
	// handler being asked (the switch to WAL): that is retried.
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		err = s.setup(ctx)
		if err == nil {
			return s, nil
		}
		if !isBusy(err) || ctx.Err() != nil {
			return nil, errors.Join(s.errorf("open", err), db.Close())
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY
// or SQLITE_LOCKED, with any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == 5 || code == 6
	}
	return false
}
