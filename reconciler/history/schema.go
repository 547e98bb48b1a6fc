package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Table names.
const (
	tableMigrations = "history_migrations"
	tableSegments   = "history_segments"
	tablePostings   = "history_postings"
	tablePosted     = "history_posted"
	// tableRecords held one row per record up to schema version 1;
	// migration 2 moves them into segments and drops it.
	tableRecords = "history_records"
)

// migration is one schema change: statements, then an optional Go step in
// the same transaction (for changes SQL cannot express in both dialects).
type migration struct {
	sql  string
	step func(ctx context.Context, tx *sql.Tx, d *dialect) error
}

// migrations are the schema changes in order; migration i brings the schema
// to version i+1. Both backends run the same text after dialect.expand
// replaces the {{placeholders}}. Never edit a released migration: add one.
var migrations = []migration{
	// 1: the records and the indexes behind Filter. The filterable text
	// columns are indexed through 64-bit keys (keyOf): an integer index
	// entry is a fraction of the size of a text one, and appends write
	// every index, so this keeps batched appends fast. Queries match the
	// key and then the text, so a key collision only costs a row read.
	{sql: `CREATE TABLE history_records (
		seq        {{seq_primary_key}},
		time_ns    BIGINT NOT NULL,
		type       TEXT NOT NULL,
		target     TEXT NOT NULL,
		object     TEXT NOT NULL,
		revision   TEXT NOT NULL,
		actor      TEXT NOT NULL,
		outcome    TEXT NOT NULL,
		message    TEXT NOT NULL,
		data       TEXT,
		prev_hash  TEXT NOT NULL,
		hash       TEXT NOT NULL,
		type_key     BIGINT NOT NULL DEFAULT 0,
		target_key   BIGINT NOT NULL DEFAULT 0,
		object_key   BIGINT NOT NULL DEFAULT 0,
		revision_key BIGINT NOT NULL DEFAULT 0,
		actor_key    BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX history_records_target_time ON history_records (target_key, time_ns, seq);
	CREATE INDEX history_records_object ON history_records (object_key, seq);
	CREATE INDEX history_records_revision ON history_records (revision_key, seq);
	CREATE INDEX history_records_type ON history_records (type_key, seq);
	CREATE INDEX history_records_actor ON history_records (actor_key, seq);
	CREATE INDEX history_records_time ON history_records (time_ns, seq);`},
	// 2: segment storage (see doc.go). An Append batch is one row of
	// history_segments, its records in the body; history_postings lists
	// the segments holding each filter value, by key, up to
	// history_posted.through_seq (later segments carry their keys in
	// posting_keys). The step moves the records of version 1 into
	// segments, posts them and drops history_records.
	{sql: `CREATE TABLE history_segments (
		first_seq    {{seq_primary_key}},
		last_seq     BIGINT NOT NULL,
		min_time_ns  BIGINT NOT NULL,
		max_time_ns  BIGINT NOT NULL,
		run_max_time_ns BIGINT NOT NULL,
		head_hash    TEXT NOT NULL,
		posting_keys TEXT NOT NULL,
		body         TEXT NOT NULL
	);
	CREATE INDEX history_segments_run_max_time ON history_segments (run_max_time_ns, first_seq);
	CREATE TABLE history_postings (
		key       BIGINT NOT NULL,
		first_seq BIGINT NOT NULL,
		PRIMARY KEY (key, first_seq)
	){{without_rowid}};
	CREATE TABLE history_posted (through_seq BIGINT NOT NULL);
	INSERT INTO history_posted (through_seq) VALUES (0)`, step: moveRecordsToSegments},
}

// dialect holds what differs between the backends.
type dialect struct {
	name string
	// types replaces {{key}} in migrations.
	types map[string]string
	// numbered: placeholders are $1, $2, ... instead of ?.
	numbered bool
	// lock serialises writers inside tx, across processes. SQLite's writer
	// transactions are BEGIN IMMEDIATE, which already holds the lock.
	lock func(ctx context.Context, tx *sql.Tx) error
	// readTx are the options of the snapshot that Verify reads in.
	readTx *sql.TxOptions
	// tuneSegments, when set, adjusts how history_segments stores its
	// text, in migration 2.
	tuneSegments func(ctx context.Context, tx *sql.Tx) error
	// postingsOf is the FROM clause and key expression that expand the
	// posting_keys of the segments s into rows (see segmentPostings).
	postingsOf, postingKeyExpr string
	// prepare: the store prepares its append statements at open.
	prepare bool
	// maintain is run at open and after retention ("" for none).
	maintain string
}

// expand replaces the {{placeholders}} of a migration.
func (d *dialect) expand(migration string) string {
	for k, v := range d.types {
		migration = strings.ReplaceAll(migration, "{{"+k+"}}", v)
	}
	return migration
}

// segmentPostings selects (key, first_seq) of the postings of the
// segments s that match cond.
func (d *dialect) segmentPostings(cond string) string {
	return `SELECT ` + d.postingKeyExpr + `, s.first_seq FROM ` + d.postingsOf + ` WHERE ` + cond
}

// rebind turns ? placeholders into $n for numbered dialects. The queries of
// this package have no ? inside literals.
func (d *dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		fmt.Fprintf(&b, "$%d", n)
	}
	return b.String()
}

// migrate brings the schema to the newest version in one writer
// transaction, so two processes opening a new database do not race.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	return migrateTo(ctx, db, d, len(migrations))
}

// migrateTo brings the schema to version target (tests build old
// databases with it).
func migrateTo(ctx context.Context, db *sql.DB, d *dialect, target int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := d.lock(ctx, tx); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	create := `CREATE TABLE IF NOT EXISTS ` + tableMigrations + ` (version INTEGER PRIMARY KEY, applied_ns BIGINT NOT NULL)`
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("migrate: create %s: %w", tableMigrations, err)
	}
	var version sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM `+tableMigrations).Scan(&version); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if int(version.Int64) > len(migrations) {
		return fmt.Errorf("migrate: database at version %d, this trueup knows %d: %w", version.Int64, len(migrations), ErrSchemaTooNew)
	}
	for v := int(version.Int64) + 1; v <= target; v++ {
		if err := applyMigration(ctx, tx, d, v); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// applyMigration runs migration v (1-based) statement by statement, then
// its step, and records it.
func applyMigration(ctx context.Context, tx *sql.Tx, d *dialect, v int) error {
	m := migrations[v-1]
	for _, stmt := range strings.Split(d.expand(m.sql), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: version %d: %w", v, err)
		}
	}
	if m.step != nil {
		if err := m.step(ctx, tx, d); err != nil {
			return fmt.Errorf("migrate: version %d: %w", v, err)
		}
	}
	insert := d.rebind(`INSERT INTO ` + tableMigrations + ` (version, applied_ns) VALUES (?, ?)`)
	if _, err := tx.ExecContext(ctx, insert, v, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("migrate: record version %d: %w", v, err)
	}
	return nil
}
