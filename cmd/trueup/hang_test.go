package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hungListener accepts connections and never answers: a Git host API or
// Slack that hangs. It returns its http:// address.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// trueupGuarded runs trueup and fails the test if it has not returned by
// guard: the guard turns a hang into a failure, it times nothing.
func trueupGuarded(t *testing.T, guard time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, streams{in: strings.NewReader(""), out: &out, err: &errOut}) }()
	select {
	case code = <-done:
		return out.String(), errOut.String(), code
	case <-time.After(guard):
		cancel()
		<-done
		t.Fatalf("trueup %s still running after %s: it hangs on a remote that never answers", strings.Join(args, " "), guard)
		return "", "", 0
	}
}

// A Git host that accepts the connection and never answers held a preview
// for the HTTP client's own 30s per request, whatever the targets'
// timeout; Slack likewise. Each call now has a deadline derived from the
// timeout of the targets it serves (a per-call default where there is no
// target) and fails with a deadline error.
func TestGitHostAndSlackThatNeverAnswerFailWithADeadline(t *testing.T) {
	hung := hungListener(t)
	// The cluster is never reached: the preview asks the host first.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: '" + hung + "'}}]\n" +
		"contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n"
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := demoConfig(t, kubeconfig)
	text := readFile(t, cfg)
	text = strings.Replace(text, "      branch: main\n", "      branch: main\n    provider: {type: gitea, url: '"+hung+"', tokenFrom: {env: TRUEUP_TEST_GITEA_TOKEN}}\n", 1)
	text = strings.ReplaceAll(text, "    wait: false\n", "    wait: false\n    timeout: 2s\n")
	text += `notifiers:
  - name: oncall
    type: slack
    slack:
      channel: "#alerts"
      tokenFrom: {env: TRUEUP_TEST_SLACK_TOKEN}
      apiURL: ` + hung + `/api/
`
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRUEUP_TEST_GITEA_TOKEN", "gitea-token-0123456789")
	t.Setenv("TRUEUP_TEST_SLACK_TOKEN", testSlackToken)

	t.Run("git host", func(t *testing.T) {
		_, stderr, code := trueupGuarded(t, 20*time.Second, "preview", "demo", "1", "-c", cfg)
		if code != exitError || !strings.Contains(stderr, "deadline exceeded") {
			t.Fatalf("exit %d, want %d with a deadline error:\n%s", code, exitError, stderr)
		}
		if strings.Contains(stderr, "gitea-token-0123456789") {
			t.Error("the token reached the error")
		}
	})
	t.Run("slack", func(t *testing.T) {
		stdout, _, code := trueupGuarded(t, 60*time.Second, "notify", "test", "oncall", "-c", cfg)
		if code != exitFailed || !strings.Contains(stdout, "deadline exceeded") {
			t.Fatalf("exit %d, want %d with a deadline error:\n%s", code, exitFailed, stdout)
		}
		if strings.Contains(stdout, testSlackToken) {
			t.Error("the token reached the output")
		}
	})
}

// A daemon that accepts the connection and never answers: the CLI verbs
// give up after --request-timeout and say what to do, instead of hanging.
func TestDaemonVerbsGiveUpOnADaemonThatHangs(t *testing.T) {
	addr := hungListener(t)
	for _, args := range [][]string{
		{"get", "targets"},
		{"suspend", "web", "--reason", "test"},
		{"reconcile", "web"},
	} {
		t.Run(args[0], func(t *testing.T) {
			done := make(chan struct{})
			var stderr string
			var code int
			go func() {
				defer close(done)
				_, stderr, code = trueup(t, append(args, "--server", addr, "--request-timeout", "500ms")...)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("trueup %v against a daemon that never answers did not return", args)
			}
			if code == 0 || !strings.Contains(stderr, "no answer within 500ms") || !strings.Contains(stderr, "--request-timeout") {
				t.Errorf("trueup %v: exit %d, stderr %q; want a failure saying no answer within 500ms and what to raise", args, code, stderr)
			}
		})
	}
}

// A --server carrying credentials is refused without printing them (every
// error of the daemon verbs names the server).
func TestDaemonVerbsRefuseCredentialsInTheServerAddress(t *testing.T) {
	_, stderr, code := trueup(t, "get", "targets", "--server", "https://ops:hunter2@trueup.example.com")
	if code != exitError || strings.Contains(stderr, "hunter2") || !strings.Contains(stderr, "--token") {
		t.Errorf("exit %d, stderr %q; want %d, the password not shown, and --token suggested", code, stderr, exitError)
	}
}
