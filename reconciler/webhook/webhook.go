// Package webhook receives push events from Git hosts (Gitea, GitHub) and
// wakes the targets they concern, so a merge is applied without waiting
// for the target's interval.
//
// Every request is checked before its body is parsed: at most MaxBody
// bytes (the server bounds the read time), and an HMAC-SHA256 signature of
// the body with the shared secret (Gitea: X-Gitea-Signature, hex; GitHub:
// X-Hub-Signature-256, "sha256=" and hex). An unsigned or wrongly signed
// request is rejected with 401 and counted; it never reaches the JSON
// decoder. Push events wake the targets whose source is the pushed
// repository and branch. Pull request events (opened, reopened, new
// commits) start a preview of the pull request when the Pusher also
// previews (PullRequester); pings are answered; other events are
// acknowledged and ignored.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxBody is the largest request body read (a push of many commits is a
// few hundred KiB).
const MaxBody = 1 << 20

// Pusher wakes the targets of a pushed repository and branch and returns
// their names (implemented by *reconciler.Reconciler).
type Pusher interface {
	TriggerPush(repoURLs []string, ref string) []string
}

// PullRequester previews a pull request in the background and returns the
// sources it previews for (implemented by *reconciler.Reconciler).
type PullRequester interface {
	TriggerPullRequest(repoURLs []string, number int, head string) []string
}

// Handler is the webhook endpoint.
type Handler struct {
	secret   []byte
	pusher   Pusher
	requests *prometheus.CounterVec
}

// New returns a handler that checks signatures with secret and wakes
// targets through p. Its counter trueup_webhook_requests_total{provider,
// result} is registered on reg.
func New(secret []byte, p Pusher, reg prometheus.Registerer) *Handler {
	h := &Handler{secret: secret, pusher: p, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trueup_webhook_requests_total",
		Help: "Webhook requests by provider and result (accepted, ignored, bad_signature, too_large, bad_request).",
	}, []string{"provider", "result"})}
	if reg != nil {
		reg.MustRegister(h.requests)
	}
	return h
}

// provider is what differs between Git hosts.
type provider struct {
	name      string
	event     string // the header naming the event
	signature string // the header carrying the signature
	prefix    string // before the hex digest
}

var providers = []provider{
	{name: "gitea", event: "X-Gitea-Event", signature: "X-Gitea-Signature"},
	{name: "github", event: "X-GitHub-Event", signature: "X-Hub-Signature-256", prefix: "sha256="},
}

// response is the JSON answer.
type response struct {
	Event     string   `json:"event,omitempty"`
	Triggered []string `json:"triggered,omitempty"`
	Ignored   string   `json:"ignored,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.answer(w, "unknown", "bad_request", http.StatusMethodNotAllowed, response{Error: "use POST"})
		return
	}
	p, ok := detect(r.Header)
	if !ok {
		h.answer(w, "unknown", "bad_request", http.StatusBadRequest, response{Error: "not a Gitea or GitHub webhook: no X-Gitea-Event or X-GitHub-Event header"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.answer(w, p.name, "too_large", http.StatusRequestEntityTooLarge, response{Error: "body over 1 MiB"})
		return
	case err != nil:
		h.answer(w, p.name, "bad_request", http.StatusBadRequest, response{Error: "read body: " + err.Error()})
		return
	}
	if !Verify(h.secret, body, strings.TrimPrefix(r.Header.Get(p.signature), p.prefix)) {
		h.answer(w, p.name, "bad_signature", http.StatusUnauthorized,
			response{Error: "missing or wrong " + p.signature + ": sign the webhook with the secret of server.webhookSecretFrom"})
		return
	}
	event := r.Header.Get(p.event)
	switch event {
	case "push":
		h.push(w, p, event, body)
	case "pull_request":
		h.pullRequest(w, p, event, body)
	case "ping":
		h.answer(w, p.name, "accepted", http.StatusOK, response{Event: event})
	default:
		h.answer(w, p.name, "ignored", http.StatusAccepted, response{Event: event, Ignored: "only push and pull_request events are acted on"})
	}
}

// pushEvent is the part of a push payload both hosts share.
type pushEvent struct {
	Ref        string `json:"ref"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

func (h *Handler) push(w http.ResponseWriter, p provider, event string, body []byte) {
	var ev pushEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.Ref == "" {
		h.answer(w, p.name, "bad_request", http.StatusBadRequest, response{Event: event, Error: "not a push payload: ref and repository are required"})
		return
	}
	woke := h.pusher.TriggerPush([]string{ev.Repository.CloneURL, ev.Repository.SSHURL, ev.Repository.HTMLURL}, ev.Ref)
	h.answer(w, p.name, "accepted", http.StatusAccepted, response{Event: event, Triggered: woke})
}

// pullRequestEvent is the part of a pull_request payload both hosts share.
type pullRequestEvent struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Head struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

// previewActions are the pull request actions that change what a preview
// shows: GitHub says synchronize for new commits, Gitea synchronized.
var previewActions = map[string]bool{"opened": true, "reopened": true, "synchronize": true, "synchronized": true}

func (h *Handler) pullRequest(w http.ResponseWriter, p provider, event string, body []byte) {
	var ev pullRequestEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.Number <= 0 || ev.Action == "" {
		h.answer(w, p.name, "bad_request", http.StatusBadRequest, response{Event: event, Error: "not a pull_request payload: action, number and repository are required"})
		return
	}
	pr, ok := h.pusher.(PullRequester)
	if !ok || !previewActions[ev.Action] {
		h.answer(w, p.name, "ignored", http.StatusAccepted, response{Event: event, Ignored: "pull request action " + ev.Action + " needs no preview"})
		return
	}
	started := pr.TriggerPullRequest([]string{ev.Repository.CloneURL, ev.Repository.SSHURL, ev.Repository.HTMLURL}, ev.Number, ev.PullRequest.Head.Ref)
	h.answer(w, p.name, "accepted", http.StatusAccepted, response{Event: event, Triggered: started})
}

func (h *Handler) answer(w http.ResponseWriter, provider, result string, code int, res response) {
	h.requests.WithLabelValues(provider, result).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(res)
}

func detect(h http.Header) (provider, bool) {
	for _, p := range providers {
		if h.Get(p.event) != "" {
			return p, true
		}
	}
	return provider{}, false
}

// Verify reports whether sigHex is the hex HMAC-SHA256 of body with
// secret, in constant time. An empty secret or signature never verifies.
func Verify(secret, body []byte, sigHex string) bool {
	if len(secret) == 0 || sigHex == "" {
		return false
	}
	got, err := hex.DecodeString(sigHex)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
