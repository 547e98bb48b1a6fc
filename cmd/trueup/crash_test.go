package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// TestDaemonKilledLosesNoRecord runs `trueup serve` as a subprocess while
// out-of-band edits make it heal again and again, kills it with SIGKILL in
// the middle, and checks that every record committed before the kill is
// still there and that the chain verifies after a restart.
func TestDaemonKilledLosesNoRecord(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo targets use fixed namespaces
	cfg := demoConfig(t, env.Kubeconfig)
	bin := filepath.Join(t.TempDir(), "trueup")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build trueup: %v\n%s", err, out)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "-c", cfg, "--listen", "127.0.0.1:0", "--log-level", "warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	committed := func() []history.Record {
		out, err := exec.Command(bin, "history", "-o", "json", "--limit", "100000", "-c", cfg).Output()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		var recs []history.Record
		if err := json.Unmarshal(out, &recs); err != nil {
			t.Fatalf("history json: %v", err)
		}
		return recs
	}

	daemon := start()
	t.Cleanup(func() { _ = daemon.Process.Kill() })
	// Under load the first reconcile may fail (a slow Git or API server);
	// the daemon retries after its backoff, so wait for a real apply.
	waitUntil(t, "the first apply of web", func() bool {
		for _, r := range committed() {
			if r.Type == history.TypeReconcile && r.Outcome == "applied" && r.Target == "web" {
				return true
			}
		}
		return false
	})
	for i := range 8 { // each edit makes the watch heal: records keep coming
		kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas="+string(rune('3'+i%5)))
		time.Sleep(150 * time.Millisecond)
	}
	before := committed()
	if err := daemon.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = daemon.Wait()

	after := committed()
	if len(after) < len(before) {
		t.Fatalf("records lost: %d before the kill, %d after", len(before), len(after))
	}
	for i, r := range before {
		if after[i].Hash != r.Hash {
			t.Fatalf("record %d changed across the kill", r.Seq)
		}
	}
	restarted := start()
	defer func() { _ = restarted.Process.Kill(); _ = restarted.Wait() }()
	waitUntil(t, "a reconcile after the restart", func() bool { return len(committed()) > len(after) })
	out, err := exec.Command(bin, "history", "verify", "-c", cfg).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "chain intact") {
		t.Fatalf("verify after restart: %v\n%s", err, out)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
