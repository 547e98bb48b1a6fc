package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/trueup-dev/trueup/reconciler/history"
)

// serving is a `trueup serve` running in the test's process until the test
// ends (or stop). When the test fails, the tail of its log and the last
// error of the history reader are printed: a CI timeout must say what the
// daemon was doing.
type serving struct {
	cfg    string
	logs   *lockedBuffer
	cancel context.CancelFunc
	done   chan int

	mu      sync.Mutex
	stopped bool
	lastErr string // the last failed `trueup history` call
}

// startDaemon runs `trueup serve -c cfg --listen 127.0.0.1:0 flags...`.
func startDaemon(t *testing.T, cfg string, flags ...string) *serving {
	t.Helper()
	return startDaemonOn(t, cfg, "127.0.0.1:0", flags...)
}

func startDaemonOn(t *testing.T, cfg, listen string, flags ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &serving{cfg: cfg, logs: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	args := append([]string{"serve", "-c", cfg, "--listen", listen}, flags...)
	go func() {
		d.done <- run(ctx, args, streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: d.logs})
	}()
	t.Cleanup(d.stop)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		lines := strings.Split(d.logs.String(), "\n")
		if len(lines) > 200 {
			lines = lines[len(lines)-200:]
		}
		d.mu.Lock()
		last := d.lastErr
		d.mu.Unlock()
		if last != "" {
			t.Logf("last failed `trueup history`: %s", last)
		}
		t.Logf("daemon log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
	})
	return d
}

// stop cancels the daemon and waits for it to return; it may be called
// more than once.
func (d *serving) stop() {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.stopped = true
	d.mu.Unlock()
	d.cancel()
	<-d.done
}

// addr waits for the daemon to log the address it listens on.
func (d *serving) addr(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`\blisten=(\S+)`)
	waitUntil(t, "the daemon to listen", func() bool { return re.MatchString(d.logs.String()) })
	return re.FindStringSubmatch(d.logs.String())[1]
}

// records are the history's records (`trueup history -o json` with args);
// nil while the history cannot be read.
func (d *serving) records(t *testing.T, args ...string) []history.Record {
	t.Helper()
	out, stderr, code := trueup(t, append([]string{"history", "-o", "json", "--limit", "100000", "-c", d.cfg}, args...)...)
	var recs []history.Record
	if code != 0 {
		d.setErr("exit " + strings.TrimSpace(stderr))
		return nil
	}
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		d.setErr("json: " + err.Error())
		return nil
	}
	return recs
}

func (d *serving) setErr(s string) {
	d.mu.Lock()
	d.lastErr = s
	d.mu.Unlock()
}

// applied says whether a reconcile of target applied a revision starting
// with rev, started by trigger ("" for any).
func (d *serving) applied(t *testing.T, target, rev, trigger string) bool {
	t.Helper()
	for _, r := range d.records(t, "--target", target, "--type", history.TypeReconcile) {
		var data struct{ Trigger string }
		if r.Outcome == "applied" && strings.HasPrefix(r.Revision, rev) && json.Unmarshal(r.Data, &data) == nil && (trigger == "" || data.Trigger == trigger) {
			return true
		}
	}
	return false
}
