package history

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/pgenv"
)

func TestPostgresErrorsNeverCarryThePassword(t *testing.T) {
	const secret = "hunter2-S3cret-pw"
	srv := pgenv.Shared(t)
	dsn := srv.NewDatabase(t)
	wrongPassword := strings.Replace(dsn, srv.Password, secret, 1)
	closedPort := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/x?sslmode=disable&connect_timeout=2", secret, closedLoopbackPort(t))
	tests := []struct {
		name       string
		dsn        string
		wantPrefix string
	}{
		{name: "wrong password", dsn: wrongPassword,
			wantPrefix: fmt.Sprintf("history postgres postgres@127.0.0.1:%d/%s: connect: ", srv.Port, strings.TrimPrefix(mustURL(t, dsn).Path, "/"))},
		{name: "nothing listening", dsn: closedPort, wantPrefix: "history postgres postgres@127.0.0.1:"},
		{name: "bad url port", dsn: "postgres://postgres:" + secret + "@127.0.0.1:notaport/x", wantPrefix: "history postgres: parse dsn: "},
		{name: "bad key value", dsn: "host=127.0.0.1 password=" + secret + " port=abc", wantPrefix: "history postgres: parse dsn: "},
		{name: "password with an unescaped at sign", dsn: "postgres://postgres:" + secret + "@x@127.0.0.1:1/x", wantPrefix: "history postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := OpenPostgres(ctx, tt.dsn)
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", err), secret) {
				t.Fatalf("error carries the password: %v", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantPrefix) {
				t.Errorf("error %q does not start with %q", err, tt.wantPrefix)
			}
		})
	}
}

func TestRedactorKeepsTheChainOfErrors(t *testing.T) {
	base := fmt.Errorf("dial: password pw123 refused: %w", ErrNotFound)
	err := redactor("pw123")(base)
	if strings.Contains(err.Error(), "pw123") || !strings.Contains(err.Error(), "password xxxxx refused") {
		t.Errorf("redacted error = %q", err)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Error("redaction hides the wrapped error from errors.Is")
	}
	if other := errors.New("no secret here"); redactor("pw123")(other) != other {
		t.Error("an error without the password was rewrapped")
	}
}

func TestSQLiteOpensDurableWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.(*sqlStore).db
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "busy_timeout": "10000", "foreign_keys": "1",
	} {
		var got string
		if err := db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatalf("pragma %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("pragma %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := OpenSQLite(path + "?mode=ro"); err == nil || !strings.HasPrefix(err.Error(), "history sqlite "+path+"?mode=ro: open: ") {
		t.Errorf("path with a query: %v", err)
	}
	_, err = OpenSQLite(filepath.Join(t.TempDir(), "missing-dir", "history.db"))
	if err == nil || !strings.HasPrefix(err.Error(), "history sqlite ") {
		t.Errorf("open in a missing directory: %v", err)
	}
}

func closedLoopbackPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPostgresStoresSegmentsWithoutPglzAndRunsWithoutJIT(t *testing.T) {
	e := newPostgresEnv(t)
	s := e.open(t)
	for _, col := range []string{"body", "posting_keys"} {
		var compression, storage string
		q := `SELECT attcompression::text, attstorage::text FROM pg_attribute WHERE attrelid = 'history_segments'::regclass AND attname = $1`
		if err := e.raw.QueryRow(q, col).Scan(&compression, &storage); err != nil {
			t.Fatal(err)
		}
		if compression != "l" && storage != "e" {
			t.Errorf("history_segments.%s: compression %q storage %q, want lz4 (l) or external (e)", col, compression, storage)
		}
	}
	var jit string
	if err := s.(*sqlStore).db.QueryRow(`SHOW jit`).Scan(&jit); err != nil || jit != "off" {
		t.Errorf("jit = %q (%v), want off", jit, err)
	}
}

// TestSQLiteConcurrentFirstOpen opens a database that does not exist yet
// from several stores at once, as a daemon starting and a `trueup history`
// beside it do: each open succeeds and they share one schema and chain.
func TestSQLiteConcurrentFirstOpen(t *testing.T) {
	for round := 0; round < 20; round++ {
		path := filepath.Join(t.TempDir(), "history.db")
		const n = 6
		errs := make(chan error, n)
		stores := make(chan Store, n)
		for i := 0; i < n; i++ {
			go func() {
				s, err := OpenSQLite(path)
				errs <- err
				stores <- s
			}()
		}
		for i := 0; i < n; i++ {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: concurrent first open: %v", round, err)
			}
			if s := <-stores; s != nil {
				s.Close()
			}
		}
	}
}
