package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trueup-dev/trueup/drift"
)

// DetailType is the detail-type of CloudTrail management events that
// EventBridge delivers.
const DetailType = "AWS API Call via CloudTrail"

// MaxBodyBytes caps an event body: SQS messages are at most 256 KiB, so a
// longer one is not an EventBridge event.
const MaxBodyBytes = 256 << 10

// ErrMalformed marks a body that is not a CloudTrail event in the
// EventBridge envelope; it is dropped, never retried.
var ErrMalformed = errors.New("malformed event")

// Record is one CloudTrail record: the detail of an EventBridge event, or
// one element of a log file's Records. Only the members trueup reads are
// decoded.
type Record struct {
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	EventTime          time.Time       `json:"eventTime"`
	EventID            string          `json:"eventID"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	ReadOnly           *bool           `json:"readOnly,omitempty"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	RecipientAccountID string          `json:"recipientAccountId"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	RequestParameters  json.RawMessage `json:"requestParameters,omitempty"`
	ResponseElements   json.RawMessage `json:"responseElements,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity element.
type UserIdentity struct {
	Type           string          `json:"type"`
	ARN            string          `json:"arn,omitempty"`
	PrincipalID    string          `json:"principalId,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext is the session of temporary credentials.
type SessionContext struct {
	SessionIssuer struct {
		Type     string `json:"type,omitempty"`
		ARN      string `json:"arn,omitempty"`
		UserName string `json:"userName,omitempty"`
	} `json:"sessionIssuer"`
}

// Event is a CloudTrail record as EventBridge delivers it, with the
// envelope's account.
type Event struct {
	// ID is the EventBridge event id.
	ID string
	// Account is the envelope's account.
	Account string
	Record
}

// envelope is the EventBridge event.
type envelope struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Detail     json.RawMessage `json:"detail"`
}

// ParseEventBridge reads an EventBridge event of detail-type "AWS API Call
// via CloudTrail". Anything else is ErrMalformed, with a reason that never
// quotes the body.
func ParseEventBridge(body []byte) (Event, error) {
	if len(body) > MaxBodyBytes {
		return Event{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(body), MaxBodyBytes)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: not a JSON object: %s", ErrMalformed, jsonReason(err))
	}
	if env.DetailType != DetailType {
		return Event{}, fmt.Errorf("%w: detail-type is not %q", ErrMalformed, DetailType)
	}
	ev := Event{ID: env.ID, Account: env.Account}
	if len(bytes.TrimSpace(env.Detail)) == 0 {
		return Event{}, fmt.Errorf("%w: no detail", ErrMalformed)
	}
	if err := json.Unmarshal(env.Detail, &ev.Record); err != nil {
		return Event{}, fmt.Errorf("%w: detail: %s", ErrMalformed, jsonReason(err))
	}
	if err := ev.Record.check(); err != nil {
		return Event{}, err
	}
	if ev.Account == "" {
		return Event{}, fmt.Errorf("%w: no account", ErrMalformed)
	}
	return ev, nil
}

// check requires what mapping and attribution need.
func (r Record) check() error {
	switch {
	case r.EventSource == "":
		return fmt.Errorf("%w: detail has no eventSource", ErrMalformed)
	case r.EventName == "":
		return fmt.Errorf("%w: detail has no eventName", ErrMalformed)
	case r.EventTime.IsZero():
		return fmt.Errorf("%w: detail has no eventTime", ErrMalformed)
	}
	return nil
}

// jsonReason names a JSON error without the input it quotes.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s is a JSON %s", te.Field, te.Value)
	}
	return "invalid JSON"
}

// InAccount reports whether the event belongs to account: both the
// envelope's account and the record's recipientAccountId (when set) must
// be it.
func (e Event) InAccount(account string) bool {
	return e.Account == account && (e.RecipientAccountID == "" || e.RecipientAccountID == account)
}

// Actor is who made the call: the principal's ARN (its principal id when
// CloudTrail gives no ARN, or the AWS service that invoked it), the session
// issuer, the source address, the call and its time.
func (r Record) Actor() drift.Actor {
	id := r.UserIdentity
	a := drift.Actor{Principal: id.ARN, SourceIP: r.SourceIPAddress, Event: r.EventName, Time: r.EventTime}
	if a.Principal == "" {
		a.Principal = id.PrincipalID
	}
	if a.Principal == "" {
		a.Principal = id.InvokedBy
	}
	if a.Principal == "" && id.Type != "" {
		a.Principal = id.Type
	}
	if sc := id.SessionContext; sc != nil {
		a.SessionIssuer = sc.SessionIssuer.ARN
		if a.SessionIssuer == "" {
			a.SessionIssuer = sc.SessionIssuer.UserName
		}
	}
	return a
}
