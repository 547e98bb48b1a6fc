package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counter reads one series of the handler's counter.
func counter(t *testing.T, h *Handler, labels ...string) float64 {
	t.Helper()
	var m dto.Metric
	if err := h.requests.WithLabelValues(labels...).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// pusher records the pushes it was asked to trigger.
type pusher struct {
	mu       sync.Mutex
	pushes   [][]string
	previews [][]string
}

func (p *pusher) TriggerPush(urls []string, ref string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, append(slices.Clone(urls), ref))
	return []string{"web"}
}

func (p *pusher) TriggerPullRequest(urls []string, number int, head string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.previews = append(p.previews, append(slices.Clone(urls), strconv.Itoa(number), head))
	return []string{"apps"}
}

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

const prBody = `{"action":"synchronized","number":7,"pull_request":{"head":{"ref":"feature","sha":"abc"}},"repository":{"clone_url":"http://127.0.0.1:3000/org/app.git","ssh_url":"git@127.0.0.1:org/app.git","html_url":"http://127.0.0.1:3000/org/app"}}`

const prClosedBody = `{"action":"closed","number":7,"pull_request":{"head":{"ref":"feature","sha":"abc"}},"repository":{"clone_url":"http://127.0.0.1:3000/org/app.git"}}`

const pushBody = `{"ref":"refs/heads/main","repository":{"clone_url":"http://127.0.0.1:3000/org/app.git","ssh_url":"git@127.0.0.1:org/app.git","html_url":"http://127.0.0.1:3000/org/app"}}`

func TestHandler(t *testing.T) {
	const secret = "s3cret-webhook"
	tests := []struct {
		name      string
		headers   map[string]string
		body      string
		code      int
		result    string
		pushed    bool
		previewed bool
	}{
		{name: "gitea push, signed", headers: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sign(secret, pushBody)},
			body: pushBody, code: http.StatusAccepted, result: "accepted", pushed: true},
		{name: "github push, signed", headers: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(secret, pushBody)},
			body: pushBody, code: http.StatusAccepted, result: "accepted", pushed: true},
		{name: "forged signature", headers: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sign("guess", pushBody)},
			body: pushBody, code: http.StatusUnauthorized, result: "bad_signature"},
		{name: "unsigned", headers: map[string]string{"X-Gitea-Event": "push"}, body: pushBody, code: http.StatusUnauthorized, result: "bad_signature"},
		{name: "signed, but not JSON: rejected only after the signature", headers: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sign(secret, "{")},
			body: "{", code: http.StatusBadRequest, result: "bad_request"},
		{name: "too large", headers: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": "00"},
			body: strings.Repeat("x", MaxBody+1), code: http.StatusRequestEntityTooLarge, result: "too_large"},
		{name: "gitea pull request synchronized: previewed", headers: map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Signature": sign(secret, prBody)},
			body: prBody, code: http.StatusAccepted, result: "accepted", previewed: true},
		{name: "github pull request: previewed", headers: map[string]string{"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=" + sign(secret, prBody)},
			body: prBody, code: http.StatusAccepted, result: "accepted", previewed: true},
		{name: "pull request closed: ignored", headers: map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Signature": sign(secret, prClosedBody)},
			body: prClosedBody, code: http.StatusAccepted, result: "ignored"},
		{name: "forged pull request", headers: map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Signature": sign("guess", prBody)},
			body: prBody, code: http.StatusUnauthorized, result: "bad_signature"},
		{name: "pull request without a number", headers: map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Signature": sign(secret, "{}")},
			body: "{}", code: http.StatusBadRequest, result: "bad_request"},
		{name: "other events acknowledged", headers: map[string]string{"X-Gitea-Event": "issues", "X-Gitea-Signature": sign(secret, "{}")},
			body: "{}", code: http.StatusAccepted, result: "ignored"},
		{name: "not a webhook", headers: map[string]string{}, body: pushBody, code: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pusher{}
			reg := prometheus.NewRegistry()
			h := New([]byte(secret), p, reg)
			req := httptest.NewRequest(http.MethodPost, "/hooks/git", strings.NewReader(tt.body))
			provider := "unknown"
			for k, v := range tt.headers {
				req.Header.Set(k, v)
				if strings.HasPrefix(k, "X-Gitea") {
					provider = "gitea"
				} else if strings.HasPrefix(k, "X-GitHub") || strings.HasPrefix(k, "X-Hub") {
					provider = "github"
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if got := len(p.pushes) > 0; got != tt.pushed {
				t.Fatalf("pushed = %v, want %v", got, tt.pushed)
			}
			if got := len(p.previews) > 0; got != tt.previewed {
				t.Fatalf("previewed = %v, want %v", got, tt.previewed)
			}
			if tt.previewed && !slices.Equal(p.previews[0], []string{"http://127.0.0.1:3000/org/app.git", "git@127.0.0.1:org/app.git", "http://127.0.0.1:3000/org/app", "7", "feature"}) {
				t.Errorf("preview = %v", p.previews[0])
			}
			if tt.pushed && !slices.Equal(p.pushes[0], []string{"http://127.0.0.1:3000/org/app.git", "git@127.0.0.1:org/app.git", "http://127.0.0.1:3000/org/app", "refs/heads/main"}) {
				t.Errorf("push = %v", p.pushes[0])
			}
			if tt.result != "" {
				if n := counter(t, h, provider, tt.result); n != 1 {
					t.Errorf("trueup_webhook_requests_total{%s,%s} = %v, want 1", provider, tt.result, n)
				}
			}
			if strings.Contains(rec.Body.String(), secret) {
				t.Error("the answer carries the secret")
			}
		})
	}
}

func TestVerify(t *testing.T) {
	if !Verify([]byte("k"), []byte("body"), sign("k", "body")) {
		t.Error("a good signature does not verify")
	}
	for _, sig := range []string{"", "zz", sign("k", "other"), sign("other", "body")} {
		if Verify([]byte("k"), []byte("body"), sig) {
			t.Errorf("signature %q verifies", sig)
		}
	}
	if Verify(nil, []byte("body"), sign("", "body")) {
		t.Error("an empty secret verifies")
	}
}
