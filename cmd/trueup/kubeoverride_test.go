package main

import (
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// diff and apply reach the cluster through --kubeconfig and --kube-context
// instead of the config's kubeconfig.
func TestKubeconfigOverride(t *testing.T) {
	env := kubeenv.Shared(t)
	cfg := demoConfig(t, "/nonexistent/kubeconfig")
	if _, stderr, code := trueup(t, "diff", "web", "-c", cfg); code != exitError || !strings.Contains(stderr, "/nonexistent/kubeconfig") {
		t.Fatalf("diff with the config's kubeconfig: exit %d %q, want 2 naming it", code, stderr)
	}
	if out, stderr, code := trueup(t, "diff", "web", "-c", cfg, "--kubeconfig", env.Kubeconfig); code == exitError {
		t.Fatalf("diff --kubeconfig: exit %d\n%s%s", code, out, stderr)
	}
	_, stderr, code := trueup(t, "apply", "web", "--dry-run", "-c", cfg, "--kubeconfig", env.Kubeconfig, "--kube-context", "no-such-context")
	if code != exitError || !strings.Contains(stderr, "no-such-context") {
		t.Errorf("apply --kube-context no-such-context: exit %d %q, want 2 naming the context", code, stderr)
	}
	if out, stderr, code := trueup(t, "apply", "web", "--dry-run", "-c", cfg, "--kubeconfig", env.Kubeconfig, "-o", "yaml"); code == exitError || !strings.Contains(out, "target: web") {
		t.Errorf("apply --dry-run --kubeconfig -o yaml: exit %d\n%s%s", code, out, stderr)
	}
}
