package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// cliTarget is one target on the shared control plane (its own namespace),
// fed by a Git repository the test commits to, with its config file.
type cliTarget struct {
	env  *kubeenv.Env
	name string
	cfg  string
	repo *gitrepo.Repo
}

// newCLITarget writes a config whose one target deploys app/ of a fresh
// repository into its own namespace, with extra target lines.
func newCLITarget(t *testing.T, extra string) *cliTarget {
	t.Helper()
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	cfg := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources:
  - name: repo
    url: %s
    ref: {branch: main}
clusters:
  - name: test
    kubeconfig: {path: %s}
targets:
  - name: %s
    source: repo
    path: app
    cluster: test
    namespace: %[4]s
    %s
`, filepath.Join(dir, "data"), repo.URL(), env.Kubeconfig, ns, strings.ReplaceAll(strings.TrimSpace(extra), "\n", "\n    "))
	path := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliTarget{env: env, name: ns, cfg: path, repo: repo}
}

// commit replaces app/ with files.
func (c *cliTarget) commit(t *testing.T, files map[string]string) string {
	t.Helper()
	entries := map[string]gitrepo.Entry{}
	for p, content := range files {
		entries["app/"+p] = gitrepo.File(content)
	}
	return c.repo.Commit(t, entries, gitrepo.CommitOptions{Message: "change"}).String()
}

func (c *cliTarget) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return trueup(t, append(args, c.name, "-c", c.cfg)...)
}

func configMapYAML(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  v: \"1\"\n"
}

// `trueup apply` exits 1 when the prune was blocked, and says so once,
// with what to do next.
func TestApplyPruneBlockedExitsNonZero(t *testing.T) {
	c := newCLITarget(t, "wait: false\nprune: {enabled: true, max: 1}")
	c.commit(t, map[string]string{"a.yaml": configMapYAML("a"), "b.yaml": configMapYAML("b"), "c.yaml": configMapYAML("c")})
	if stdout, stderr, code := c.run(t, "apply"); code != exitOK {
		t.Fatalf("first apply: exit %d\n%s%s", code, stdout, stderr)
	}
	c.commit(t, map[string]string{"a.yaml": configMapYAML("a")})

	stdout, stderr, code := c.run(t, "apply")
	if code != exitFailed {
		t.Fatalf("apply with a blocked prune: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	const want = "prune blocked: would delete 2 objects, limit 1 (prune.max): raise prune.max and run trueup apply, or delete them by hand\n"
	all := stdout + stderr
	if !strings.Contains(stdout, want) || strings.Count(all, "would delete 2 objects") != 1 || strings.Count(all, "prune blocked") != 2 {
		// "prune blocked" twice: the summary line notes it, this line says why.
		t.Fatalf("want the reason once, as %q\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
	}
	if !strings.Contains(stdout, "1 unchanged, 2 skipped; prune blocked\n") {
		t.Fatalf("summary line does not note the blocked prune:\n%s", stdout)
	}

	if stdout, stderr, code := c.run(t, "apply", "-o", "json"); code != exitFailed || !strings.Contains(stdout, `"pruneBlocked": "would delete 2 objects`) {
		t.Fatalf("apply -o json with a blocked prune: exit %d, want 1\n%s%s", code, stdout, stderr)
	}

	// Doing what the message says works: raise prune.max, run trueup apply.
	raised, err := os.ReadFile(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.cfg, []byte(strings.Replace(string(raised), "max: 1}", "max: 5}", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, code := c.run(t, "apply"); code != exitOK || !strings.Contains(stdout, "2 deleted") {
		t.Fatalf("apply after raising prune.max: exit %d, want 0 and 2 deleted\n%s%s", code, stdout, stderr)
	}
	if got := kubectl(t, c.env, "-n", c.name, "get", "configmaps", "-l", "trueup.dev/target="+c.name, "-o", "name"); got != "configmap/a\n" {
		t.Fatalf("configmaps left %q, want only a", got)
	}
}

// After a rollout that did not become healthy, `trueup diff` says so and
// exits 1 instead of reporting the target in sync.
func TestDiffReportsFailedRollout(t *testing.T) {
	c := newCLITarget(t, "wait: true\ntimeout: 2s")
	head := c.commit(t, map[string]string{"deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example.com/web:1.0.0}]
`})
	if stdout, stderr, code := c.run(t, "apply"); code != exitError || !strings.Contains(stderr, "objects not healthy") {
		t.Fatalf("apply of a rollout that never becomes ready: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code := c.run(t, "diff")
	if code != exitFailed {
		t.Fatalf("diff after a failed rollout: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	want := "  rollout failed: revision " + head[:12] + " was applied but did not become healthy (last healthy: none); " +
		"the next reconcile re-checks its health and prunes once it is healthy\n"
	if strings.Count(stdout, want) != 1 {
		t.Fatalf("diff does not report the failed rollout as %q:\n%s", want, stdout)
	}
}

// `trueup apply` inside a freeze window applies nothing, names the window
// and exits 1.
func TestApplyInAFreezeWindowExitsNonZero(t *testing.T) {
	c := newCLITarget(t, "wait: false")
	f, err := os.OpenFile(c.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("freeze:\n  - {name: forever, start: \"2000-01-01T00:00:00Z\", end: \"2100-01-01T00:00:00Z\"}\n")
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	c.commit(t, map[string]string{"a.yaml": configMapYAML("a")})
	stdout, stderr, code := c.run(t, "apply")
	if code != exitFailed {
		t.Fatalf("apply in a freeze window: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, `frozen: freeze window "forever" holds revision `) || !strings.Contains(stdout, "until 2100-01-01T00:00:00Z: nothing was applied") {
		t.Fatalf("output does not name the window:\n%s", stdout)
	}
	if got := kubectl(t, c.env, "-n", c.name, "get", "configmaps", "-l", "trueup.dev/target="+c.name, "-o", "name"); got != "" {
		t.Fatalf("applied during the freeze: %q", got)
	}
}
