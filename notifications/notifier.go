package notifications

import (
	"context"
	"time"
)

// Notifier delivers messages to one destination (a Slack channel, a
// webhook, a log). Implementations live in subpackages; the Dispatcher
// drives them, one goroutine per notifier, so Send is never called
// concurrently on one notifier by the Dispatcher.
//
// Send performs one attempt: it does not retry. It returns an error that
// wraps ErrPermanent (via Permanent) when retrying cannot help, a
// *RetryAfterError when the server asked to wait, and any other error when
// a retry may succeed. Errors never contain a token, webhook URL or secret.
type Notifier interface {
	// Name is the notifier's configured name, unique within a Dispatcher.
	Name() string
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Repeater is implemented by notifiers that want a reminder while an
// episode stays open. A zero interval means no reminders.
type Repeater interface {
	RepeatInterval() time.Duration
}

// Tester is implemented by notifiers that `trueup notify test` can exercise.
type Tester interface {
	// Test sends TestEvent and returns what the destination answered.
	Test(ctx context.Context) (Receipt, error)
}

// Op is what a message does at the destination.
type Op string

const (
	// OpPost posts a new message: an episode's parent, or a one-off event.
	OpPost Op = "post"
	// OpReply posts into Message.Thread (Thread.TS is set).
	OpReply Op = "reply"
	// OpUpdate replaces the parent message of Message.Thread to show the
	// episode resolved; Message.Event is the resolving event and
	// Message.Thread.Last the last event posted in the thread.
	OpUpdate Op = "update"
)

// Note marks a message that the dispatcher generated, not the producer.
type Note string

const (
	// NoteNone: the message carries the producer's event.
	NoteNone Note = ""
	// NoteReminder: the episode in Event is still open (Event is the last
	// event sent in the thread, with Time set to now).
	NoteReminder Note = "reminder"
	// NoteFlapping: Event's object opens episodes too often; new episodes
	// of it are suppressed for a while (see Message.Flapping).
	NoteFlapping Note = "flapping"
)

// Message is one thing to deliver.
type Message struct {
	Op    Op
	Note  Note
	Event Event
	// Thread is the episode's parent message for OpReply and OpUpdate;
	// zero for OpPost.
	Thread Thread
	// Flapping describes the burst when Note is NoteFlapping.
	Flapping Flapping
}

// Flapping is how often an object opened episodes.
type Flapping struct {
	Opens  int
	Window time.Duration
}

// Receipt is what the destination answered.
type Receipt struct {
	// Channel and TS identify a posted Slack message (the channel id and
	// message timestamp); empty for destinations without threads.
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	// Detail is a short human-readable answer, e.g. "http 204".
	Detail string `json:"detail,omitempty"`
}
