package notifications

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Kind names what happened.
type Kind string

// The event kinds. A kind is episodic when its event carries an Episode; the
// two resolving kinds close the episode they name.
const (
	KindDriftOpened         Kind = "drift.opened"
	KindDriftUpdated        Kind = "drift.updated"
	KindDriftResolved       Kind = "drift.resolved"
	KindApplySucceeded      Kind = "apply.succeeded"
	KindApplyFailed         Kind = "apply.failed"
	KindPruneBlocked        Kind = "prune.blocked"
	KindSourceFailed        Kind = "source.failed"
	KindComplianceViolation Kind = "compliance.violation"
	KindComplianceResolved  Kind = "compliance.resolved"
	// KindFreezeHeld: a freeze window holds a new revision (told once).
	KindFreezeHeld Kind = "freeze.held"
	// KindTest is the event `trueup notify test` sends.
	KindTest Kind = "test"
)

// Kinds returns every kind, in a stable order.
func Kinds() []Kind {
	return []Kind{
		KindDriftOpened, KindDriftUpdated, KindDriftResolved,
		KindApplySucceeded, KindApplyFailed, KindPruneBlocked, KindSourceFailed,
		KindComplianceViolation, KindComplianceResolved, KindFreezeHeld, KindTest,
	}
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, known := range Kinds() {
		if k == known {
			return true
		}
	}
	return false
}

// Resolves reports whether an event of this kind closes its episode.
func (k Kind) Resolves() bool {
	return k == KindDriftResolved || k == KindComplianceResolved
}

// ParseKind returns the kind named s.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); k.Valid() {
		return k, nil
	}
	return "", fmt.Errorf("unknown event kind %q", s)
}

// Destination kinds.
const (
	DestinationCluster = "cluster"
	DestinationAccount = "account"
)

// Destination is where a target is reconciled into.
type Destination struct {
	// Kind is "cluster" or "account".
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Remediation modes for live drift (Event.Mode).
const (
	ModeHeal        = "heal"
	ModePullRequest = "pull-request"
	ModeAlert       = "alert"
)

// How an episode was resolved (Event.Resolution).
const (
	ResolutionHealed   = "healed"
	ResolutionAdopted  = "adopted"
	ResolutionAccepted = "accepted"
	ResolutionGone     = "gone"
)

// Event is something the reconciler wants people to know about. The
// producer fills it from its own types; every value in it is already masked.
type Event struct {
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	Target   string   `json:"target"`
	// TargetLabels are the target's labels from the config, for routing.
	TargetLabels map[string]string `json:"targetLabels,omitempty"`
	Destination  Destination       `json:"destination"`
	// Object is the object the event is about: Deployment.apps/prod/web.
	Object string `json:"object,omitempty"`
	// Episode is the drift episode id or compliance finding id. Events with
	// the same Episode share one thread; empty for one-off events.
	Episode    string `json:"episode,omitempty"`
	Revision   string `json:"revision,omitempty"`
	CommitURL  string `json:"commitURL,omitempty"`
	PRURL      string `json:"prURL,omitempty"`
	DetailsURL string `json:"detailsURL,omitempty"`
	// Since is when the object started to drift (or to violate the policy).
	Since time.Time `json:"since,omitzero"`
	// Actor is the field manager or cloud principal that made the change.
	Actor string `json:"actor,omitempty"`
	// Mode is what trueup does about live drift: heal, pull-request, alert.
	Mode string `json:"mode,omitempty"`
	// Resolution is how a resolved episode ended: healed, adopted, accepted, gone.
	Resolution string  `json:"resolution,omitempty"`
	Fields     []Field `json:"fields,omitempty"`
	// Message is an error text or a policy message.
	Message string    `json:"message,omitempty"`
	Policy  string    `json:"policy,omitempty"`
	Time    time.Time `json:"time"`
}

// Field is one changed field of a drifted object.
type Field struct {
	Path string `json:"path"`
	// Desired (Git's, JSON "git") and Live are JSON-like values (nil when
	// absent), already masked by the producer when Masked is set; Git's
	// comes first, as in every renderer (GitLive).
	Desired any  `json:"git,omitempty"`
	Live    any  `json:"live,omitempty"`
	Masked  bool `json:"masked,omitempty"`
	// Actor is who last wrote this field, when it differs per field.
	Actor string `json:"actor,omitempty"`
	// LiveDigest tells one masked live value from another without carrying
	// it (drift.FieldDiff.LiveDigest); it is never encoded or shown.
	LiveDigest string `json:"-"`
}

// MaskedValue is what every notifier shows for both sides of a masked field.
const MaskedValue = "<masked>"

// Absent is how a missing value (nil) is shown.
const Absent = "(absent)"

// Display returns the desired and live values as one-line text: compact
// JSON, Absent for nil, and MaskedValue on both sides of a masked field
// whatever the producer put there (defence in depth).
func (f Field) Display() (desired, live string) {
	if f.Masked {
		return MaskedValue, MaskedValue
	}
	return FormatValue(f.Desired), FormatValue(f.Live)
}

// GitLive is how every renderer shows a field's two values: Git's first,
// then live, each labelled ("git: 2  live: 5"), so that no reader has to
// guess which way an arrow points.
func GitLive(git, live string) string { return "git: " + git + "  live: " + live }

// FormatValue renders a JSON-like value as compact one-line JSON.
func FormatValue(v any) string {
	if v == nil {
		return Absent
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// Redacted returns a copy of ev whose masked fields hold MaskedValue on
// both sides, so nothing a producer left in them can travel further.
func (ev Event) Redacted() Event {
	if len(ev.Fields) == 0 {
		return ev
	}
	fields := make([]Field, len(ev.Fields))
	for i, f := range ev.Fields {
		if f.Masked {
			f.Live, f.Desired = MaskedValue, MaskedValue
		}
		fields[i] = f
	}
	ev.Fields = fields
	return ev
}

// TestEvent is the event `trueup notify test` sends.
func TestEvent(now time.Time) Event {
	return Event{
		Kind:     KindTest,
		Severity: SeverityInfo,
		Message:  "This is a test notification from trueup. If you can read it, this notifier works.",
		Time:     now,
	}
}
