package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/fixtures/giteaenv"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// prRecord is the part of a pull-request record's data the tests read.
type prRecord struct {
	Outcome string
	Object  string
	Number  int    `json:"number"`
	URL     string `json:"url"`
	Branch  string `json:"branch"`
	Commit  string `json:"commit"`
}

// giteaDemo is the demo on a real Gitea and its own control plane, with
// both targets in drift mode pull-request, a Slack notifier on slacktest,
// and trueup serve running with Gitea's webhook pointed at it.
type giteaDemo struct {
	env    *kubeenv.Env
	gitea  *giteaenv.Env
	repo   giteaenv.Repo
	local  *gitrepo.Repo
	cfg    string
	slack  *slackRecorder
	addr   string
	logs   *lockedBuffer
	secret string
	daemon *serving
}

// startGiteaDemo starts it; provider, when not nil, is given Gitea's
// address and returns the provider's API URL (a fault proxy in front).
func startGiteaDemo(t *testing.T, provider func(giteaURL string) string) *giteaDemo {
	return startGiteaDemoWith(t, provider, demoExtra{})
}

// demoExtra adds files to the demo repository and targets (YAML list
// items, indented two spaces) to its config.
type demoExtra struct {
	files   map[string]gitrepo.Entry
	targets string
}

func startGiteaDemoWith(t *testing.T, provider func(giteaURL string) string, extra demoExtra) *giteaDemo {
	g := &giteaDemo{env: kubeenv.Start(t), gitea: giteaenv.Start(t), secret: "gitea-hook-secret"}
	env, gitea := g.env, g.gitea
	cfg, local := demoSetup(t, env.Kubeconfig)
	g.cfg, g.local = cfg, local
	if len(extra.files) > 0 {
		files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
		for p, e := range extra.files {
			files[p] = e
		}
		local.Commit(t, files, gitrepo.CommitOptions{Message: "add the extra files"})
	}
	repo := gitea.CreateRepo(t, "demo")
	g.repo = repo
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/main")
	providerURL := gitea.URL
	if provider != nil {
		providerURL = provider(gitea.URL)
	}
	text := readFile(t, cfg)
	for old, repl := range map[string]string{
		"url: " + local.URL(): "url: " + repo.CloneURL + `
    auth:
      username: ` + gitea.AdminUser + `
      passwordFrom: {env: TRUEUP_TEST_GITEA_TOKEN}`,
		"      branch: main\n": "      branch: main\n    interval: 10s\n    provider: {type: gitea, url: '" + providerURL + "', tokenFrom: {env: TRUEUP_TEST_GITEA_TOKEN}}\n",
		"    path: apps/web\n": "    path: apps/web\n    interval: 10s\n    remediation: {drift: pull-request}\n",
		"      drift: alert":   "      drift: pull-request",
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("demo config has no %q", old)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	text = strings.Replace(text, "\ntargets:\n", "\ntargets:\n"+extra.targets, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	g.slack = newSlackRecorder(t)
	withSlack(t, cfg, g.slack.GetAPIURL()) // also sets server.publicURL
	text = readFile(t, cfg) + "  webhookSecretFrom: {env: TRUEUP_TEST_WEBHOOK_SECRET}\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRUEUP_TEST_SLACK_TOKEN", testSlackToken)
	t.Setenv("TRUEUP_TEST_GITEA_TOKEN", gitea.Token)
	t.Setenv("TRUEUP_TEST_WEBHOOK_SECRET", g.secret)

	g.daemon = startDaemon(t, cfg)
	g.logs = g.daemon.logs
	waitUntil(t, "both targets applied", func() bool {
		n := 0
		for _, r := range g.records(t, history.TypeReconcile) {
			if r.Outcome == "applied" {
				n++
			}
		}
		return n >= 2
	})
	g.addr = g.daemon.addr(t)
	gitea.CreateWebhook(t, repo, "http://"+g.addr+"/hooks/git", g.secret, []string{"push", "pull_request", "pull_request_sync"})
	return g
}

// records are the history's records of a type.
func (g *giteaDemo) records(t *testing.T, typ string) []history.Record {
	return g.daemon.records(t, "--type", typ)
}

// pullRequests are a target's pull-request records, oldest first.
func (g *giteaDemo) pullRequests(t *testing.T, target string) []prRecord {
	var out []prRecord
	for _, r := range g.records(t, history.TypePullRequest) {
		if r.Target != target {
			continue
		}
		p := prRecord{Outcome: r.Outcome, Object: r.Object}
		if json.Unmarshal(r.Data, &p) == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitPR waits for a target's first pull-request record with outcome.
func (g *giteaDemo) waitPR(t *testing.T, target, outcome string) prRecord {
	t.Helper()
	var got prRecord
	waitUntil(t, target+" pull request "+outcome, func() bool {
		for _, p := range g.pullRequests(t, target) {
			if p.Outcome == outcome {
				got = p
				return true
			}
		}
		return false
	})
	return got
}

// TestDriftPullRequestsOnGitea runs the whole pull-request loop on a real
// Gitea and the real control plane, with both demo targets in drift mode
// pull-request:
//
//   - a live `kubectl scale` of web opens a pull request whose branch
//     changes exactly the replicas line of apps/web/deployment.yaml;
//   - a second live edit updates the same pull request;
//   - the api-dev overlay's replicas (set by the overlay patch) go into
//     apps/api/overlays/dev/replicas.yaml, never the base;
//   - merging web's pull request makes the next reconcile (woken by the
//     push webhook) find Git equal to live: the episode closes adopted and
//     the pull request is recorded merged; the new revision heals api-dev,
//     whose pull request is closed with a comment;
//   - opening a pull request yields one preview comment with the dry-run
//     diff and a success status, updated (not repeated) on a new push.
func TestDriftPullRequestsOnGitea(t *testing.T) {
	g := startGiteaDemo(t, nil)
	env, gitea, repo, local, cfg, slackSrv, addr := g.env, g.gitea, g.repo, g.local, g.cfg, g.slack, g.addr
	logs, secret := g.logs, g.secret
	records := func(typ string) []history.Record { return g.records(t, typ) }
	waitPR := func(target, outcome string) prRecord { t.Helper(); return g.waitPR(t, target, outcome) }

	// 1. A live edit opens a pull request that changes the right line.
	kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=5")
	opened := waitPR("web", "opened")
	const webBranch = "trueup/drift/web/Deployment.apps/web/web"
	if opened.Branch != webBranch || opened.Number == 0 || opened.Object != "Deployment.apps/web/web" {
		t.Fatalf("opened record = %+v", opened)
	}
	pr := gitea.PullRequest(t, repo, opened.Number)
	if pr.State != "open" || pr.HeadRef != webBranch || pr.BaseRef != "main" {
		t.Fatalf("pull request = %+v", pr)
	}
	for _, want := range []string{"`/spec/replicas`", "`2`", "`5`", "apps/web/deployment.yaml", "https://trueup.example.com/episodes/"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("pull request body lacks %q:\n%s", want, pr.Body)
		}
	}
	// The episode's page (the pull request links to it) and its Slack
	// thread carry the pull request.
	episodePage := "http://" + addr + "/episodes/" + regexp.MustCompile(`https://trueup\.example\.com/episodes/([^)\s]+)`).FindStringSubmatch(pr.Body)[1]
	if page := httpGet(t, episodePage); !strings.Contains(page, pr.HTMLURL) || !strings.Contains(page, "<b>open</b>") {
		t.Errorf("episode page lacks the pull request or the status:\n%s", page)
	}
	var parent slackCall
	waitUntil(t, "the Slack alert with the pull request", func() bool {
		for _, c := range slackSrv.snapshot() {
			if c.Method == "chat.postMessage" && c.ThreadTS == "" && strings.Contains(c.Blocks, pr.HTMLURL) {
				parent = c
				return true
			}
		}
		return false
	})
	original := gitea.File(t, repo, "main", "apps/web/deployment.yaml")
	onlyLineChanged(t, original, gitea.File(t, repo, webBranch, "apps/web/deployment.yaml"), "  replicas: 2", "  replicas: 5")

	// 2. A second live edit of the same object updates the same pull request.
	kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=6")
	updated := waitPR("web", "updated")
	if updated.Number != opened.Number {
		t.Errorf("second edit: pull request #%d, want the same #%d", updated.Number, opened.Number)
	}
	onlyLineChanged(t, original, gitea.File(t, repo, webBranch, "apps/web/deployment.yaml"), "  replicas: 2", "  replicas: 6")
	if body := gitea.PullRequest(t, repo, opened.Number).Body; !strings.Contains(body, "`6`") {
		t.Errorf("updated body lacks the new value:\n%s", body)
	}

	// 3. A kustomize overlay: the value the overlay patch sets is changed there.
	kubectl(t, env, "-n", "api-dev", "scale", "deployment", "dev-api", "--replicas=4")
	apiPR := waitPR("api-dev", "opened")
	const apiBranch = "trueup/drift/api-dev/Deployment.apps/api-dev/dev-api"
	if apiPR.Branch != apiBranch {
		t.Fatalf("api-dev record = %+v", apiPR)
	}
	onlyLineChanged(t, gitea.File(t, repo, "main", "apps/api/overlays/dev/replicas.yaml"),
		gitea.File(t, repo, apiBranch, "apps/api/overlays/dev/replicas.yaml"), "  replicas: 2", "  replicas: 4")
	if base, branch := gitea.File(t, repo, "main", "apps/api/base/deployment.yaml"), gitea.File(t, repo, apiBranch, "apps/api/base/deployment.yaml"); base != branch {
		t.Errorf("the base changed on the overlay's branch:\n%s", branch)
	}

	// 4. Merging adopts the drift: Git equals live, nothing is reverted.
	gitea.MergePullRequest(t, repo, opened.Number)
	merged := waitPR("web", "merged")
	if merged.Number != opened.Number {
		t.Errorf("merged record = %+v", merged)
	}
	waitUntil(t, "web's episode adopted", func() bool {
		for _, r := range records(history.TypeDriftResolved) {
			if r.Target == "web" && r.Object == "Deployment.apps/web/web" && r.Outcome == "adopted" {
				return true
			}
		}
		return false
	})
	if got := kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "6" {
		t.Errorf("replicas after the merge = %s, want the adopted 6", got)
	}
	waitUntil(t, "the adoption told in the Slack thread", func() bool {
		for _, c := range slackSrv.snapshot() {
			if c.ThreadTS == parent.Posted && strings.Contains(c.Blocks, "adopted") {
				return true
			}
		}
		return false
	})
	if page := httpGet(t, episodePage); !strings.Contains(page, "<b>adopted</b>") {
		t.Errorf("episode page after the merge:\n%s", page)
	}
	// The new revision re-applied api-dev: its drift ended healed, so its
	// pull request is closed unmerged, with a comment.
	closed := waitPR("api-dev", "closed")
	if closed.Number != apiPR.Number {
		t.Errorf("closed record = %+v", closed)
	}
	if p := gitea.PullRequest(t, repo, apiPR.Number); p.State != "closed" || p.Merged {
		t.Errorf("api-dev pull request = %+v, want closed unmerged", p)
	}
	if cs := gitea.ListComments(t, repo, apiPR.Number); len(cs) != 1 || !strings.Contains(cs[0].Body, "healed") {
		t.Errorf("api-dev comments = %+v", cs)
	}

	// 5. Preview: a pull request gets one comment with the dry-run diff.
	files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
	files["apps/web/deployment.yaml"] = gitrepo.File(strings.Replace(string(files["apps/web/deployment.yaml"].Content), "replicas: 2", "replicas: 7", 1))
	head := local.Commit(t, files, gitrepo.CommitOptions{Message: "scale web to 7"}).String()
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/feature")
	number := gitea.CreatePullRequest(t, repo, "feature", "main", "Scale web to 7", "")
	preview := func(want string) giteaenv.Comment {
		t.Helper()
		var got giteaenv.Comment
		waitUntil(t, "a preview comment with "+want, func() bool {
			n := 0
			for _, c := range gitea.ListComments(t, repo, number) {
				if strings.Contains(c.Body, "<!-- trueup:preview -->") {
					n, got = n+1, c
				}
			}
			if n > 1 {
				t.Fatalf("%d preview comments, want one", n)
			}
			return n == 1 && strings.Contains(got.Body, want)
		})
		return got
	}
	first := preview("/spec/replicas: git: 7  live: 6")
	for _, want := range []string{"| web | cluster local | 0 | 1 | 0 | pass | ok |", "#### api-dev"} {
		if !strings.Contains(first.Body, want) {
			t.Errorf("preview lacks %q:\n%s", want, first.Body)
		}
	}
	waitUntil(t, "the preview's commit status", func() bool {
		for _, s := range gitea.CommitStatuses(t, repo, head) {
			if s.Context == "trueup/preview" && s.State == "success" {
				return true
			}
		}
		return false
	})
	files["apps/web/deployment.yaml"] = gitrepo.File(strings.Replace(string(files["apps/web/deployment.yaml"].Content), "replicas: 7", "replicas: 8", 1))
	local.Commit(t, files, gitrepo.CommitOptions{Message: "scale web to 8"})
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/feature")
	second := preview("/spec/replicas: git: 8  live: ")
	if second.ID != first.ID {
		t.Errorf("the new push made comment %d, want comment %d updated", second.ID, first.ID)
	}
	if got := kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "6" {
		t.Errorf("a preview changed the cluster: replicas %s, want 6", got)
	}

	// The same preview on demand, for a CI job: JSON, exit 0, still one comment.
	out, stderr, code := trueup(t, "preview", "demo", fmt.Sprint(number), "-o", "json", "-c", cfg)
	var pv struct {
		Failed  bool
		Targets []struct {
			Target string
			Apply  struct{ Entries []struct{ Action string } }
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &pv) != nil || pv.Failed || len(pv.Targets) != 2 {
		t.Fatalf("trueup preview: exit %d, %s\n%s", code, out, stderr)
	}
	if table, _, code := trueup(t, "preview", "demo", fmt.Sprint(number), "-c", cfg); code != 0 || !strings.Contains(table, "/spec/replicas: git: 8  live: 6") {
		t.Errorf("trueup preview table (exit %d):\n%s", code, table)
	}
	preview("/spec/replicas: git: 8  live: ")

	export, _, _ := trueup(t, "history", "export", "-c", cfg)
	var slackText strings.Builder
	for _, c := range slackSrv.snapshot() {
		slackText.WriteString(c.Text + c.Blocks)
	}
	for where, s := range map[string]string{"log": logs.String(), "history": export, "Slack": slackText.String()} {
		for _, secret := range []string{gitea.Token, testSlackToken, secret} {
			if strings.Contains(s, secret) {
				t.Errorf("the %s carries a secret", where)
			}
		}
	}
	for _, n := range []int{opened.Number, apiPR.Number, number} {
		p := gitea.PullRequest(t, repo, n)
		for _, c := range gitea.ListComments(t, repo, n) {
			if strings.Contains(p.Body+c.Body, gitea.Token) {
				t.Errorf("pull request #%d carries the Gitea token", n)
			}
		}
	}
}

// onlyLineChanged checks that after differs from before in exactly one
// line, which was from and is to.
func onlyLineChanged(t *testing.T, before, after, from, to string) {
	t.Helper()
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	if len(a) != len(b) {
		t.Fatalf("line count %d -> %d:\n%s", len(b), len(a), after)
	}
	changed := 0
	for i := range b {
		if a[i] == b[i] {
			continue
		}
		changed++
		if b[i] != from || a[i] != to {
			t.Errorf("line %d: %q -> %q, want %q -> %q", i+1, b[i], a[i], from, to)
		}
	}
	if changed != 1 {
		t.Errorf("%d lines changed, want 1:\n%s", changed, after)
	}
}

// httpGet returns the body of a GET that must answer 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestPullRequestHostOutage: while the Git host's API answers 503, a drift
// gets no pull request, the failure is recorded once (not at every
// reconcile) and the live value stays; when the API is back, the next
// reconcile opens the pull request and posts its link in the episode's
// Slack thread.
func TestPullRequestHostOutage(t *testing.T) {
	var down atomic.Bool
	var refused atomic.Int64
	down.Store(true)
	g := startGiteaDemo(t, func(giteaURL string) string {
		u, err := url.Parse(giteaURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u) // and Host: Gitea builds its links from the Host it is asked at
		}}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				refused.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `{"message":"maintenance"}`)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/"
	})
	kubectl(t, g.env, "-n", "web", "scale", "deployment", "web", "--replicas=5")
	failed := g.waitPR(t, "web", "failed")
	if failed.Branch != "trueup/drift/web/Deployment.apps/web/web" {
		t.Errorf("failed record = %+v", failed)
	}
	// Let the target reconcile a few more times (interval 10s) while the
	// host stays down.
	before := len(g.records(t, history.TypeReconcile))
	waitUntil(t, "two more reconciles during the outage", func() bool { return len(g.records(t, history.TypeReconcile)) >= before+2 })
	n := 0
	for _, p := range g.pullRequests(t, "web") {
		if p.Outcome != "failed" {
			t.Errorf("during the outage: %+v", p)
		}
		n++
	}
	if n != 1 || refused.Load() < 2 {
		t.Errorf("%d failure records for %d refused requests, want 1 record and several attempts", n, refused.Load())
	}
	if got := kubectl(t, g.env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Errorf("replicas during the outage = %s, want the live 5 kept", got)
	}

	down.Store(false)
	opened := g.waitPR(t, "web", "opened")
	pr := g.gitea.PullRequest(t, g.repo, opened.Number)
	if pr.State != "open" || pr.HeadRef != failed.Branch {
		t.Fatalf("pull request after the outage = %+v", pr)
	}
	waitUntil(t, "the pull request in the episode's Slack thread", func() bool {
		calls := g.slack.snapshot()
		for _, parent := range calls {
			if parent.Method != "chat.postMessage" || parent.ThreadTS != "" || !strings.Contains(parent.Blocks, "Deployment.apps/web/web") {
				continue
			}
			for _, c := range calls {
				if c.ThreadTS == parent.Posted && strings.Contains(c.Blocks, pr.HTMLURL) {
					return true
				}
			}
		}
		return false
	})
	if strings.Contains(g.logs.String(), g.gitea.Token) {
		t.Error("the log carries the Gitea token")
	}
}

// TestPreviewAccountTarget previews a pull request against an AWS account
// (moto) with `trueup preview`: the head suspends versioning of one bucket
// and removes the other from Git, so the preview shows the field change
// and the bucket the apply would prune, posts one comment and a success
// status, and changes nothing in the account.
func TestPreviewAccountTarget(t *testing.T) {
	moto := motoenv.Start(t)
	gitea := giteaenv.Start(t)
	local := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	local.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(testBucket), "aws/archive.yaml": gitrepo.File(testArchive)},
		gitrepo.CommitOptions{Message: "Add buckets"})
	repo := gitea.CreateRepo(t, "infra")
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/main")
	cfg := accountConfig(t, moto, local)
	text := strings.Replace(readFile(t, cfg), "url: "+local.URL(), "url: "+repo.CloneURL+`
    auth:
      username: `+gitea.AdminUser+`
      passwordFrom: {env: TRUEUP_TEST_GITEA_TOKEN}
    provider: {type: gitea, url: '`+gitea.URL+`', tokenFrom: {env: TRUEUP_TEST_GITEA_TOKEN}}`, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRUEUP_TEST_GITEA_TOKEN", gitea.Token)
	if out, stderr, code := trueup(t, "apply", "buckets", "-c", cfg); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
	}

	head := local.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(strings.Replace(testBucket, "status: Enabled", "status: Suspended", 1))},
		gitrepo.CommitOptions{Message: "suspend versioning, drop the archive"}).String()
	gitea.Push(t, repo, local.Git, "refs/heads/main:refs/heads/suspend")
	number := gitea.CreatePullRequest(t, repo, "suspend", "main", "Suspend versioning", "")

	out, stderr, code := trueup(t, "preview", "infra", fmt.Sprint(number), "-o", "json", "-c", cfg)
	var pv struct {
		Failed  bool
		Targets []struct {
			Target      string
			Destination string
			Changes     []struct {
				Ref    struct{ Name string }
				Fields []struct {
					Path      string
					Git, Live any
				}
			}
			Apply struct {
				Entries []struct {
					Ref    struct{ Name string }
					Action string
				}
			}
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &pv) != nil || pv.Failed || len(pv.Targets) != 1 {
		t.Fatalf("preview: exit %d\n%s\n%s", code, out, stderr)
	}
	tp := pv.Targets[0]
	if tp.Destination != "account sandbox" || len(tp.Changes) != 1 || tp.Changes[0].Ref.Name != "trueup-e2e-logs" ||
		len(tp.Changes[0].Fields) != 1 || tp.Changes[0].Fields[0].Path != "/spec/versioning/status" ||
		tp.Changes[0].Fields[0].Live != "Enabled" || tp.Changes[0].Fields[0].Git != "Suspended" {
		t.Errorf("preview changes = %+v", tp.Changes)
	}
	pruned := false
	for _, e := range tp.Apply.Entries {
		pruned = pruned || (e.Ref.Name == "trueup-e2e-archive" && e.Action == "deleted")
	}
	if !pruned {
		t.Errorf("the archive bucket is not in the prune list: %+v", tp.Apply.Entries)
	}
	var comments []giteaenv.Comment
	for _, c := range gitea.ListComments(t, repo, number) {
		if strings.Contains(c.Body, "<!-- trueup:preview -->") {
			comments = append(comments, c)
		}
	}
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "/spec/versioning/status") || !strings.Contains(comments[0].Body, "S3Bucket") ||
		!strings.Contains(comments[0].Body, "trueup-e2e-archive") {
		t.Errorf("preview comments = %+v", comments)
	}
	ok := false
	for _, s := range gitea.CommitStatuses(t, repo, head) {
		ok = ok || (s.Context == "trueup/preview" && s.State == "success")
	}
	if !ok {
		t.Errorf("statuses of %s: %+v", head, gitea.CommitStatuses(t, repo, head))
	}
	// A dry run: both buckets are as they were.
	cli := s3.NewFromConfig(moto.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	for _, b := range []string{"trueup-e2e-logs", "trueup-e2e-archive"} {
		if _, err := cli.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: &b}); err != nil {
			t.Errorf("bucket %s after the preview: %v", b, err)
		}
	}
	v, err := cli.GetBucketVersioning(t.Context(), &s3.GetBucketVersioningInput{Bucket: aws.String("trueup-e2e-logs")})
	if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("versioning after the preview: %v %v", v, err)
	}
}
