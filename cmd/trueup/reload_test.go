package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// trueup serve reloads its config when the file changes (a ConfigMap
// volume swaps a symlink) and on SIGHUP: an invalid file is refused with
// its field path and the daemon keeps running the old one; a valid one is
// applied only after the reconcile in flight (a fetch held by a gate) has
// finished, never by cancelling it.
func TestServeReloadsConfig(t *testing.T) {
	env := kubeenv.Shared(t)
	cfg, raw, g := gatedDemo(t, env)

	// The config is read through a symlink swapped atomically, as the
	// kubelet updates a ConfigMap volume (..data -> a new folder).
	dir := filepath.Dir(cfg)
	swap := func(content string) {
		t.Helper()
		gen, err := os.MkdirTemp(dir, "..gen")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(gen, "trueup.yaml"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		_ = os.Remove(tmp)
		if err := os.Symlink(filepath.Base(gen), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	swap(raw)
	link := filepath.Join(dir, "mounted.yaml")
	if err := os.Symlink(filepath.Join("..data", "trueup.yaml"), link); err != nil {
		t.Fatal(err)
	}

	d := startDaemon(t, link, "--config-poll", "100ms", "--no-watch")
	addr := d.addr(t)
	// web's objects may be there from an earlier test: any reconcile will do.
	waitUntil(t, "web reconciled", func() bool { return len(d.records(t, "--target", "web", "--type", history.TypeReconcile)) > 0 })
	count := func(s string) int { return strings.Count(d.logs.String(), s) }

	// An invalid config: refused, with the field path, and nothing reloads.
	swap(raw + "  - name: broken\n    source: demo\n    path: apps/web\n    cluster: nowhere\n")
	waitUntil(t, "the invalid config refused", func() bool { return count("config reload refused") == 1 })
	if logs := d.logs.String(); !strings.Contains(logs, "targets[3].cluster") || strings.Contains(logs, "config changed") {
		t.Fatalf("an invalid config must be refused naming targets[3].cluster, and not reloaded:\n%s", logs)
	}
	if got := metric(t, addr, "trueup_config_reloads_total{result=\"failure\"}"); got != "1" {
		t.Errorf("trueup_config_reloads_total{result=failure} = %q, want 1", got)
	}

	// A valid config adding a target from another repository. The gated
	// target's first fetch is still in flight: the reload waits for it.
	extra := gitrepo.Init(t, filepath.Join(dir, "extra.git"))
	extra.Commit(t, map[string]gitrepo.Entry{"app/cm.yaml": {Content: []byte(
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: reload-extra\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: reload-extra\ndata:\n  added: by-reload\n")}},
		gitrepo.CommitOptions{Message: "extra app"})
	next := strings.Replace(raw, "clusters:\n", "  - name: extra\n    url: "+extra.URL()+"\nclusters:\n", 1)
	next += "  - name: extra\n    source: extra\n    path: app\n    cluster: local\n    wait: false\n"
	// The gated target's first reconcile starts after a random jitter of
	// up to a second: the reload must find its fetch in flight.
	waitUntil(t, "the gated target's fetch held at the gate", func() bool { return g.held.Load() > 0 })
	swap(next)
	waitUntil(t, "the change noticed", func() bool { return count("config changed") == 1 })
	time.Sleep(500 * time.Millisecond) // the reload would have happened by now if it did not wait
	if count("config reloaded") != 0 || d.applied(t, "extra", "", "") {
		t.Fatalf("the config was reloaded while the gated target's reconcile was in flight:\n%s", d.logs.String())
	}
	g.open()
	waitUntil(t, "the config reloaded", func() bool { return count("config reloaded") == 1 })
	waitUntil(t, "extra applied", func() bool { return d.applied(t, "extra", "", "") })
	if out := kubectl(t, env, "-n", "reload-extra", "get", "configmap", "settings", "-o", "jsonpath={.data.added}"); out != "by-reload" {
		t.Errorf("the reloaded target's ConfigMap says %q, want by-reload", out)
	}
	// The reconcile in flight ended on its own (the gate's answer), not
	// cancelled by the reload, and is in the history.
	// The one in flight during the reload, and the next generation's first.
	var gated []history.Record
	waitUntil(t, "two reconcile records of the gated target", func() bool {
		gated = d.records(t, "--target", "gated", "--type", history.TypeReconcile)
		return len(gated) >= 2
	})
	for _, r := range gated {
		if data := string(r.Data); strings.Contains(data, "context canceled") || !strings.Contains(data, "503") {
			t.Errorf("a gated reconcile was cut by the reload (record %d): %s, want the gate's 503", r.Seq, data)
		}
	}

	// SIGHUP reloads even an unchanged file.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the SIGHUP reload", func() bool { return count("config reloaded") == 2 })
	if got := metric(t, addr, "trueup_config_reloads_total{result=\"success\"}"); got != "2" {
		t.Errorf("trueup_config_reloads_total{result=success} = %q, want 2", got)
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz after a reload: %d, want 200 (a reload does not make the daemon unready)", resp.StatusCode)
	}
}

// metric reads one sample's value from the daemon's /metrics.
func metric(t *testing.T, addr, series string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
