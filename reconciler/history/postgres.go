package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// advisoryLockKey names the transaction-level advisory lock that serialises
// writers of the chain across processes ("trueup" and a version byte).
const advisoryLockKey int64 = 0x7472756575700001

// postgresDialect is PostgreSQL's side of the shared schema.
var postgresDialect = &dialect{
	name:     "postgres",
	types:    map[string]string{"seq_primary_key": "BIGINT PRIMARY KEY", "without_rowid": ""},
	numbered: true,
	lock: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryLockKey)
		return err
	},
	readTx:         &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	tuneSegments:   compressSegments,
	postingsOf:     tableSegments + ` s, jsonb_array_elements_text(s.posting_keys::jsonb) AS j(k)`,
	postingKeyExpr: "j.k::bigint",
}

// compressSegments has PostgreSQL compress the large text of segments
// (body, posting_keys) with lz4 where the server has it (version 14 and
// later, built with lz4), else store it uncompressed: the default pglz
// costs an append more than the rest of its work.
func compressSegments(ctx context.Context, tx *sql.Tx) error {
	var lz4 bool
	q := `SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))`
	if err := tx.QueryRowContext(ctx, q).Scan(&lz4); err != nil {
		return fmt.Errorf("ask for lz4: %w", err)
	}
	set := "SET STORAGE EXTERNAL"
	if lz4 {
		set = "SET COMPRESSION lz4"
	}
	for _, col := range []string{"body", "posting_keys"} {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+tableSegments+` ALTER COLUMN `+col+` `+set); err != nil {
			return fmt.Errorf("store %s.%s: %w", tableSegments, col, err)
		}
	}
	return nil
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL or
// key=value string, as libpq takes) and migrates its schema. Errors name
// the server as user@host:port/database and never carry the password.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis in a string it
		// could not parse: say nothing about the string.
		return nil, errors.New("history postgres: parse dsn: not a valid PostgreSQL URL or key=value connection string (details withheld: they may contain the password)")
	}
	id := fmt.Sprintf("history postgres %s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
	// The store's statements are short: JIT compilation, which the planner
	// may pick for a table it has no statistics of yet, costs more than it
	// saves.
	cfg.RuntimeParams["jit"] = "off"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(5)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := newStore(id, db, postgresDialect, opts)
	s.redact = redactor(cfg.Password)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(s.errorf("connect", err), db.Close())
	}
	if err := s.setup(ctx); err != nil {
		return nil, errors.Join(s.errorf("open", err), db.Close())
	}
	return s, nil
}

// redactor returns a function that hides password in error text.
func redactor(password string) func(error) error {
	return func(err error) error {
		if password == "" || err == nil || !strings.Contains(err.Error(), password) {
			return err
		}
		return &redactedError{err: err, password: password}
	}
}

// redactedError is err with every occurrence of the password replaced; it
// still unwraps to err for errors.Is and errors.As.
type redactedError struct {
	err      error
	password string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.password, "xxxxx")
}

func (e *redactedError) Unwrap() error { return e.err }
