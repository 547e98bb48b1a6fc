package log

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/trueup-dev/trueup/notifications"
)

var (
	_ notifications.Notifier = (*Notifier)(nil)
	_ notifications.Tester   = (*Notifier)(nil)
)

// Message is the constant log message of every notification.
const Message = "notification"

// maxFields caps the diff lines logged per event.
const maxFields = 20

// Notifier writes each event to a slog.Logger: info events at Info,
// warnings at Warn, critical at Error.
type Notifier struct {
	name   string
	logger *slog.Logger
}

// New returns a log notifier named name writing to logger.
func New(name string, logger *slog.Logger) *Notifier {
	return &Notifier{name: name, logger: logger}
}

// Name implements notifications.Notifier.
func (n *Notifier) Name() string { return n.name }

// Send implements notifications.Notifier; it never fails.
func (n *Notifier) Send(ctx context.Context, m notifications.Message) (notifications.Receipt, error) {
	if m.Op == notifications.OpUpdate {
		return notifications.Receipt{}, nil // the resolving event was logged as its own line
	}
	ev := m.Event.Redacted()
	n.logger.LogAttrs(ctx, level(ev.Severity), Message, attrs(n.name, m, ev)...)
	return notifications.Receipt{Detail: "logged"}, nil
}

// Test implements notifications.Tester.
func (n *Notifier) Test(ctx context.Context) (notifications.Receipt, error) {
	return n.Send(ctx, notifications.Message{Op: notifications.OpPost, Event: notifications.TestEvent(time.Now())})
}

func level(s notifications.Severity) slog.Level {
	switch {
	case s >= notifications.SeverityCritical:
		return slog.LevelError
	case s == notifications.SeverityWarning:
		return slog.LevelWarn
	default:
		return slog.LevelInfo
	}
}

// attrs are the event's non-empty fields as key/values.
func attrs(name string, m notifications.Message, ev notifications.Event) []slog.Attr {
	out := []slog.Attr{
		slog.String("notifier", name),
		slog.String("kind", string(ev.Kind)),
		slog.String("severity", ev.Severity.String()),
		slog.String("target", ev.Target),
	}
	add := func(key, value string) {
		if value != "" {
			out = append(out, slog.String(key, value))
		}
	}
	add("note", string(m.Note))
	destKey := ev.Destination.Kind
	if destKey == "" {
		destKey = "destination"
	}
	add(destKey, ev.Destination.Name)
	add("object", ev.Object)
	add("episode", ev.Episode)
	add("revision", ev.Revision)
	add("actor", ev.Actor)
	add("mode", ev.Mode)
	add("resolution", ev.Resolution)
	add("policy", ev.Policy)
	add("message", ev.Message)
	add("commitURL", ev.CommitURL)
	add("prURL", ev.PRURL)
	add("detailsURL", ev.DetailsURL)
	if !ev.Since.IsZero() {
		out = append(out, slog.Time("since", ev.Since))
	}
	if len(ev.Fields) > 0 {
		out = append(out, slog.Any("fields", diff(ev.Fields)))
	}
	return out
}

// diff is one "path: git: G  live: L" line per field (notifications.GitLive) (masked fields show
// <masked>), at most maxFields, then a count of the rest.
func diff(fields []notifications.Field) []string {
	var out []string
	for i, f := range fields {
		if i == maxFields {
			out = append(out, "… and "+strconv.Itoa(len(fields)-maxFields)+" more")
			break
		}
		desired, live := f.Display()
		out = append(out, f.Path+": "+notifications.GitLive(desired, live))
	}
	return out
}
