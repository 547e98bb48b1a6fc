package notifications

import "time"

// Status is the outcome of one delivery.
type Status string

const (
	// StatusSent: the destination accepted the message.
	StatusSent Status = "sent"
	// StatusFailed: the destination refused it, or retries ran out.
	StatusFailed Status = "failed"
	// StatusDropped: the event never reached the notifier (queue full, shutdown).
	StatusDropped Status = "dropped"
	// StatusSuppressed: deliberately not sent (unchanged, flapping, nothing to resolve).
	StatusSuppressed Status = "suppressed"
)

// Reasons for dropped and suppressed deliveries (Delivery.Reason). A failed
// delivery's Reason is the permanent error's reason, or "retries exhausted".
const (
	ReasonQueueFull    = "queue full"
	ReasonShutdown     = "shutdown"
	ReasonUnchanged    = "unchanged"
	ReasonFlapping     = "flapping"
	ReasonNotAnnounced = "episode not announced"
	ReasonResolved     = "episode already resolved"
	ReasonExhausted    = "retries exhausted"
)

// Delivery reports what happened to one message for one notifier. The
// reconciler records it in its history. Err never holds a secret.
type Delivery struct {
	Notifier string `json:"notifier"`
	Kind     Kind   `json:"kind"`
	Op       Op     `json:"op,omitempty"`
	Note     Note   `json:"note,omitempty"`
	Episode  string `json:"episode,omitempty"`
	Target   string `json:"target,omitempty"`
	Object   string `json:"object,omitempty"`
	Status   Status `json:"status"`
	Reason   string `json:"reason,omitempty"`
	// Attempts is how many times Send was called for this message.
	Attempts int    `json:"attempts,omitempty"`
	Err      string `json:"error,omitempty"`
	// Channel and TS locate the Slack message that was posted or updated.
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	// Missed counts events not reported one by one: for a dropped delivery,
	// how many events the queue dropped (this one is the latest); for a sent
	// delivery, how many events failed silently with an already reported
	// permanent error since the last report.
	Missed int       `json:"missed,omitempty"`
	Time   time.Time `json:"time"`
}
