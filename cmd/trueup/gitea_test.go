package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/giteaenv"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
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

	ctx, cancel := context.WithCancel(context.Background())
	var logs lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-c", cfg, "--listen", "127.0.0.1:0"}, streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &logs})
	}()
	t.Cleanup(func() { cancel(); <-done })
	applied := func(rev, trigger string) bool {
		out, _, code := trueup(t, "history", "--target", "web", "--type", "reconcile", "-o", "json", "--limit", "1000", "-c", cfg)
		var recs []history.Record
		if code != 0 || json.Unmarshal([]byte(out), &recs) != nil {
			return false
		}
		for _, r := range recs {
			var d struct{ Trigger string }
			if r.Outcome == "applied" && strings.HasPrefix(r.Revision, rev) && json.Unmarshal(r.Data, &d) == nil && (trigger == "" || d.Trigger == trigger) {
				return true
			}
		}
		return false
	}
	waitUntil(t, "the first apply from Gitea", func() bool { return applied("", "") })
	addr := regexp.MustCompile(`listen=(\S+)`).FindStringSubmatch(logs.String())[1]
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
	if strings.Contains(logs.String(), gitea.Token) {
		t.Error("the daemon's log carries the Gitea token")
	}
}
