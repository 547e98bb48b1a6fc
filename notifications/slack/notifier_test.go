package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/trueup-dev/trueup/notifications"
)

func driftEvent(kind notifications.Kind, fields ...notifications.Field) notifications.Event {
	ev := webProd
	ev.Kind, ev.Fields, ev.Time = kind, fields, time.Now()
	ev.Since = ev.Time.Add(-10 * time.Minute)
	if kind.Resolves() {
		ev.Resolution = notifications.ResolutionHealed
	}
	return ev
}

func TestBotThreadsAnEpisode(t *testing.T) {
	fake := newFakeSlack(t)
	synctest.Test(t, func(t *testing.T) {
		n := fake.bot(t, WithRepeatInterval(4*time.Hour))
		d, res, stop := run(t, n, notifications.Options{})
		defer stop()
		publish := func(ev notifications.Event) notifications.Event {
			d.Publish(ev)
			synctest.Wait()
			return ev
		}

		opened := publish(driftEvent(notifications.KindDriftOpened, driftFields...))
		posts := fake.got("chat.postMessage")
		if len(posts) != 1 || posts[0].Channel != channelName || posts[0].ThreadTS != "" {
			t.Fatalf("parent: %+v, want one top-level message in %s", posts, channelName)
		}
		parent := "1700000000.000001"
		sameBlocks(t, posts[0], Render(opened, opts))
		if posts[0].Token != testToken || !strings.Contains(posts[0].Text, "Drift detected") {
			t.Errorf("parent token %q text %q", posts[0].Token, posts[0].Text)
		}

		publish(driftEvent(notifications.KindDriftUpdated, driftFields...)) // unchanged
		if got := len(fake.got("chat.postMessage")); got != 1 {
			t.Fatalf("an unchanged update was posted (%d messages)", got)
		}

		changed := publish(driftEvent(notifications.KindDriftUpdated, driftFields[:1]...))
		reply := fake.got("chat.postMessage")[1]
		if reply.ThreadTS != parent || reply.Channel != channelID {
			t.Errorf("update went to channel %q thread %q, want %s thread %s", reply.Channel, reply.ThreadTS, channelID, parent)
		}
		sameBlocks(t, reply, Render(changed, opts))

		time.Sleep(4*time.Hour + time.Minute)
		synctest.Wait()
		reminder := fake.got("chat.postMessage")[2]
		if reminder.ThreadTS != parent || !strings.HasPrefix(header(t, reminder), ":alarm_clock: Still open · Drift changed") {
			t.Errorf("reminder: thread %q header %q", reminder.ThreadTS, header(t, reminder))
		}

		publish(driftEvent(notifications.KindDriftResolved))
		posts = fake.got("chat.postMessage")
		if len(posts) != 4 || posts[3].ThreadTS != parent || !strings.Contains(header(t, posts[3]), "Drift resolved") {
			t.Fatalf("resolution reply: %d posts, last in thread %q", len(posts), posts[len(posts)-1].ThreadTS)
		}
		updates := fake.got("chat.update")
		if len(updates) != 1 || updates[0].Channel != channelID || updates[0].TS != parent {
			t.Fatalf("chat.update calls %+v, want one for %s %s", updates, channelID, parent)
		}
		if h := header(t, updates[0]); h != ":white_check_mark: Resolved · Drift changed · web-prod" {
			t.Errorf("updated parent header = %q", h)
		}
		if !strings.Contains(string(updates[0].Blocks), "/spec/replicas: git: 3  live: 5") {
			t.Errorf("updated parent lost the last diff: %s", updates[0].Blocks)
		}

		for _, dl := range res.all() {
			if dl.Status != notifications.StatusSent && dl.Reason != notifications.ReasonUnchanged {
				t.Errorf("delivery %+v", dl)
			}
		}
	})
}

func TestBotHonoursRetryAfter(t *testing.T) {
	fake := newFakeSlack(t)
	fake.setScript(func(method string, n int) reply {
		if n == 1 {
			return reply{retryAfter: "7"}
		}
		return reply{}
	})
	synctest.Test(t, func(t *testing.T) {
		d, res, stop := run(t, fake.bot(t), notifications.Options{})
		defer stop()
		begin := time.Now()
		d.Publish(driftEvent(notifications.KindApplyFailed))
		time.Sleep(time.Minute)
		synctest.Wait()
		got := res.all()
		if len(got) != 1 || got[0].Status != notifications.StatusSent || got[0].Attempts != 2 {
			t.Fatalf("deliveries %+v, want one sent after 2 attempts", got)
		}
		if waited := got[0].Time.Sub(begin); waited < 7*time.Second {
			t.Errorf("retried after %s, want at least the 7s Retry-After", waited)
		}
		if n := len(fake.got("chat.postMessage")); n != 2 {
			t.Errorf("server saw %d posts, want 2", n)
		}
	})
}

func TestBotReportsInvalidAuthOnce(t *testing.T) {
	fake := newFakeSlack(t)
	fake.setScript(func(string, int) reply { return reply{slackError: "invalid_auth"} })
	synctest.Test(t, func(t *testing.T) {
		d, res, stop := run(t, fake.bot(t), notifications.Options{})
		defer stop()
		for i := range 3 {
			ev := driftEvent(notifications.KindApplyFailed)
			ev.Revision = fmt.Sprint(i)
			d.Publish(ev)
			synctest.Wait()
		}
		if n := len(fake.got("chat.postMessage")); n != 3 {
			t.Errorf("server saw %d posts, want 3 (one per event, never retried)", n)
		}
		got := res.all()
		if len(got) != 1 {
			t.Fatalf("deliveries %+v, want the failure reported once", got)
		}
		want := notifications.Delivery{Status: notifications.StatusFailed, Reason: "invalid_auth", Attempts: 1,
			Err: "slack notifier oncall: post message: invalid_auth"}
		if got[0].Status != want.Status || got[0].Reason != want.Reason || got[0].Attempts != 1 || got[0].Err != want.Err {
			t.Errorf("delivery %+v, want %+v", got[0], want)
		}

		fake.setScript(nil)
		d.Publish(driftEvent(notifications.KindApplyFailed))
		synctest.Wait()
		if got := res.all(); len(got) != 2 || got[1].Status != notifications.StatusSent || got[1].Missed != 2 {
			t.Errorf("recovery delivery %+v, want sent with 2 missed", got[len(got)-1])
		}
	})
}

func TestBotClassifiesErrors(t *testing.T) {
	tests := []struct {
		name       string
		reply      reply
		permanent  bool
		reason     string
		retryAfter bool
	}{
		{"invalid_auth", reply{slackError: "invalid_auth"}, true, "invalid_auth", false},
		{"channel_not_found", reply{slackError: "channel_not_found"}, true, "channel_not_found", false},
		{"not_in_channel", reply{slackError: "not_in_channel"}, true, "not_in_channel", false},
		{"token_revoked", reply{slackError: "token_revoked"}, true, "token_revoked", false},
		{"account_inactive", reply{slackError: "account_inactive"}, true, "account_inactive", false},
		{"internal_error is retryable", reply{slackError: "internal_error"}, false, "", false},
		{"429", reply{retryAfter: "3"}, false, "", true},
		{"500", reply{status: 500}, false, "", false},
		{"404", reply{status: 404}, true, "http 404", false},
	}
	fake := newFakeSlack(t)
	n := fake.bot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.setScript(func(string, int) reply { return tt.reply })
			_, err := n.Send(t.Context(), notifications.Message{Op: notifications.OpPost, Event: driftEvent(notifications.KindApplyFailed)})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if got := notifications.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.permanent)
			}
			if pe, ok := errors.AsType[*notifications.PermanentError](err); ok && pe.Reason != tt.reason {
				t.Errorf("reason %q, want %q", pe.Reason, tt.reason)
			}
			if ra, ok := errors.AsType[*notifications.RetryAfterError](err); ok != tt.retryAfter || (ok && ra.After != 3*time.Second) {
				t.Errorf("retry-after = %v (%v), want %v", ok, ra, tt.retryAfter)
			}
			if !strings.HasPrefix(err.Error(), "slack notifier oncall: post message: ") || strings.Contains(err.Error(), testToken) {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestWebhookModePostsSameBlocksWithoutThreads(t *testing.T) {
	fake := newFakeSlack(t)
	synctest.Test(t, func(t *testing.T) {
		n, err := NewWebhook("oncall-hook", fake.hookURL(), WithHTTPClient(client()), WithPublicURL("https://trueup.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		d, res, stop := run(t, n, notifications.Options{})
		defer stop()
		opened := driftEvent(notifications.KindDriftOpened, driftFields...)
		resolved := driftEvent(notifications.KindDriftResolved)
		for _, ev := range []notifications.Event{opened, driftEvent(notifications.KindDriftUpdated, driftFields[:1]...), resolved} {
			d.Publish(ev)
			synctest.Wait()
		}
		hooks := fake.got("webhook")
		if len(hooks) != 3 {
			t.Fatalf("webhook received %d messages, want 3", len(hooks))
		}
		for _, h := range hooks {
			if h.ThreadTS != "" {
				t.Errorf("webhook message with thread_ts %q", h.ThreadTS)
			}
		}
		sameBlocks(t, hooks[0], Render(opened, opts))
		sameBlocks(t, hooks[2], Render(resolved, opts))
		if n := len(fake.got("chat.postMessage")) + len(fake.got("chat.update")); n != 0 {
			t.Errorf("webhook mode called the Web API %d times", n)
		}
		for _, dl := range res.all() {
			if dl.Status != notifications.StatusSent || dl.Op != notifications.OpPost {
				t.Errorf("delivery %+v", dl)
			}
		}
	})
}

func TestWebhookModeErrorsHideTheURL(t *testing.T) {
	fake := newFakeSlack(t)
	n, err := NewWebhook("oncall-hook", fake.hookURL(), WithHTTPClient(client()))
	if err != nil {
		t.Fatal(err)
	}
	msg := notifications.Message{Op: notifications.OpPost, Event: driftEvent(notifications.KindApplyFailed)}

	fake.setScript(func(string, int) reply { return reply{status: 404, slackError: "no_service"} })
	_, err = n.Send(t.Context(), msg)
	if !notifications.IsPermanent(err) || strings.Contains(err.Error(), "XXXXhooksecretXXXX") {
		t.Errorf("404: %v (permanent %v)", err, notifications.IsPermanent(err))
	}

	fake.srv.Stop()
	_, err = n.Send(t.Context(), msg)
	if err == nil || notifications.IsPermanent(err) {
		t.Fatalf("unreachable: %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "XXXXhooksecretXXXX") || !strings.HasPrefix(err.Error(), "slack notifier oncall-hook: post webhook: ") {
		t.Errorf("unreachable: error text %q", err)
	}
}

func TestTestAgainstSlacktest(t *testing.T) {
	srv := slacktest.NewTestServer() // slacktest's own chat.postMessage
	srv.Start()
	defer srv.Stop()
	n, err := NewBot("oncall", testToken, WithChannel("C0TEST"), WithAPIURL(srv.GetAPIURL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rc, err := n.Test(ctx)
	if err != nil || rc.Channel != "C0TEST" || rc.TS == "" {
		t.Errorf("Test = %+v, %v; want channel C0TEST and a ts", rc, err)
	}
}

func TestNotifierNeverPrintsSecrets(t *testing.T) {
	bot, err := NewBot("oncall", testToken, WithChannel(channelName))
	if err != nil {
		t.Fatal(err)
	}
	hook, err := NewWebhook("hook", "https://hooks.slack.com"+hookPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Notifier{bot, hook} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			s := fmt.Sprintf(format, n)
			if strings.Contains(s, testToken) || strings.Contains(s, "XXXXhooksecretXXXX") {
				t.Errorf("%s prints a secret: %s", format, s)
			}
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		new  func() (*Notifier, error)
		want string
	}{
		{"bot without channel", func() (*Notifier, error) { return NewBot("a", "xoxb-1") }, "slack notifier a: bot mode needs a channel"},
		{"bot without token", func() (*Notifier, error) { return NewBot("a", "", WithChannel("c")) }, "slack notifier a: token is empty"},
		{"webhook not a URL", func() (*Notifier, error) { return NewWebhook("a", "hooks.slack.com/x") }, "slack notifier a: webhook URL is not an absolute URL"},
		{"no name", func() (*Notifier, error) { return NewWebhook("", "https://x") }, "slack notifier: name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.new(); err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
