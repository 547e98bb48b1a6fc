package config

import (
	"net/url"
	"strings"
	"time"
)

// AccountEvents is an SQS queue that an EventBridge rule fills with the
// account's CloudTrail management events (detail-type "AWS API Call via
// CloudTrail").
type AccountEvents struct {
	// SQSQueueURL is the queue's URL,
	// https://sqs.<region>.amazonaws.com/<account>/<name>.
	SQSQueueURL string `json:"sqsQueueURL"`
	// WaitTimeSeconds is the long-polling wait of a receive, 1 to 20
	// (default 20).
	WaitTimeSeconds int `json:"waitTimeSeconds,omitempty"`
}

// Wait is the long-polling wait (20 s when unset).
func (e *AccountEvents) Wait() time.Duration {
	if e.WaitTimeSeconds == 0 {
		return 20 * time.Second
	}
	return time.Duration(e.WaitTimeSeconds) * time.Second
}

// AccountCloudTrail attributes drift with CloudTrail when no event did:
// LookupEvents by resource name, and the trail's gzip JSON log files under
// s3://S3Bucket/Prefix/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/.
type AccountCloudTrail struct {
	// LookupEvents asks CloudTrail's LookupEvents API (90 days of
	// management events; 2 requests per second per account). Default true.
	LookupEvents *bool `json:"lookupEvents,omitempty"`
	// S3Bucket holds the trail's log files; empty reads none.
	S3Bucket string `json:"s3Bucket,omitempty"`
	// Prefix is the trail's S3 key prefix, if it has one.
	Prefix string `json:"prefix,omitempty"`
	// Days is how many days of log files back from today are read, 1 to
	// 90 (default 1).
	Days int `json:"days,omitempty"`
}

// Lookup reports whether LookupEvents is asked.
func (c *AccountCloudTrail) Lookup() bool { return c.LookupEvents == nil || *c.LookupEvents }

func validateAccountEvents(e *errs, p string, a *Account) {
	if ev := a.Events; ev != nil {
		ep := field(p, "events")
		switch u, err := url.Parse(ev.SQSQueueURL); {
		case ev.SQSQueueURL == "":
			e.add(field(ep, "sqsQueueURL"), "required, like https://sqs.%s.amazonaws.com/%s/trueup-events", regionOr(a.Region), a.AccountID)
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "":
			e.add(field(ep, "sqsQueueURL"), "want the queue's URL, like https://sqs.%s.amazonaws.com/%s/trueup-events", regionOr(a.Region), a.AccountID)
		case u.User != nil:
			e.add(field(ep, "sqsQueueURL"), "must not carry credentials: trueup uses the account's")
		}
		if w := ev.WaitTimeSeconds; w < 0 || w > 20 {
			e.add(field(ep, "waitTimeSeconds"), "want 1 to 20 (SQS long polling; default 20), got %d", w)
		}
	}
	if ct := a.CloudTrail; ct != nil {
		cp := field(p, "cloudTrail")
		if ct.S3Bucket == "" && !ct.Lookup() {
			e.add(cp, "set s3Bucket, or leave lookupEvents on: otherwise it reads nothing")
		}
		if ct.S3Bucket != "" && strings.ContainsAny(ct.S3Bucket, "/: ") {
			e.add(field(cp, "s3Bucket"), "want a bucket name (no s3:// and no path; put the path in prefix), got %q", ct.S3Bucket)
		}
		if ct.Days < 0 || ct.Days > 90 {
			e.add(field(cp, "days"), "want 1 to 90 (default 1), got %d", ct.Days)
		}
		if ct.S3Bucket == "" && (ct.Prefix != "" || ct.Days != 0) {
			e.add(field(cp, "s3Bucket"), "required with prefix or days")
		}
	}
}

func regionOr(r string) string {
	if r == "" {
		return "eu-west-1"
	}
	return r
}
