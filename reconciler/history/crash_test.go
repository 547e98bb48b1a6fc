package history

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashDBEnv names the database the helper process appends to.
const crashDBEnv = "TRUEUP_HISTORY_CRASH_DB"

// TestHelperProcess is not a test: TestSQLiteSurvivesSIGKILL re-executes the
// test binary to run it. It appends batches of 1 to 800 records until killed, printing "committed ID" after each
// Append returned.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		return
	}
	s, err := OpenSQLite(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	deadline := time.Now().Add(time.Minute) // killed long before
	for i := 0; time.Now().Before(deadline); i++ {
		appendBatch(s, "crash", i, 1+(i*397)%800)
	}
	os.Exit(3)
}

// appendBatch appends batch i of size records to s, as a helper process
// does, and prints "committed ID" once Append returned; the process exits
// 2 when it fails.
func appendBatch(s Store, target string, i, size int) {
	id := fmt.Sprintf("p%d-b%d", os.Getpid(), i)
	recs := make([]Record, size)
	for j := range recs {
		recs[j] = Record{Type: TypeApply, Target: target,
			Data: json.RawMessage(fmt.Sprintf(`{"batch":%q,"size":%d,"i":%d}`, id, size, j))}
	}
	if _, err := s.Append(context.Background(), recs...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stdout, "committed %s\n", id)
}

// TestSQLiteSurvivesSIGKILL kills a process that appends batches, several
// times at random points, and checks after each kill that every batch in the
// database is whole, every batch reported committed is there, and the chain
// verifies.
func TestSQLiteSurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	committed := map[string]bool{}
	for round := range 3 {
		ids := runAndKill(t, path, 4+round*4)
		for _, id := range ids {
			committed[id] = true
		}

		s, err := OpenSQLite(path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
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
		stored := checkBatchesWhole(t, all)
		for id := range committed {
			if !stored[id] {
				t.Errorf("round %d: batch %s was reported committed but is not stored", round, id)
			}
		}
		mustVerifyOK(t, s, int64(len(all)))
		t.Logf("round %d: %d batches reported, %d stored, %d records", round, len(ids), len(stored), len(all))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runAndKill starts the helper on path, SIGKILLs it a random moment after it
// reported minBatches commits, and returns the batch ids it reported.
func runAndKill(t *testing.T, path string, minBatches int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "committed ")
		if !ok {
			continue
		}
		ids = append(ids, id)
		if len(ids) == minBatches && !killed {
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond) // land mid-batch
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v before it was killed (%d batches)", err, len(ids))
	}
	return ids
}
