package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// startServe runs 'trueup serve' until the test ends and returns its log
// and the address logged under each key (listen, webhookListen,
// metricsListen).
func startServe(t *testing.T, cfg, listen string, keys ...string) (*lockedBuffer, map[string]string) {
	t.Helper()
	d := startDaemonOn(t, cfg, listen, "--no-watch")
	logs := d.logs
	waitUntil(t, "the daemon to listen", func() bool { return strings.Contains(logs.String(), "trueup started") })
	addrs := map[string]string{}
	for _, k := range keys {
		m := regexp.MustCompile(`\b` + k + `=(\S+)`).FindStringSubmatch(logs.String())
		if m == nil {
			t.Fatalf("no %s= in the log:\n%s", k, logs.String())
		}
		addrs[k] = m[1]
	}
	return logs, addrs
}

// call sends an anonymous request to a listener.
func call(t *testing.T, method, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With server.webhookListen and server.metricsListen, the webhook is
// served only on its listener, /metrics only on its own (without a user,
// while the main listener needs one), and neither listener serves
// anything else.
func TestWebhookAndMetricsOnTheirOwnListeners(t *testing.T) {
	env := kubeenv.Shared(t)
	secret := filepath.Join(t.TempDir(), "hook-secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := authConfig(t, env, "unused", "  webhookListen: 127.0.0.1:0\n  metricsListen: 127.0.0.1:0\n  webhookSecretFrom: {file: "+secret+"}\n")
	_, addr := startServe(t, cfg, "127.0.0.1:0", "listen", "webhookListen", "metricsListen")
	main, hook, metrics := "http://"+addr["listen"], "http://"+addr["webhookListen"], "http://"+addr["metricsListen"]
	gitea := map[string]string{"X-Gitea-Event": "push", "Content-Type": "application/json"}

	tests := []struct {
		name, method, url string
		header            map[string]string
		code              int
		body              string
	}{
		{"webhook on its listener", "POST", hook + "/hooks/git", gitea, 401, "sign the webhook with the secret of server.webhookSecretFrom"},
		{"no webhook on the main listener", "POST", main + "/hooks/git", gitea, 401, "authentication required"},
		{"metrics on its listener, without a user", "GET", metrics + "/metrics", nil, 200, "go_goroutines"},
		{"no open metrics on the main listener", "GET", main + "/metrics", nil, 401, "authentication required"},
		{"probes on the main listener", "GET", main + "/healthz", nil, 200, "ok"},
		{"nothing else on the webhook listener: pages", "GET", hook + "/api/v1/targets", nil, 404, ""},
		{"nothing else on the webhook listener: metrics", "GET", hook + "/metrics", nil, 404, ""},
		{"nothing else on the webhook listener: probes", "GET", hook + "/healthz", nil, 404, ""},
		{"nothing else on the metrics listener: pages", "GET", metrics + "/targets/web", nil, 404, ""},
		{"nothing else on the metrics listener: webhook", "POST", metrics + "/hooks/git", gitea, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, tt.method, tt.url, tt.header)
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s: %d %q, want %d with %q", tt.method, tt.url, code, truncateText(body, 200), tt.code, tt.body)
			}
		})
	}
}

// Without server.auth, serve refuses a listener others can reach, and
// says what to configure; on loopback it starts, with a warning.
func TestServeRefusesAnOpenListenerWithoutAuth(t *testing.T) {
	cfg, _ := demoSetup(t, "/nonexistent/kubeconfig")
	for _, listen := range []string{"0.0.0.0:0", ":0"} {
		_, stderr, code := trueup(t, "serve", "-c", cfg, "--listen", listen, "--no-watch")
		if code != exitError || !strings.Contains(stderr, "is not a loopback address and server.auth is not set") ||
			!strings.Contains(stderr, "server.auth.mode: none") {
			t.Errorf("--listen %s: exit %d, stderr %q, want exit %d saying to configure server.auth", listen, code, stderr, exitError)
		}
	}
	env := kubeenv.Shared(t)
	open, _ := demoSetup(t, env.Kubeconfig)
	logs, _ := startServe(t, open, "127.0.0.1:0", "listen")
	if !strings.Contains(logs.String(), "server.auth is not set: pages and API are open to anyone on this machine") {
		t.Errorf("no warning on an unauthenticated loopback listener:\n%s", logs.String())
	}
	// mode: none accepts an open listener, with a warning.
	none, _ := demoSetup(t, env.Kubeconfig)
	if err := os.WriteFile(none, []byte(readFile(t, none)+"server:\n  auth: {mode: none}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs, _ = startServe(t, none, "0.0.0.0:0", "listen")
	if !strings.Contains(logs.String(), "server.auth.mode is none: pages and API are open to anyone who reaches the listener") {
		t.Errorf("no warning on an open listener:\n%s", logs.String())
	}
}
