package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// gate is a Git host that holds every request until released, then fails
// it: a target fetching from it has not finished its first reconcile until
// the test says so.
type gate struct {
	*httptest.Server
	once    sync.Once
	release chan struct{}
	// held counts the requests that reached the gate.
	held atomic.Int32
}

func newGate(t *testing.T) *gate {
	t.Helper()
	g := &gate{release: make(chan struct{})}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.held.Add(1)
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
		http.Error(w, "gate closed", http.StatusServiceUnavailable)
	}))
	t.Cleanup(func() { g.open(); g.Close() })
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// gatedDemo is the demo config (its path and the text it should hold) with
// a third target, gated, whose source is behind a new gate.
func gatedDemo(t *testing.T, env *kubeenv.Env) (path, raw string, g *gate) {
	t.Helper()
	cfg, _ := demoSetup(t, env.Kubeconfig)
	g = newGate(t)
	raw = readFile(t, cfg)
	raw = strings.Replace(raw, "clusters:\n", "  - name: gated\n    url: "+g.URL+"/org/gated.git\nclusters:\n", 1)
	raw += "  - name: gated\n    source: gated\n    path: app\n    cluster: local\n    namespace: gated\n"
	return cfg, raw, g
}

// The daemon answered /readyz 200 from its start, while a target's first
// reconcile still hung on its source. It is not ready, and says which
// target it waits for, until every target has finished a first reconcile
// or reported why not.
func TestReadyzWaitsForEveryTargetsFirstReconcile(t *testing.T) {
	env := kubeenv.Shared(t)
	cfg, raw, g := gatedDemo(t, env)
	if err := os.WriteFile(cfg, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}

	d := startDaemon(t, cfg, "--no-watch")
	logs, addr := d.logs, d.addr(t)
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "gated") {
		t.Fatalf("/readyz while the gated target's first fetch hangs: %d %q, want 503 naming gated", code, body)
	}
	g.open()
	waitUntil(t, "/readyz 200", func() bool { code, body = readyz(); return code == http.StatusOK })
	if !strings.Contains(logs.String(), "target=gated") {
		t.Errorf("the gated target's failure is not logged:\n%s", logs.String())
	}
}
