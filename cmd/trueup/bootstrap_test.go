package main

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/render"
)

// authGitServer serves an empty repository fleet.git over HTTP with basic
// auth (user trueup, password).
func authGitServer(t *testing.T, password string) (*gittestserver.GitServer, *gitrepo.Repo) {
	t.Helper()
	srv := gittestserver.NewGitServer(t.TempDir())
	srv.Auth("trueup", password)
	repo := gitrepo.Init(t, filepath.Join(srv.Root(), "fleet.git"))
	if err := srv.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.StopHTTP)
	return srv, repo
}

// repoFiles reads the tip of main of repo.
func repoFiles(t *testing.T, repo *gitrepo.Repo) sources.Files {
	t.Helper()
	src := git.Source{Name: "read", URL: repo.URL(), Ref: git.RefSpec{Branch: "main"}}
	c := git.New(filepath.Join(t.TempDir(), "cache"))
	rev, err := c.Fetch(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.ReadFiles(t.Context(), src, rev.Commit, git.DefaultReadOptions())
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// bootstrapped renders dir of the repository: the image of the Deployment
// and the config of the ConfigMap.
func bootstrapped(t *testing.T, files sources.Files, dir string) (image string, cfg *config.Config) {
	t.Helper()
	res, err := render.Render(files, dir, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		switch o.Object.GetKind() {
		case "Deployment":
			containers := o.Object.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
			image = containers[0].(map[string]any)["image"].(string)
		case "ConfigMap":
			data := o.Object.Object["data"].(map[string]any)["trueup.yaml"].(string)
			if cfg, err = config.Parse([]byte(data)); err != nil {
				t.Fatal(err)
			}
			if err := config.Validate(cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	return image, cfg
}

// TestBootstrap commits into an empty repository, runs again without a
// commit, and after someone edits the config, updates the image but keeps
// their config.
func TestBootstrap(t *testing.T) {
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "fleet.git"))
	args := []string{"bootstrap", "--url", repo.URL(), "--branch", "main", "--path", "clusters/dev", "--cluster-name", "dev"}
	const dir = "clusters/dev/trueup-system"

	stdout, stderr, code := trueup(t, append(args, "--image", "registry.example.com/trueup:v1")...)
	if code != exitOK || !strings.Contains(stdout, "committed") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	first := repo.Head(t, "main")
	image, cfg := bootstrapped(t, repoFiles(t, repo), dir)
	if image != "registry.example.com/trueup:v1" {
		t.Errorf("image %q, want registry.example.com/trueup:v1", image)
	}
	var self *config.Target
	for i := range cfg.Targets {
		if cfg.Targets[i].Name == "trueup-system" {
			self = &cfg.Targets[i]
		}
	}
	if self == nil || self.Path != dir || self.Cluster != "dev" || len(cfg.Sources) != 1 || cfg.Sources[0].URL != repo.URL() || cfg.Sources[0].Name != self.Source {
		t.Fatalf("no target managing trueup from %s of %s: sources %+v, targets %+v", dir, repo.URL(), cfg.Sources, cfg.Targets)
	}

	t.Run("a second run makes no commit", func(t *testing.T) {
		stdout, stderr, code := trueup(t, append(args, "--image", "registry.example.com/trueup:v1")...)
		if code != exitOK || !strings.Contains(stdout, "nothing to commit") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if head := repo.Head(t, "main"); head != first {
			t.Fatalf("main moved from %s to %s", first, head)
		}
	})

	t.Run("a new image keeps the edited config", func(t *testing.T) {
		entries := map[string]gitrepo.Entry{}
		for p, b := range repoFiles(t, repo) {
			entries[p] = gitrepo.File(string(b))
		}
		edited := string(entries[dir+"/trueup.yaml"].Content) + "# edited by the platform team\n"
		entries[dir+"/trueup.yaml"] = gitrepo.File(edited)
		entries["README.md"] = gitrepo.File("# fleet\n")
		theirs := repo.Commit(t, entries, gitrepo.CommitOptions{Message: "Edit the config"})

		stdout, stderr, code := trueup(t, append(args, "--image", "registry.example.com/trueup:v2")...)
		if code != exitOK || !strings.Contains(stdout, "committed") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		files := repoFiles(t, repo)
		if string(files[dir+"/trueup.yaml"]) != edited || string(files["README.md"]) != "# fleet\n" {
			t.Errorf("the edited config or the README was not kept:\n%s", files[dir+"/trueup.yaml"])
		}
		if image, _ := bootstrapped(t, files, dir); image != "registry.example.com/trueup:v2" {
			t.Errorf("image %q, want registry.example.com/trueup:v2", image)
		}
		if head := repo.Head(t, "main"); head == theirs {
			t.Error("no commit on top of the edit")
		}
	})
}

// TestBootstrapRefusesBadFlags: nothing is pushed for flags that would
// write an invalid config or could not authenticate.
func TestBootstrapRefusesBadFlags(t *testing.T) {
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "fleet.git"))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad image", []string{"--image", "bad image"}, "--image"},
		{"cluster name", []string{"--cluster-name", ""}, "invalid"},
		{"password missing", []string{"--username", "u", "--password-env", "TRUEUP_TEST_UNSET_PASSWORD"}, "TRUEUP_TEST_UNSET_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := trueup(t, append([]string{"bootstrap", "--url", repo.URL(), "--path", "c"}, tc.args...)...)
			if code != exitError || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 2 naming %q\n%s", code, tc.want, stderr)
			}
			if ref, err := repo.Git.Storer.Reference(plumbing.NewBranchReferenceName("main")); err == nil {
				t.Fatalf("pushed %s", ref.Hash())
			}
		})
	}
}

// TestBootstrapHTTPBasicAuth pushes over HTTP with basic auth from the
// environment; the config names the password as a file of the Secret, and
// neither output nor errors show it.
func TestBootstrapHTTPBasicAuth(t *testing.T) {
	const password = "s3cret-token-for-bootstrap"
	srv, repo := authGitServer(t, password)
	args := []string{"bootstrap", "--url", srv.HTTPAddress() + "/fleet.git", "--path", "prod", "--username", "trueup", "--password-env", "TRUEUP_TEST_GIT_PASSWORD"}

	t.Setenv("TRUEUP_TEST_GIT_PASSWORD", "wrong-"+password)
	stdout, stderr, code := trueup(t, args...)
	if code != exitError || !strings.Contains(stderr, "authentication") || strings.Contains(stdout+stderr, password) {
		t.Fatalf("wrong password: exit %d, want 2 saying authentication failed, without the password\n%s%s", code, stdout, stderr)
	}

	t.Setenv("TRUEUP_TEST_GIT_PASSWORD", password)
	stdout, stderr, code = trueup(t, args...)
	if code != exitOK || strings.Contains(stdout+stderr, password) || !strings.Contains(stdout, "--from-literal=git-password=\"$TRUEUP_TEST_GIT_PASSWORD\"") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	_, cfg := bootstrapped(t, repoFiles(t, repo), "prod/trueup-system")
	auth := cfg.Sources[0].Auth
	if auth == nil || auth.Username != "trueup" || auth.PasswordFrom == nil || auth.PasswordFrom.File != "/var/run/secrets/trueup/git-password" {
		t.Fatalf("source auth %+v, want username trueup and passwordFrom the Secret's file", auth)
	}
}

// TestBootstrapInstall: with --kubeconfig, bootstrap also installs: the Git
// password lands in the Secret the config names, and trueup's objects are
// applied as the target trueup-system with its inventory, where the daemon
// in the cluster takes over. A second run changes nothing.
func TestBootstrapInstall(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the manifests' names are cluster-wide
	const password = "install-s3cret"
	srv, repo := authGitServer(t, password)
	t.Setenv("TRUEUP_TEST_GIT_PASSWORD", password)
	args := []string{"bootstrap", "--url", srv.HTTPAddress() + "/fleet.git", "--path", "prod", "--username", "trueup",
		"--password-env", "TRUEUP_TEST_GIT_PASSWORD", "--image", "registry.example.com/trueup:v3", "--kubeconfig", env.Kubeconfig}

	stdout, stderr, code := trueup(t, args...)
	if code != exitOK || !strings.Contains(stdout, "installed") || strings.Contains(stdout+stderr, password) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if img := kubectl(t, env, "-n", "trueup-system", "get", "deployment", "trueup", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "registry.example.com/trueup:v3" {
		t.Errorf("Deployment image %q", img)
	}
	if owner := kubectl(t, env, "get", "clusterrole", "trueup", "-o", "jsonpath={.metadata.labels.trueup\\.dev/target}"); owner != "trueup-system" {
		t.Errorf("ClusterRole trueup labelled for target %q, want trueup-system", owner)
	}
	kubectl(t, env, "-n", "trueup-system", "get", "configmap", "trueup-inventory-trueup-system", "trueup-config")
	got := kubectl(t, env, "-n", "trueup-system", "get", "secret", "trueup-secrets", "-o", "jsonpath={.data.git-password}")
	if dec, err := base64.StdEncoding.DecodeString(got); err != nil || string(dec) != password {
		t.Errorf("Secret trueup-secrets git-password is not the password from the environment")
	}

	head := repo.Head(t, "main")
	stdout, stderr, code = trueup(t, args...)
	if code != exitOK || !strings.Contains(stdout, "nothing to commit") || !strings.Contains(stdout, "in-sync") {
		t.Fatalf("second run: exit %d, want no commit and nothing changed\n%s%s", code, stdout, stderr)
	}
	if now := repo.Head(t, "main"); now != head {
		t.Fatalf("main moved from %s to %s", head, now)
	}
}

// A cluster that accepts the connection and never answers made
// `bootstrap --kubeconfig` hang while writing the Secret: its requests had
// no deadline. Each now gives up after bootstrapRequestTimeout, saying what
// to check, without the password.
func TestBootstrapInstallGivesUpOnAClusterThatHangs(t *testing.T) {
	const password = "hang-s3cret"
	srv, _ := authGitServer(t, password)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for the handlers
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters: [{name: hang, cluster: {server: " + hang.URL + "}}]\n" +
		"users: [{name: u, user: {token: t}}]\ncontexts: [{name: hang, context: {cluster: hang, user: u}}]\ncurrent-context: hang\n"
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { bootstrapRequestTimeout = d }(bootstrapRequestTimeout)
	bootstrapRequestTimeout = time.Second
	t.Setenv("TRUEUP_TEST_GIT_PASSWORD", password)
	type result struct {
		out  string
		code int
	}
	done := make(chan result, 1)
	go func() {
		stdout, stderr, code := trueup(t, "bootstrap", "--url", srv.HTTPAddress()+"/fleet.git", "--path", "prod", "--username", "trueup",
			"--password-env", "TRUEUP_TEST_GIT_PASSWORD", "--kubeconfig", kubeconfig)
		done <- result{stdout + stderr, code}
	}()
	select {
	case r := <-done:
		if r.code == exitOK || !strings.Contains(r.out, "trueup-system") || !strings.Contains(r.out, "--kubeconfig") || strings.Contains(r.out, password) {
			t.Fatalf("exit %d, want a failure naming what it wrote and what to check, without the password:\n%s", r.code, r.out)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("bootstrap --kubeconfig still waits for a cluster that never answers after 60s")
	}
}
