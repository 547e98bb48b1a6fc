package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/giteaenv"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// liveValue is another team's live value that no preview may show.
const liveValue = "live-value-of-another-team"

// stealConfigMap declares another team's ConfigMap, so that a preview's
// dry run would read and print its live data.
const stealConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: team-config
  namespace: other-team
data:
  token: from-the-pull-request
`

// A preview dry-ran whatever a pull request declared with trueup's identity
// and posted the live values in a comment, also for a fork's pull request
// by anyone. Now a fork's pull request whose author may not push to the
// repository gets a comment saying why it was not previewed, with no live
// value, and a failed status; a pull request from the repository itself is
// previewed, but only for objects its targets manage.
func TestForkPullRequestPreviewLeaksNoLiveState(t *testing.T) {
	env := kubeenv.Start(t)
	gitea := giteaenv.Start(t)
	cfg, local := demoSetup(t, env.Kubeconfig)
	repo := gitea.CreateRepo(t, "demo")
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/main")
	text := strings.Replace(readFile(t, cfg), "url: "+local.URL(), "url: "+repo.CloneURL+`
    auth:
      username: `+gitea.AdminUser+`
      passwordFrom: {env: TRUEUP_TEST_GITEA_TOKEN}
    provider: {type: gitea, url: '`+gitea.URL+`', tokenFrom: {env: TRUEUP_TEST_GITEA_TOKEN}}`, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRUEUP_TEST_GITEA_TOKEN", gitea.Token)
	if out, stderr, code := trueup(t, "apply", "web", "-c", cfg); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}
	kubectl(t, env, "create", "namespace", "other-team")
	kubectl(t, env, "-n", "other-team", "create", "configmap", "team-config", "--from-literal=token="+liveValue)

	// Both pull requests scale web and declare the other team's ConfigMap.
	files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
	files["apps/web/deployment.yaml"] = gitrepo.File(strings.Replace(string(files["apps/web/deployment.yaml"].Content), "replicas: 2", "replicas: 7", 1))
	files["apps/web/steal.yaml"] = gitrepo.File(stealConfigMap)
	head := local.Commit(t, files, gitrepo.CommitOptions{Message: "scale web, read the other team's config"}).String()
	comment := func(number int) string {
		t.Helper()
		var bodies []string
		for _, c := range gitea.ListComments(t, repo, number) {
			if strings.Contains(c.Body, "<!-- trueup:preview -->") {
				bodies = append(bodies, c.Body)
			}
		}
		if len(bodies) != 1 {
			t.Fatalf("%d preview comments on #%d, want one: %q", len(bodies), number, bodies)
		}
		return bodies[0]
	}
	status := func(sha string) string {
		for _, s := range gitea.CommitStatuses(t, repo, sha) {
			if s.Context == "trueup/preview" {
				return s.State
			}
		}
		return ""
	}

	t.Run("a fork's pull request by a user who may not push is refused", func(t *testing.T) {
		mallory := gitea.CreateUser(t, "mallory")
		fork := gitea.Fork(t, repo, mallory)
		gitea.Push(t, fork, local.Git, "refs/heads/main:refs/heads/scale")
		number := gitea.CreatePullRequestAs(t, mallory, repo, "mallory:scale", "main", "Scale web", "")
		out, stderr, code := trueup(t, "preview", "demo", fmt.Sprint(number), "-o", "json", "-c", cfg)
		if code != exitFailed || strings.Contains(out+stderr, liveValue) || strings.Contains(out+stderr, "replicas") {
			t.Fatalf("preview: exit %d, want %d and no live value\n%s\n%s", code, exitFailed, out, stderr)
		}
		var pv struct{ Skipped string }
		if json.Unmarshal([]byte(out), &pv) != nil || !strings.Contains(pv.Skipped, "mallory may not push") {
			t.Errorf("preview says %q, want why it was refused", pv.Skipped)
		}
		body := comment(number)
		for _, want := range []string{"did not preview", "fork", "allowForks"} {
			if !strings.Contains(body, want) {
				t.Errorf("refusal comment lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, liveValue) || strings.Contains(body, "replicas") {
			t.Errorf("refusal comment shows live state:\n%s", body)
		}
		if got := status(head); got != "failure" {
			t.Errorf("preview status of the fork's head %q, want failure", got)
		}
	})

	t.Run("a pull request from the repository itself is previewed within the targets' scope", func(t *testing.T) {
		gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/scale")
		number := gitea.CreatePullRequest(t, repo, "scale", "main", "Scale web", "")
		out, stderr, code := trueup(t, "preview", "demo", fmt.Sprint(number), "-c", cfg)
		if code != 0 || !strings.Contains(out, "/spec/replicas: git: 7  live: 2") || strings.Contains(out+stderr, liveValue) {
			t.Fatalf("preview: exit %d\n%s\n%s", code, out, stderr)
		}
		body := comment(number)
		for _, want := range []string{"/spec/replicas: git: 7  live: 2", "ConfigMap/other-team/team-config", `manages no object in namespace "other-team"`} {
			if !strings.Contains(body, want) {
				t.Errorf("preview lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, liveValue) {
			t.Errorf("preview shows another team's live value:\n%s", body)
		}
	})
}
