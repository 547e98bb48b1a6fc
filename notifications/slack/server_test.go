package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"

	"github.com/trueup-dev/trueup/notifications"
)

const (
	testToken   = "xoxb-0000000000-test-token-do-not-leak"
	channelName = "#platform-alerts"
	channelID   = "C0ALERTS"
	hookPath    = "/services/T000/B000/XXXXhooksecretXXXX"
)

// call is one request the fake Slack received.
type call struct {
	Channel, TS, ThreadTS, Text, Token string
	Blocks                             json.RawMessage
}

// reply scripts one answer; the zero reply is success.
type reply struct {
	status     int
	retryAfter string
	slackError string
}

// fakeSlack is slacktest's server with handlers for chat.postMessage
// (unique ts per message, channel names answered with ids, as Slack does),
// chat.update and an incoming webhook, recording every request.
type fakeSlack struct {
	srv *slacktest.Server

	mu     sync.Mutex
	calls  map[string][]call
	script func(method string, n int) reply
	ts     int
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{calls: map[string][]call{}}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.api("chat.postMessage"))
		c.Handle("/chat.update", f.api("chat.update"))
		c.Handle("/services/", f.webhook)
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeSlack) setScript(s func(method string, n int) reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = s
}

// record stores c and returns the scripted reply for it.
func (f *fakeSlack) record(method string, c call) (reply, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method] = append(f.calls[method], c)
	var r reply
	if f.script != nil {
		r = f.script(method, len(f.calls[method]))
	}
	ts := c.TS
	if method == "chat.postMessage" && r == (reply{}) {
		f.ts++
		ts = fmt.Sprintf("1700000000.%06d", f.ts)
	}
	return r, ts
}

func (f *fakeSlack) got(method string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls[method]...)
}

func (f *fakeSlack) api(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c := call{
			Channel: r.PostForm.Get("channel"), TS: r.PostForm.Get("ts"), ThreadTS: r.PostForm.Get("thread_ts"),
			Text: r.PostForm.Get("text"), Blocks: json.RawMessage(r.PostForm.Get("blocks")), Token: r.PostForm.Get("token"),
		}
		rep, ts := f.record(method, c)
		if writeScripted(w, rep) {
			return
		}
		ch := c.Channel
		if ch == channelName {
			ch = channelID
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": ch, "ts": ts})
	}
}

func (f *fakeSlack) webhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var msg struct {
		Text     string          `json:"text"`
		ThreadTS string          `json:"thread_ts"`
		Blocks   json.RawMessage `json:"blocks"`
	}
	if r.URL.Path != hookPath || json.Unmarshal(body, &msg) != nil {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	rep, _ := f.record("webhook", call{Text: msg.Text, ThreadTS: msg.ThreadTS, Blocks: msg.Blocks})
	if writeScripted(w, rep) {
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// writeScripted writes a scripted failure and reports whether it did.
func writeScripted(w http.ResponseWriter, r reply) bool {
	switch {
	case r.retryAfter != "":
		w.Header().Set("Retry-After", r.retryAfter)
		w.WriteHeader(http.StatusTooManyRequests)
	case r.status != 0:
		http.Error(w, r.slackError, r.status)
	case r.slackError != "":
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": r.slackError})
	default:
		return false
	}
	return true
}

// client never keeps idle connections, so synctest bubbles can go idle.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func (f *fakeSlack) bot(t *testing.T, opts ...Option) *Notifier {
	t.Helper()
	opts = append([]Option{WithChannel(channelName), WithAPIURL(f.srv.GetAPIURL()), WithHTTPClient(client()),
		WithPublicURL("https://trueup.example.com")}, opts...)
	n, err := NewBot("oncall", testToken, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fakeSlack) hookURL() string { return "http://" + f.srv.ServerAddr + hookPath }

// results collects deliveries.
type results struct {
	mu   sync.Mutex
	list []notifications.Delivery
}

func (r *results) add(d notifications.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, d)
}

func (r *results) all() []notifications.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notifications.Delivery(nil), r.list...)
}

// run starts a dispatcher for n that routes every event to it; call the
// returned stop inside the synctest bubble.
func run(t *testing.T, n notifications.Notifier, opts notifications.Options) (*notifications.Dispatcher, *results, func()) {
	t.Helper()
	res := &results{}
	opts.OnResult = res.add
	opts.Router = notifications.Router{Rules: []notifications.Rule{{Notifiers: []string{n.Name()}}}}
	d, err := notifications.NewDispatcher([]notifications.Notifier{n}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	return d, res, func() {
		d.Close()
		cancel()
		<-done
	}
}

// header is the header text of a recorded call's blocks.
func header(t *testing.T, c call) string {
	t.Helper()
	var blocks []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(c.Blocks, &blocks); err != nil || len(blocks) == 0 || blocks[0].Type != "header" {
		t.Fatalf("blocks %s: no header (%v)", c.Blocks, err)
	}
	return blocks[0].Text.Text
}

// sameBlocks asserts that the server received exactly Render's blocks.
func sameBlocks(t *testing.T, c call, p Payload) {
	t.Helper()
	want, err := json.Marshal(p.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if json.Unmarshal(c.Blocks, &a) != nil || json.Unmarshal(want, &b) != nil {
		t.Fatalf("undecodable blocks: %s", c.Blocks)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("server received blocks\n%s\nwant\n%s", ja, jb)
	}
}
