package main

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// slackCall is one chat.* request the Slack server received.
type slackCall struct {
	Method   string
	Channel  string
	ThreadTS string
	TS       string // chat.update: the message it replaces
	Text     string
	Blocks   string
	Auth     string
	// Posted is the ts the server gave a posted message.
	Posted string
}

// slackRecorder is slacktest's server with chat.postMessage and chat.update
// handlers that keep every request, so tests assert on what was sent.
type slackRecorder struct {
	*slacktest.Server
	mu    sync.Mutex
	calls []slackCall
}

func newSlackRecorder(t *testing.T) *slackRecorder {
	t.Helper()
	s := &slackRecorder{}
	// Handlers passed at construction take the place of slacktest's own.
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", s.handler("chat.postMessage"))
		c.Handle("/chat.update", s.handler("chat.update"))
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *slackRecorder) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		c := slackCall{Method: method, Channel: r.FormValue("channel"), ThreadTS: r.FormValue("thread_ts"), TS: r.FormValue("ts"),
			Text: r.FormValue("text"), Blocks: r.FormValue("blocks"), Auth: cmp.Or(r.Header.Get("Authorization"), "form token "+r.FormValue("token"))}
		c.Posted = c.TS
		if method == "chat.postMessage" {
			c.Posted = fmt.Sprintf("1700000000.%06d", len(s.calls)+1)
		}
		s.calls = append(s.calls, c)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0ALERTS", "ts": c.Posted})
	}
}

func (s *slackRecorder) snapshot() []slackCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slackCall(nil), s.calls...)
}

// withSlack adds a bot-token Slack notifier pointed at the recorder to the
// demo config and names it on the web target.
func withSlack(t *testing.T, cfgPath, apiURL string) {
	t.Helper()
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "    path: apps/web\n", "    path: apps/web\n    notifiers: [oncall]\n", 1)
	cfg += fmt.Sprintf(`notifiers:
  - name: oncall
    type: slack
    slack:
      channel: "#alerts"
      tokenFrom: {env: TRUEUP_TEST_SLACK_TOKEN}
      apiURL: %s
server:
  publicURL: https://trueup.example.com
`, apiURL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the daemon's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const testSlackToken = "xoxb-trueup-test-0123456789-secret"

// TestLiveEditAlertsSlackOnceAndHealUpdatesIt runs the daemon on the real
// control plane with a Slack notifier: a live edit of the web Deployment
// gives exactly one channel message with the field, both values and the
// manager; the heal answers in its thread and updates it as resolved.
func TestLiveEditAlertsSlackOnceAndHealUpdatesIt(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo targets use fixed namespaces
	cfg := demoConfig(t, env.Kubeconfig)
	slackSrv := newSlackRecorder(t)
	withSlack(t, cfg, slackSrv.GetAPIURL())
	t.Setenv("TRUEUP_TEST_SLACK_TOKEN", testSlackToken)

	d := startDaemon(t, cfg, "--log-level", "info")
	logs, stop := d.logs, d.stop
	records := func() []history.Record { return d.records(t) }
	waitUntil(t, "the first apply", func() bool { return d.applied(t, "web", "", "") })
	if calls := slackSrv.snapshot(); len(calls) != 0 {
		t.Fatalf("the first apply is info and must not reach the target's Slack notifier: %+v", calls)
	}
	addr := d.addr(t)
	for path, want := range map[string]int{"/targets/web": http.StatusOK, "/targets/nope": http.StatusNotFound} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusOK && (!strings.Contains(string(body), "<h1>web</h1>") || !strings.Contains(string(body), "Last reconcile"))) {
			t.Errorf("GET %s: %d, want %d\n%s", path, resp.StatusCode, want, body)
		}
	}

	kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=5")
	waitUntil(t, "the resolved parent update", func() bool {
		for _, c := range slackSrv.snapshot() {
			if c.Method == "chat.update" {
				return true
			}
		}
		return false
	})
	stop() // drain: every delivery is recorded

	var parents, replies, updates []slackCall
	for _, c := range slackSrv.snapshot() {
		switch {
		case c.Method == "chat.update":
			updates = append(updates, c)
		case c.ThreadTS != "":
			replies = append(replies, c)
		default:
			parents = append(parents, c)
		}
	}
	if len(parents) != 1 {
		t.Fatalf("%d channel messages, want exactly 1: %+v\nall calls: %+v\nlogs:\n%s", len(parents), parents, slackSrv.snapshot(), logs.String())
	}
	p := parents[0]
	if p.Auth != "Bearer "+testSlackToken && p.Auth != "form token "+testSlackToken || p.Channel != "#alerts" {
		t.Errorf("posted to %q with authorization %q", p.Channel, p.Auth)
	}
	for _, want := range []string{"web", "Deployment", "/spec/replicas", "5", "2", "kubectl", "https://trueup.example.com/targets/web"} {
		if !strings.Contains(p.Blocks, want) {
			t.Errorf("parent message lacks %q:\n%s", want, p.Blocks)
		}
	}
	if len(updates) != 1 || updates[0].TS != p.Posted || !strings.Contains(strings.ToLower(updates[0].Blocks), "healed") {
		t.Errorf("want one update of the parent %s saying healed, got %+v", p.Posted, updates)
	}
	for _, r := range replies {
		if r.ThreadTS != p.Posted {
			t.Errorf("reply in thread %s, want the parent's %s", r.ThreadTS, p.Posted)
		}
	}
	var sent int
	for _, r := range records() {
		if r.Type == history.TypeNotification && r.Outcome == "sent" {
			sent++
		}
		if strings.Contains(r.Message, testSlackToken) || strings.Contains(string(r.Data), testSlackToken) {
			t.Errorf("record %d carries the Slack token", r.Seq)
		}
	}
	if sent < 2 {
		t.Errorf("%d sent notification records, want the opening and the resolution", sent)
	}
	if strings.Contains(logs.String(), testSlackToken) {
		t.Error("the daemon's log carries the Slack token")
	}
}

// TestNotifyTest sends the test message through a configured Slack
// notifier and prints what Slack answered; a refused token is exit 1 with
// what to do next, and never the token.
func TestNotifyTest(t *testing.T) {
	slackSrv := newSlackRecorder(t)
	cfg := demoConfig(t, "/nonexistent/kubeconfig")
	withSlack(t, cfg, slackSrv.GetAPIURL())
	t.Setenv("TRUEUP_TEST_SLACK_TOKEN", testSlackToken)

	out, errOut, code := trueup(t, "notify", "test", "oncall", "-c", cfg)
	if code != 0 || !strings.Contains(out, "oncall: sent to channel C0ALERTS, message ts 1700000000.000001") {
		t.Fatalf("notify test: exit %d\n%s%s", code, out, errOut)
	}
	calls := slackSrv.snapshot()
	if len(calls) != 1 || calls[0].Channel != "#alerts" || !strings.Contains(calls[0].Blocks, "test notification") {
		t.Fatalf("Slack received %+v", calls)
	}
	out, _, code = trueup(t, "notify", "test", "oncall", "-c", cfg, "-o", "json")
	var res notifyResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.OK || res.Receipt == nil || res.Receipt.TS == "" {
		t.Fatalf("notify test -o json: exit %d\n%s", code, out)
	}

	refusing := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		})
	})
	refusing.Start()
	t.Cleanup(refusing.Stop)
	cfg2 := demoConfig(t, "/nonexistent/kubeconfig")
	withSlack(t, cfg2, refusing.GetAPIURL())
	out, errOut, code = trueup(t, "notify", "test", "oncall", "-c", cfg2)
	if code != 1 || !strings.Contains(out, "invalid_auth") || !strings.Contains(out, "Check the notifier's credentials") ||
		strings.Contains(out+errOut, testSlackToken) {
		t.Fatalf("notify test with a refused token: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := trueup(t, "notify", "test", "nope", "-c", cfg); code != 2 || !strings.Contains(errOut, `no notifier "nope"`) {
		t.Fatalf("unknown notifier: exit %d\n%s", code, errOut)
	}
}

// TestPushWebhookTriggersReconcile runs the daemon with a webhook secret: a
// signed push of a new commit reconciles the target at once (its interval
// is 5 minutes), and a forged one is rejected.
func TestPushWebhookTriggersReconcile(t *testing.T) {
	env := kubeenv.Start(t)
	cfg, repo := demoSetup(t, env.Kubeconfig)
	const secret = "push-hook-secret"
	if err := os.WriteFile(cfg, []byte(readFile(t, cfg)+"server:\n  webhookSecretFrom: {env: TRUEUP_TEST_WEBHOOK_SECRET}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRUEUP_TEST_WEBHOOK_SECRET", secret)
	d := startDaemon(t, cfg, "--log-level", "info")
	applied := func(rev string) bool { return d.applied(t, "web", rev, "") }
	waitUntil(t, "the first apply", func() bool { return applied("") })
	addr := d.addr(t)

	files := map[string]gitrepo.Entry{}
	for p, e := range gitrepo.ReadDir(t, "../../fixtures/demo/repo") {
		files[p] = e
	}
	files["apps/web/deployment.yaml"] = gitrepo.File(strings.Replace(string(files["apps/web/deployment.yaml"].Content), "replicas: 2", "replicas: 4", 1))
	head := repo.Commit(t, files, gitrepo.CommitOptions{Message: "scale web to 4"}).String()
	body := fmt.Sprintf(`{"ref":"refs/heads/main","repository":{"clone_url":%q}}`, repo.URL())
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/git", strings.NewReader(body))
		req.Header.Set("X-Gitea-Event", "push")
		req.Header.Set("X-Gitea-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(hmacHex("wrong-secret", body)); code != http.StatusUnauthorized {
		t.Fatalf("forged push: %d, want 401", code)
	}
	time.Sleep(time.Second)
	if applied(head[:12]) {
		t.Fatal("a forged push triggered a reconcile")
	}
	if code := post(hmacHex(secret, body)); code != http.StatusAccepted {
		t.Fatalf("signed push: %d, want 202", code)
	}
	waitUntil(t, "the pushed commit applied", func() bool { return d.applied(t, "web", head, "webhook") })
	if got := kubectl(t, env, "-n", "web", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "4" {
		t.Errorf("replicas after the push = %s, want 4", got)
	}
}

func hmacHex(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}
