package history

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for raw SQL in tests

	"github.com/trueup-dev/trueup/fixtures/pgenv"
)

func TestMain(m *testing.M) { pgenv.Main(m) }

// env is one empty history database of one backend, with a way to open
// more Store instances on it and raw SQL access for tampering.
type env struct {
	backend string
	// open opens another Store on the same database; closed in Cleanup.
	open func(t testing.TB, opts ...Option) Store
	// tryOpen opens one and returns the error; the caller closes it.
	tryOpen func(opts ...Option) (Store, error)
	// raw is a plain connection, outside the Store.
	raw *sql.DB
	d   *dialect
}

// exec runs a statement with ? placeholders on the raw connection.
func (e *env) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := e.raw.Exec(e.d.rebind(query), args...); err != nil {
		t.Fatalf("%s: %s: %v", e.backend, query, err)
	}
}

// backend makes a fresh env per call.
type backend struct {
	name   string
	newEnv func(t testing.TB) *env
}

var backends = []backend{
	{name: "sqlite", newEnv: newSQLiteEnv},
	{name: "postgres", newEnv: newPostgresEnv},
}

func newSQLiteEnv(t testing.TB) *env {
	path := filepath.Join(t.TempDir(), "history.db")
	return newEnv(t, "sqlite", sqliteDialect, "sqlite", path+"?_pragma=busy_timeout(10000)",
		func(opts ...Option) (Store, error) { return OpenSQLite(path, opts...) })
}

func newPostgresEnv(t testing.TB) *env {
	dsn := pgenv.Shared(t).NewDatabase(t)
	return newEnv(t, "postgres", postgresDialect, "pgx", dsn,
		func(opts ...Option) (Store, error) { return OpenPostgres(context.Background(), dsn, opts...) })
}

func newEnv(t testing.TB, name string, d *dialect, driver, dsn string, open func(...Option) (Store, error)) *env {
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("%s: raw open: %v", name, err)
	}
	t.Cleanup(func() { raw.Close() })
	return &env{
		backend: name,
		d:       d,
		raw:     raw,
		tryOpen: open,
		open: func(t testing.TB, opts ...Option) Store {
			t.Helper()
			s, err := open(opts...)
			if err != nil {
				t.Fatalf("open %s: %v", name, err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			return s
		},
	}
}

// t0 is the base time of the test data.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)

// fixedClock returns t0 plus one second per call.
func fixedClock() func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return t0.Add(time.Duration(n) * time.Second)
	}
}

// mustAppend appends and fails the test on error.
func mustAppend(t testing.TB, s Store, recs ...Record) []Record {
	t.Helper()
	out, err := s.Append(context.Background(), recs...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return out
}

// mustVerifyOK verifies and fails unless the chain is whole with n records.
func mustVerifyOK(t testing.TB, s Store, n int64) VerifyResult {
	t.Helper()
	res, err := s.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !res.OK || res.Records != n {
		t.Fatalf("verify = %+v, want OK with %d records", res, n)
	}
	return res
}

// seqs lists the Seq of recs.
func seqs(recs []Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// numbered returns n reconcile records with increasing times, one minute
// apart from t0.
func numbered(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{
			Time: t0.Add(time.Duration(i) * time.Minute), Type: TypeReconcile, Target: "web",
			Revision: "main@sha1:abc", Actor: "alice", Outcome: "succeeded",
			Message: "reconciled", Data: []byte(`{"i":` + strconv.Itoa(i) + `}`),
		}
	}
	return recs
}
