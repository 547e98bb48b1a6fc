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
	types:    map[string]string{"seq_primary_key": "BIGINT PRIMARY KEY"},
	numbered: true,
	lock: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryLockKey)
		return err
	},
	readTx: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	arrayInsertSQL: `INSERT INTO ` + tableRecords + ` (` + insertColumns + `) SELECT * FROM unnest(
		$1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
		$13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[])`,
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
