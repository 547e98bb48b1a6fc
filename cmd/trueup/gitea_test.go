package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/giteaenv"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// TestGiteaPushWebhookReconciles: the demo source lives in a real Gitea
// whose push webhook points at the daemon; pushing a commit makes the
// target apply it at once (its interval is 5 minutes), and a request
// signed with another secret is rejected.
func TestGiteaPushWebhookReconciles(t *testing.T) {
	env := kubeenv.Start(t)
	gitea := giteaenv.Start(t)
	cfg, local := demoSetup(t, env.Kubeconfig)
	repo := gitea.CreateRepo(t, "demo")
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/main")

	const secret = "gitea-hook-secret"
	text := strings.Replace(readFile(t, cfg), "url: "+local.URL(), "url: "+repo.CloneURL+`
    auth:
      username: `+gitea.AdminUser+`
      passwordFrom: {env: TRUEUP_TEST_GITEA_TOKEN}`, 1)
	text += "server:\n  webhookSecretFrom: {env: TRUEUP_TEST_WEBHOOK_SECRET}\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRUEUP_TEST_GITEA_TOKEN", gitea.Token)
	t.Setenv("TRUEUP_TEST_WEBHOOK_SECRET", secret)

	d := startDaemon(t, cfg)
	applied := func(rev, trigger string) bool { return d.applied(t, "web", rev, trigger) }
	waitUntil(t, "the first apply from Gitea", func() bool { return applied("", "") })
	addr := d.addr(t)
	gitea.CreateWebhook(t, repo, "http://"+addr+"/hooks/git", secret, []string{"push"})

	files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
	files["apps/web/deployment.yaml"] = gitrepo.File(strings.Replace(string(files["apps/web/deployment.yaml"].Content), "replicas: 2", "replicas: 3", 1))
	head := local.Commit(t, files, gitrepo.CommitOptions{Message: "scale web to 3"}).String()
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/main")
	waitUntil(t, "the pushed commit applied by the webhook", func() bool { return applied(head, "webhook") })
	if got := kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "3" {
		t.Errorf("replicas after the push = %s, want 3", got)
	}

	forged, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/git", strings.NewReader(`{"ref":"refs/heads/main"}`))
	forged.Header.Set("X-Gitea-Event", "push")
	forged.Header.Set("X-Gitea-Signature", hmacHex("not-the-secret", `{"ref":"refs/heads/main"}`))
	resp, err := http.DefaultClient.Do(forged)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged push: %d, want 401", resp.StatusCode)
	}
	if strings.Contains(d.logs.String(), gitea.Token) {
		t.Error("the daemon's log carries the Gitea token")
	}
}
