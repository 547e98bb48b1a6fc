package webhook

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trueup-dev/trueup/notifications"
)

var secret = []byte("whsec-0123456789abcdef")

// received is one verified request.
type received struct {
	kind, note string
	event      notifications.Event
	raw        string
}

// receiver is an HTTP endpoint that checks the signature before it parses
// the body, as a real receiver must, then answers with the scripted status.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	bad    int
	status func(n int) (int, http.Header)
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	if !hmac.Equal([]byte(req.Header.Get(SignatureHeader)), []byte(Sign(secret, body))) ||
		req.Header.Get("Content-Type") != "application/json" || req.Method != http.MethodPost {
		r.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev notifications.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.bad++
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.got = append(r.got, received{kind: req.Header.Get(EventHeader), note: req.Header.Get(NoteHeader), event: ev, raw: string(body)})
	if r.status != nil {
		code, h := r.status(len(r.got))
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) received() ([]received, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...), r.bad
}

func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func event() notifications.Event {
	return notifications.Event{
		Kind: notifications.KindDriftOpened, Severity: notifications.SeverityCritical, Target: "web-prod",
		Destination: notifications.Destination{Kind: notifications.DestinationCluster, Name: "prod-eu"},
		Object:      "Secret/prod/db", Episode: "ep1", Actor: "kubectl-edit",
		Fields: []notifications.Field{
			{Path: "/data/password", Live: "leaked-live-value", Desired: "leaked-git-value", Masked: true},
			{Path: "/metadata/labels/tier", Live: "db", Desired: "database"},
		},
		Time: time.Date(2026, 3, 1, 2, 14, 0, 0, time.UTC),
	}
}

func TestSendSignsTheEvent(t *testing.T) {
	r := newReceiver(t)
	n, err := New("audit-hook", r.URL, secret, WithHTTPClient(client()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := n.Send(t.Context(), notifications.Message{Op: notifications.OpPost, Note: notifications.NoteReminder, Event: event()})
	if err != nil || rc.Detail != "http 204" {
		t.Fatalf("Send = %+v, %v", rc, err)
	}
	got, bad := r.received()
	if bad != 0 || len(got) != 1 {
		t.Fatalf("receiver verified %d requests, rejected %d", len(got), bad)
	}
	if got[0].kind != "drift.opened" || got[0].note != "reminder" {
		t.Errorf("headers: event %q note %q", got[0].kind, got[0].note)
	}
	ev := got[0].event
	if ev.Target != "web-prod" || ev.Episode != "ep1" || ev.Fields[1].Live != "db" {
		t.Errorf("body event = %+v", ev)
	}
	if ev.Fields[0].Live != notifications.MaskedValue || strings.Contains(got[0].raw, "leaked") {
		t.Errorf("masked values travel: %s", got[0].raw)
	}
}

func TestSendClassifiesResponses(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		header     http.Header
		wantErr    bool
		permanent  bool
		retryAfter time.Duration
	}{
		{"204", http.StatusNoContent, nil, false, false, 0},
		{"200", http.StatusOK, nil, false, false, 0},
		{"500 retryable", http.StatusInternalServerError, nil, true, false, 0},
		{"503 with Retry-After", http.StatusServiceUnavailable, http.Header{"Retry-After": {"5"}}, true, false, 5 * time.Second},
		{"429 with Retry-After", http.StatusTooManyRequests, http.Header{"Retry-After": {"3"}}, true, false, 3 * time.Second},
		{"400 permanent", http.StatusBadRequest, nil, true, true, 0},
		{"404 permanent", http.StatusNotFound, nil, true, true, 0},
		{"410 permanent", http.StatusGone, nil, true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t)
			r.status = func(int) (int, http.Header) { return tt.code, tt.header }
			n, err := New("audit-hook", r.URL+"/hooks/trueup", secret, WithHTTPClient(client()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = n.Send(t.Context(), notifications.Message{Op: notifications.OpPost, Event: event()})
			if (err != nil) != tt.wantErr || notifications.IsPermanent(err) != tt.permanent {
				t.Fatalf("Send err = %v (permanent %v), want err %v permanent %v", err, notifications.IsPermanent(err), tt.wantErr, tt.permanent)
			}
			if !tt.wantErr {
				return
			}
			want := fmt.Sprintf("webhook notifier audit-hook: post: http %d", tt.code)
			if err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
			if pe, ok := errors.AsType[*notifications.PermanentError](err); ok && pe.Reason != fmt.Sprintf("http %d", tt.code) {
				t.Errorf("reason %q", pe.Reason)
			}
			ra, _ := errors.AsType[*notifications.RetryAfterError](err)
			if got := time.Duration(0); ra != nil {
				got = ra.After
				if got != tt.retryAfter {
					t.Errorf("retry after %s, want %s", got, tt.retryAfter)
				}
			} else if tt.retryAfter != 0 {
				t.Errorf("no retry-after, want %s", tt.retryAfter)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 14, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"7", 7 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDispatcherRetriesTheWebhook(t *testing.T) {
	r := newReceiver(t)
	r.status = func(n int) (int, http.Header) {
		if n <= 2 {
			return http.StatusBadGateway, nil
		}
		return http.StatusOK, nil
	}
	synctest.Test(t, func(t *testing.T) {
		n, err := New("audit-hook", r.URL, secret, WithHTTPClient(client()))
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var got []notifications.Delivery
		d, err := notifications.NewDispatcher([]notifications.Notifier{n}, notifications.Options{
			Router:   notifications.Router{Rules: []notifications.Rule{{Notifiers: []string{"audit-hook"}}}},
			OnResult: func(dl notifications.Delivery) { mu.Lock(); got = append(got, dl); mu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go d.Run(ctx)
		defer d.Close()
		d.Publish(event())
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 || got[0].Status != notifications.StatusSent || got[0].Attempts != 3 {
			t.Errorf("deliveries %+v, want one sent after 3 attempts", got)
		}
	})
	if got, bad := r.received(); len(got) != 3 || bad != 0 {
		t.Errorf("receiver verified %d signed requests (%d rejected), want 3", len(got), bad)
	}
}

func TestErrorsAndStringHideSecrets(t *testing.T) {
	url := "http://127.0.0.1:1/hooks/SECRETPATH123456?key=SECRETKEY123456"
	n, err := New("audit-hook", url, secret, WithHTTPClient(client()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.Send(t.Context(), notifications.Message{Op: notifications.OpPost, Event: event()})
	if err == nil || notifications.IsPermanent(err) {
		t.Fatalf("unreachable: %v, want a retryable error", err)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v %s", n, n, n, n)} {
		if strings.Contains(s, "SECRETPATH") || strings.Contains(s, "SECRETKEY") || strings.Contains(s, string(secret)) {
			t.Errorf("leaks a secret: %s", s)
		}
	}
	if !strings.HasPrefix(err.Error(), "webhook notifier audit-hook: post: ") {
		t.Errorf("error %q does not start with the notifier's identity", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name, url string
		secret    []byte
		want      string
	}{
		{"relative URL", "/hooks", secret, "webhook notifier a: url is not an absolute URL"},
		{"no secret", "https://x.example/h", nil, "webhook notifier a: secret is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New("a", tt.url, tt.secret); err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
