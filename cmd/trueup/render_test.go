package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/golden"
)

// demoConfig turns fixtures/demo/repo into a bare Git repository and writes
// a config for it, like make demo does. It returns the config path.
func demoConfig(t *testing.T, kubeconfig string) string {
	t.Helper()
	path, _ := demoSetup(t, kubeconfig)
	return path
}

// demoSetup is demoConfig that also returns the repository, for tests that
// commit to it.
func demoSetup(t *testing.T, kubeconfig string) (string, *gitrepo.Repo) {
	t.Helper()
	dir := t.TempDir()
	repo, _ := gitrepo.FromDir(t, "../../fixtures/demo/repo", filepath.Join(dir, "repo.git"), gitrepo.CommitOptions{Message: "Add web and api apps"})
	tmpl, err := os.ReadFile("../../fixtures/demo/trueup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("__REPO__", repo.URL(), "__DATA__", filepath.Join(dir, "data"), "__KUBECONFIG__", kubeconfig).Replace(string(tmpl))
	path := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, repo
}

func TestRenderDemo(t *testing.T) {
	cfg := demoConfig(t, "/nonexistent/kubeconfig")
	tests := []struct {
		target string
		golden string
	}{
		{"web", "../../fixtures/demo/golden/render-web.yaml"},
		{"api-dev", "../../fixtures/demo/golden/render-api-dev.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			stdout, stderr, code := trueup(t, "render", tt.target, "-c", cfg)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, "target "+tt.target+": demo@") {
				t.Errorf("revision line missing from stderr: %q", stderr)
			}
			golden.Check(t, tt.golden, stdout)
		})
	}
}

func TestRenderUnknownTarget(t *testing.T) {
	cfg := demoConfig(t, "/nonexistent/kubeconfig")
	_, stderr, code := trueup(t, "render", "nope", "-c", cfg)
	if code != exitError || !strings.Contains(stderr, `unknown target "nope"`) || !strings.Contains(stderr, "api-dev") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestRenderUnreachableSource(t *testing.T) {
	cfg := demoConfig(t, "/nonexistent/kubeconfig")
	b, _ := os.ReadFile(cfg)
	broken := strings.Replace(string(b), "url: file://", "url: file:///nonexistent", 1)
	if err := os.WriteFile(cfg, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := trueup(t, "render", "web", "-c", cfg)
	if code != exitError || stdout != "" || !strings.Contains(stderr, `target "web"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
