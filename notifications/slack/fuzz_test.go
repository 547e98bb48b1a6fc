package slack

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/notifications"
)

// FuzzRender feeds arbitrary text into every field an event takes from Git,
// the cluster or a cloud. Every message shape must stay valid JSON within
// Slack's limits with no mention, and masked values must have no influence
// on the output at all: rendering the same event with the masked values
// replaced gives the same bytes. (That is the sensible form of "a secret
// never shows": the secret's text may legitimately appear when the same
// text is also in an unmasked field, but then it came from there.)
func FuzzRender(f *testing.F) {
	f.Add("Deployment.apps/prod/web", "/spec/replicas", "5", "3", "kubectl-edit", "boom", "web-prod", "hunter2-password", uint8(0), uint8(1))
	f.Add("<!here>", "@channel", "```", "``", "<@U123>", "&amp; <https://evil|click>", "@everyone", "s3cr3t", uint8(3), uint8(200))
	f.Add(strings.Repeat("é", 2000), strings.Repeat("😀", 900), strings.Repeat("&", 3000), "\xff\xfe", "\n```\n", strings.Repeat("`", 99), "t", "x", uint8(7), uint8(60))
	f.Add("", "", "", "", "", "", "", "", uint8(9), uint8(0))
	f.Fuzz(func(t *testing.T, object, path, live, desired, actor, message, target, secret string, kind, n uint8) {
		ev := fuzzEvent(object, path, live, desired, actor, message, target, kind, n)
		withSecret := maskWith(ev, secret)
		without := maskWith(ev, "placeholder")
		for name, render := range shapes() {
			got := render(withSecret)
			checkPayload(t, got)
			if a, b := marshal(t, got), marshal(t, render(without)); !bytes.Equal(a, b) {
				t.Fatalf("%s: masked values change the output:\n%s\nvs\n%s", name, a, b)
			}
			if len(secret) >= 6 && strings.Contains(texts(got), escape(secret)) &&
				!strings.Contains(texts(render(without)), escape(secret)) {
				t.Fatalf("%s: the masked value %q shows", name, secret)
			}
		}
	})
}

func fuzzEvent(object, path, live, desired, actor, message, target string, kind, n uint8) notifications.Event {
	kinds := notifications.Kinds()
	ev := notifications.Event{
		Kind: kinds[int(kind)%len(kinds)], Severity: notifications.Severity(int(kind) % 3),
		Target: target, Object: object, Actor: actor, Message: message, Policy: message,
		Destination: notifications.Destination{Kind: notifications.DestinationCluster, Name: target},
		Episode:     object, Revision: actor, Mode: actor, Resolution: actor,
		CommitURL: "https://git.example.com/" + path, PRURL: path, DetailsURL: object,
		Since: t0.Add(-time.Hour), Time: t0,
	}
	for i := range int(n % 48) {
		ev.Fields = append(ev.Fields, notifications.Field{Path: path, Live: live, Desired: desired, Actor: actor})
		if i%3 == 0 {
			ev.Fields = append(ev.Fields, notifications.Field{Path: path + "/secret", Masked: true, Actor: actor})
		}
	}
	return ev
}

// maskWith returns ev with every masked field holding secret.
func maskWith(ev notifications.Event, secret string) notifications.Event {
	fields := make([]notifications.Field, len(ev.Fields))
	for i, f := range ev.Fields {
		if f.Masked {
			f.Live, f.Desired = secret, map[string]any{"old": secret}
		}
		fields[i] = f
	}
	ev.Fields = fields
	return ev
}

// shapes are every way a notifier renders an event.
func shapes() map[string]func(notifications.Event) Payload {
	msg := func(m notifications.Message) func(notifications.Event) Payload {
		return func(ev notifications.Event) Payload {
			m := m
			m.Event = ev
			m.Thread.Last = ev
			return RenderMessage(m, opts)
		}
	}
	return map[string]func(notifications.Event) Payload{
		"event":    func(ev notifications.Event) Payload { return Render(ev, opts) },
		"reminder": msg(notifications.Message{Op: notifications.OpReply, Note: notifications.NoteReminder}),
		"flapping": msg(notifications.Message{Note: notifications.NoteFlapping, Flapping: notifications.Flapping{Opens: 6, Window: time.Hour}}),
		"parent":   msg(notifications.Message{Op: notifications.OpUpdate, Thread: notifications.Thread{TS: "1.1"}}),
	}
}

func marshal(t *testing.T, p Payload) []byte {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
