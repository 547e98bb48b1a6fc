package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/golden"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/sources/render"
)

// TestMain runs Helm template workers as main does (os.Executable() of a
// test binary is the test binary), so the tests render charts in the
// sandbox as the daemon does.
func TestMain(m *testing.M) {
	if render.IsHelmWorker() {
		os.Exit(render.RunHelmWorker(os.Stdin, os.Stdout))
	}
	if err := render.EnableHelmSandbox(render.HelmSandbox{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kubeenv.Main(m)
}

// kubectl runs kubectl against the shared control plane.
func kubectl(t *testing.T, env *kubeenv.Env, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "kubectl", append([]string{"--kubeconfig", env.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var (
	timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`)
	shas       = regexp.MustCompile(`@[0-9a-f]{12}`)
)

// TestDiffApplyDemo walks the demo targets through apply, drift and diff
// on the real control plane, checking the exit codes CI jobs rely on.
func TestDiffApplyDemo(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo targets use fixed namespaces
	cfg := demoConfig(t, env.Kubeconfig)

	t.Run("diff before apply: everything missing, exit 1", func(t *testing.T) {
		stdout, stderr, code := trueup(t, "diff", "web", "-c", cfg)
		if code != exitFailed {
			t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "Deployment.apps/web/web missing") {
			t.Fatalf("missing objects not listed:\n%s", stdout)
		}
	})

	t.Run("apply --dry-run writes nothing", func(t *testing.T) {
		stdout, stderr, code := trueup(t, "apply", "web", "--dry-run", "-c", cfg)
		if code != 0 || !strings.Contains(stdout, "dry-run") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if _, err := exec.Command("kubectl", "--kubeconfig", env.Kubeconfig, "get", "namespace", "web").CombinedOutput(); err == nil {
			t.Fatal("dry-run created namespace web")
		}
	})

	t.Run("apply creates the objects and prints a summary", func(t *testing.T) {
		stdout, stderr, code := trueup(t, "apply", "web", "-c", cfg)
		if code != 0 || !strings.Contains(stdout, "3 created") || !strings.Contains(stderr, "stage") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})

	t.Run("diff in sync, exit 0", func(t *testing.T) {
		stdout, _, code := trueup(t, "diff", "web", "-c", cfg)
		if code != exitOK {
			t.Fatalf("exit %d, want 0\n%s", code, stdout)
		}
	})

	t.Run("out-of-band scale shows the path, values and manager, exit 1", func(t *testing.T) {
		kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=4")
		stdout, _, code := trueup(t, "diff", "web", "-c", cfg)
		if code != exitFailed {
			t.Fatalf("exit %d, want 1\n%s", code, stdout)
		}
		golden.Check(t, "../../fixtures/demo/golden/diff-web-scaled.txt", shas.ReplaceAllString(timestamps.ReplaceAllString(stdout, "<time>"), "@<sha>"))

		stdout, _, _ = trueup(t, "diff", "web", "-o", "json", "-c", cfg)
		var res []diffResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("bad json: %v\n%s", err, stdout)
		}
		var found bool
		for _, o := range res[0].Report.Objects {
			for _, f := range o.Fields {
				if o.Status == drift.Drifted && f.Path == "/spec/replicas" && f.Actor != nil && f.Actor.Manager != "" {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("json lacks the drifted /spec/replicas with its actor:\n%s", stdout)
		}
	})

	t.Run("apply heals the drift", func(t *testing.T) {
		stdout, stderr, code := trueup(t, "apply", "web", "-c", cfg)
		if code != 0 || !strings.Contains(stdout, "healed") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if got := kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
			t.Fatalf("replicas %s after heal, want 2", got)
		}
	})

	t.Run("unreachable cluster is exit 2 with a clear error", func(t *testing.T) {
		bad := demoConfig(t, "/nonexistent/kubeconfig")
		_, stderr, code := trueup(t, "diff", "web", "-c", bad)
		if code != exitError || !strings.Contains(stderr, "clusters[0].kubeconfig") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
}
