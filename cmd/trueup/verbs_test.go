package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// waitReady waits for the daemon's /readyz to answer 200.
func waitReady(t *testing.T, addr string) {
	t.Helper()
	waitUntil(t, "the daemon to be ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// listed parses `trueup get ... -o json|yaml` into its items.
func listed(t *testing.T, format, out string) []map[string]any {
	t.Helper()
	raw := []byte(out)
	if format == "yaml" {
		var err error
		if raw, err = yaml.YAMLToJSON(raw); err != nil {
			t.Fatalf("yaml: %v\n%s", err, out)
		}
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("%s: %v\n%s", format, err, out)
	}
	return items
}

func item(items []map[string]any, key, value string) map[string]any {
	for _, it := range items {
		if it[key] == value {
			return it
		}
	}
	return nil
}

// The CLI verbs against a real `trueup serve` on the real control plane:
// get (table, json, yaml), reconcile --wait, suspend (kept across a
// restart), resume, accept; a context file instead of flags; errors that
// say what to do next.
func TestDaemonVerbs(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	cfg := actionsConfig(t, env, ns)
	d := startDaemon(t, cfg)
	addr := d.addr(t)
	waitReady(t, addr)
	server := "http://" + addr
	opA, opB := serviceAccountToken(t, env, ns, "operator-a"), serviceAccountToken(t, env, ns, "operator-b")
	viewerA := serviceAccountToken(t, env, ns, "viewer-a")
	as := func(token string, args ...string) (string, string, int) {
		return trueup(t, append(args, "--server", server, "--token", token)...)
	}

	t.Run("get targets: table, json, yaml; only the tenant's", func(t *testing.T) {
		for _, format := range []string{"json", "yaml"} {
			out, stderr, code := as(opA, "get", "targets", "-o", format)
			if code != 0 {
				t.Fatalf("get targets -o %s: exit %d %s", format, code, stderr)
			}
			items := listed(t, format, out)
			if len(items) != 1 || items[0]["target"] != "web" || items[0]["action"] == nil {
				t.Errorf("get targets -o %s as operator of team-a: %v, want web only, with its last action", format, items)
			}
		}
		out, stderr, code := as(opA, "get", "targets")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "TARGET") || !strings.HasPrefix(lines[1], "web ") {
			t.Errorf("get targets (table): exit %d\n%s%s", code, out, stderr)
		}
	})

	t.Run("reconcile --wait prints the outcome, the history has the operator", func(t *testing.T) {
		out, stderr, code := as(opA, "reconcile", "web", "--wait")
		if code != 0 || !strings.HasPrefix(out, "target web: in-sync at ") {
			t.Fatalf("reconcile web --wait: exit %d\n%s%s", code, out, stderr)
		}
		found := false
		for _, r := range d.records(t, "--target", "web", "--type", history.TypeReconcile) {
			found = found || r.Actor == "system:serviceaccount:"+ns+":operator-a"
		}
		if !found {
			t.Error("no reconcile record with the operator as actor")
		}
	})

	t.Run("errors say what to do next", func(t *testing.T) {
		_, stderr, code := trueup(t, "reconcile", "web", "--server", server)
		if code != exitError || !strings.Contains(stderr, "401 unauthorized") || !strings.Contains(stderr, "kubectl create token") {
			t.Errorf("no token: exit %d %q, want 2 saying how to get a token", code, stderr)
		}
		_, stderr, code = as(viewerA, "suspend", "web")
		if code != exitError || !strings.Contains(stderr, "403 forbidden") || !strings.Contains(stderr, "role operator and tenants [team-a]") {
			t.Errorf("viewer suspends: exit %d %q, want 2 naming the role", code, stderr)
		}
		_, stderr, code = as(opA, "suspend", "api-dev")
		if code != exitError || !strings.Contains(stderr, `tenant "team-b"`) {
			t.Errorf("another tenant's target: exit %d %q, want 403", code, stderr)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := l.Addr().String()
		l.Close()
		_, stderr, code = trueup(t, "get", "targets", "--server", "http://"+closed)
		if code != exitError || !strings.Contains(stderr, "connection refused: is `trueup serve` running there?") {
			t.Errorf("nothing listening: exit %d %q", code, stderr)
		}
	})

	t.Run("accept an episode", func(t *testing.T) {
		kubectl(t, env, "-n", "api-dev", "scale", "deployment", "dev-api", "--replicas=6")
		if out, stderr, code := as(opB, "reconcile", "api-dev", "--wait"); code != 0 {
			t.Fatalf("reconcile api-dev: exit %d\n%s%s", code, out, stderr)
		}
		var id string
		waitUntil(t, "an open episode of api-dev", func() bool {
			out, _, _ := as(opB, "get", "episodes", "--target", "api-dev", "--open", "-o", "json")
			if items := listed(t, "json", out); len(items) == 1 {
				id, _ = items[0]["id"].(string)
			}
			return id != ""
		})
		out, stderr, code := as(opB, "get", "episodes", "--target", "api-dev")
		if code != 0 || !strings.Contains(out, id) || !strings.HasPrefix(out, "EPISODE") {
			t.Errorf("get episodes (table): exit %d\n%s%s", code, out, stderr)
		}
		if _, stderr, code := as(opB, "accept", id); code != exitError || !strings.Contains(stderr, "--for") {
			t.Errorf("accept without --for: exit %d %q", code, stderr)
		}
		out, stderr, code = as(opB, "accept", id, "--for", "2h", "--reason", "capacity test")
		if code != 0 || !strings.HasPrefix(out, "episode "+id+": accepted until ") {
			t.Fatalf("accept: exit %d\n%s%s", code, out, stderr)
		}
		// The notifiers hear of it: the log notifier of the demo logs the
		// episode resolved as accepted, by whom and why.
		waitUntil(t, "the notification of the acceptance", func() bool {
			logs := d.logs.String()
			return strings.Contains(logs, "kind=drift.resolved") && strings.Contains(logs, "resolution=accepted") &&
				strings.Contains(logs, `message="accepted by system:serviceaccount:`+ns+`:operator-b until `) && strings.Contains(logs, `: capacity test"`)
		})
		out, _, _ = as(opB, "get", "episodes", "--target", "api-dev", "-o", "yaml")
		if it := item(listed(t, "yaml", out), "id", id); it == nil || it["status"] != "accepted" {
			t.Errorf("the episode after accept: %v, want status accepted", it)
		}

		// A cluster-scoped object's episode id holds "//".
		kubectl(t, env, "label", "namespace", "api-dev", "env=edited", "--overwrite")
		var nsID string
		waitUntil(t, "an open episode of the Namespace", func() bool {
			out, _, _ := as(opB, "get", "episodes", "--target", "api-dev", "--open", "-o", "json")
			if it := item(listed(t, "json", out), "object", "Namespace//api-dev"); it != nil {
				nsID, _ = it["id"].(string)
			}
			return nsID != ""
		})
		if out, stderr, code := as(opB, "accept", nsID, "--for", "1h"); code != 0 || !strings.Contains(out, nsID+": accepted") {
			t.Errorf("accept %s: exit %d\n%s%s", nsID, code, out, stderr)
		}
	})

	t.Run("get --watch prints the rows that change", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		out := &lockedBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"get", "targets", "--watch", "--server", server, "--token", opA}, streams{in: strings.NewReader(""), out: out, err: out})
		}()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("get --watch printed:\n%s", out.String())
			}
		})
		waitUntil(t, "the first listing", func() bool { return strings.Contains(out.String(), "\nweb ") })
		if _, stderr, code := as(opA, "suspend", "web", "--reason", "watch me"); code != 0 {
			t.Fatalf("suspend: %s", stderr)
		}
		waitUntil(t, "the suspended row", func() bool { return strings.Contains(out.String(), "suspended") })
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("get --watch: exit %d\n%s", code, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "TARGET") || !strings.Contains(lines[2], "by system:serviceaccount:"+ns+":operator-a watch me") {
			t.Errorf("get --watch printed:\n%s\nwant the title, web, then web suspended", out.String())
		}
		if _, stderr, code := as(opA, "resume", "web"); code != 0 {
			t.Fatalf("resume: %s", stderr)
		}
	})

	t.Run("suspend is kept across a restart; resume", func(t *testing.T) {
		out, stderr, code := as(opA, "suspend", "web", "--reason", "migration")
		if code != 0 || !strings.HasPrefix(out, "target web: suspended by system:serviceaccount:"+ns+":operator-a") {
			t.Fatalf("suspend: exit %d\n%s%s", code, out, stderr)
		}
		d.stop()
		d = startDaemon(t, cfg)
		addr = d.addr(t)
		waitReady(t, addr)
		server = "http://" + addr

		// A context file instead of --server and --token.
		dir := t.TempDir()
		tokenFile := filepath.Join(dir, "a.token")
		if err := os.WriteFile(tokenFile, []byte(opA+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		contexts := "current-context: a\ncontexts:\n  - {name: a, server: " + server + ", tokenFile: " + tokenFile + "}\n  - {name: b, server: " + server + ", token: " + opB + "}\n"
		if err := os.WriteFile(filepath.Join(dir, "contexts.yaml"), []byte(contexts), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("TRUEUP_CONTEXTS", filepath.Join(dir, "contexts.yaml"))
		out, stderr, code = trueup(t, "get", "targets", "-o", "json")
		web := item(listed(t, "json", out), "target", "web")
		if code != 0 || web == nil || web["suspended"] == nil {
			t.Fatalf("after the restart, web: %v (exit %d %s), want suspended", web, code, stderr)
		}
		if s := web["suspended"].(map[string]any); s["reason"] != "migration" {
			t.Errorf("suspension after the restart: %v", s)
		}
		if _, stderr, code := trueup(t, "reconcile", "web"); code != exitError || !strings.Contains(stderr, "resume it first") {
			t.Errorf("reconcile of a suspended web: exit %d %q", code, stderr)
		}
		out, _, _ = trueup(t, "get", "targets", "--context", "b", "-o", "json")
		if items := listed(t, "json", out); len(items) != 1 || items[0]["target"] != "api-dev" {
			t.Errorf("get targets --context b: %v, want api-dev only", items)
		}
		if out, stderr, code := trueup(t, "resume", "web"); code != 0 || out != "target web: resumed\n" {
			t.Fatalf("resume: exit %d\n%s%s", code, out, stderr)
		}
		if out, stderr, code := trueup(t, "reconcile", "web", "--wait"); code != 0 {
			t.Errorf("reconcile after resume: exit %d\n%s%s", code, out, stderr)
		}
	})

}

// -o yaml is the same document as -o json wherever -o json exists.
func TestYAMLOutputMatchesJSON(t *testing.T) {
	cfg := demoConfig(t, "/nonexistent/kubeconfig")
	for _, args := range [][]string{
		{"version"},
		{"validate", "-c", cfg},
		{"history", "-c", cfg},
	} {
		t.Run(strings.Join(args[:1], " "), func(t *testing.T) {
			js, stderr, code := trueup(t, append(args, "-o", "json")...)
			if code != 0 {
				t.Fatalf("-o json: exit %d %s", code, stderr)
			}
			ys, stderr, code := trueup(t, append(args, "-o", "yaml")...)
			if code != 0 {
				t.Fatalf("-o yaml: exit %d %s", code, stderr)
			}
			fromYAML, err := yaml.YAMLToJSON([]byte(ys))
			if err != nil {
				t.Fatalf("not YAML: %v\n%s", err, ys)
			}
			var a, b any
			if err := json.Unmarshal([]byte(js), &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(fromYAML, &b); err != nil {
				t.Fatal(err)
			}
			if ja, jb := mustMarshal(t, a), mustMarshal(t, b); ja != jb || strings.HasPrefix(strings.TrimSpace(ys), "{") {
				t.Errorf("-o yaml differs from -o json (or is JSON):\n%s\n%s", ys, js)
			}
		})
	}
	if _, stderr, code := trueup(t, "diff", "-o", "xml", "-c", cfg); code != exitError || !strings.Contains(stderr, "[text json yaml]") {
		t.Errorf("diff -o xml: exit %d %q, want the formats listed", code, stderr)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// trueup override-freeze lets the revision a freeze window holds through
// once, recorded with the operator and the reason.
func TestOverrideFreezeVerb(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	cfg, repo := actionsConfigRepo(t, env, ns)
	// A revision the shared control plane has not seen, for the window to hold.
	files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
	files["apps/web/cm.yaml"] = gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: web}\ndata: {test: " + ns + "}\n")
	repo.Commit(t, files, gitrepo.CommitOptions{Message: "a change to hold"})
	now := time.Now().UTC()
	raw := readFile(t, cfg) + "freeze:\n  - {name: test, start: \"" + now.Add(-time.Hour).Format(time.RFC3339) + "\", end: \"" +
		now.Add(time.Hour).Format(time.RFC3339) + "\", targets: [web]}\n"
	if err := os.WriteFile(cfg, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	server := "http://" + d.addr(t)
	opA := serviceAccountToken(t, env, ns, "operator-a")
	viewerA := serviceAccountToken(t, env, ns, "viewer-a")
	waitUntil(t, "web held by the freeze", func() bool {
		out, _, _ := trueup(t, "get", "targets", "-o", "json", "--server", server, "--token", opA)
		web := item(listed(t, "json", out), "target", "web")
		return web != nil && web["action"] == "frozen"
	})
	if _, stderr, code := trueup(t, "override-freeze", "web", "--reason", "hotfix", "--server", server, "--token", viewerA); code != exitError || !strings.Contains(stderr, "403 forbidden") {
		t.Errorf("viewer: exit %d %q, want 403", code, stderr)
	}
	if _, stderr, code := trueup(t, "override-freeze", "web", "--server", server, "--token", opA); code != exitError || !strings.Contains(stderr, "--reason") {
		t.Errorf("no reason: exit %d %q", code, stderr)
	}
	out, stderr, code := trueup(t, "override-freeze", "web", "--reason", "hotfix INC-7", "--server", server, "--token", opA)
	if code != 0 || out != "target web: the held revision is let through once\n" {
		t.Fatalf("override-freeze: exit %d\n%s%s", code, out, stderr)
	}
	waitUntil(t, "web applied", func() bool { return d.applied(t, "web", "", "") })
	recs := d.records(t, "--target", "web", "--type", history.TypeFreezeOverride)
	if len(recs) != 1 || recs[0].Actor != "system:serviceaccount:"+ns+":operator-a" || !strings.Contains(recs[0].Message, "hotfix INC-7") {
		t.Errorf("freeze-override records: %+v", recs)
	}
}
