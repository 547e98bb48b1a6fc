package history

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/pgenv"
)

// pgWriterEnv names the database a writer process appends to.
const pgWriterEnv = "TRUEUP_HISTORY_PG_WRITER_DSN"

// TestPostgresWriterProcess is not a test: TestPostgresWriterProcessesKeepOneChain
// re-executes the test binary to run it. It appends 30 batches of 1 to 40
// records, printing "committed ID" after each Append returned, as one
// `trueup serve` replica of several does.
func TestPostgresWriterProcess(t *testing.T) {
	dsn := os.Getenv(pgWriterEnv)
	if dsn == "" {
		return
	}
	s, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := range 30 {
		appendBatch(s, "replica", i, 1+(i*7+os.Getpid())%40)
	}
	os.Exit(0)
}

// TestPostgresWriterProcessesKeepOneChain runs four processes that append
// to one PostgreSQL history at once, as HA replicas do, one of them
// killed (SIGKILL) in the middle, and checks that the chain verifies,
// every batch is whole and consecutive, and every batch a process reported
// committed is stored. The chain's advisory lock is what makes this hold:
// without it two processes link their segments to the same head.
func TestPostgresWriterProcessesKeepOneChain(t *testing.T) {
	dsn := pgenv.Shared(t).NewDatabase(t)
	open := func() Store {
		s, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	mustAppend(t, open(), numbered(1)...) // the schema exists before the writers race
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		committed []string
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := runWriter(t, dsn, w == 3)
			mu.Lock()
			committed = append(committed, ids...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	s := open()
	var all []Record
	f := Filter{Limit: 5000}
	for {
		page, err := s.Query(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		f.AfterSeq = page[len(page)-1].Seq
	}
	stored := checkBatchesWhole(t, all[1:])
	for _, id := range committed {
		if !stored[id] {
			t.Errorf("batch %s was reported committed but is not stored", id)
		}
	}
	mustVerifyOK(t, s, int64(len(all)))
	t.Logf("%d batches reported committed, %d stored, %d records", len(committed), len(stored), len(all))
}

// runWriter runs one writer process to its end, or SIGKILLs it after its
// tenth batch, and returns the batches it reported committed.
func runWriter(t *testing.T, dsn string, kill bool) []string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresWriterProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), pgWriterEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Error(err)
		return nil
	}
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return nil
	}
	var ids []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "committed ")
		if !ok {
			continue
		}
		ids = append(ids, id)
		if kill && len(ids) == 10 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	err = cmd.Wait()
	if kill {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Errorf("writer ended with %v before it was killed", err)
		}
	} else if err != nil {
		t.Errorf("writer: %v", err)
	}
	return ids
}
