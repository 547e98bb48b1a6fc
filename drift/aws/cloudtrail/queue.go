package cloudtrail

import (
	"context"
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// DefaultWaitTime is the long-polling wait of a receive (SQS's maximum).
const DefaultWaitTime = 20 * time.Second

// Message is one message of the queue.
type Message struct {
	ID     string
	Body   []byte
	handle string
}

// Queue reads CloudTrail events from an SQS queue with long polling.
type Queue struct {
	client *sqs.Client
	url    string
	wait   time.Duration
}

// NewQueue reads the queue at url with cfg (an account's SDK config: its
// region, endpoint, credentials and retryer). A receive waits up to wait
// (DefaultWaitTime when 0) for a message; its HTTP client allows for that
// wait, whatever the account's per-call deadline.
func NewQueue(cfg awssdk.Config, url string, wait time.Duration) *Queue {
	if wait <= 0 {
		wait = DefaultWaitTime
	}
	cfg = cfg.Copy()
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(wait + 10*time.Second)
	if r := queueRegion(url); r != "" && cfg.BaseEndpoint == nil {
		cfg.Region = r // a queue in another region (IAM's events reach EventBridge in us-east-1)
	}
	return &Queue{client: sqs.NewFromConfig(cfg), url: url, wait: wait}
}

// queueRegion is the region of an AWS queue URL
// (https://sqs.<region>.amazonaws.com/<account>/<name>, or the legacy
// https://<region>.queue.amazonaws.com/...), "" for any other host.
func queueRegion(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	if r, ok := strings.CutPrefix(host, "sqs."); ok {
		if i := strings.Index(r, ".amazonaws.com"); i > 0 {
			return r[:i]
		}
	}
	if i := strings.Index(host, ".queue.amazonaws.com"); i > 0 {
		return host[:i]
	}
	return ""
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Receive waits for up to ten messages, at most the queue's wait time.
func (q *Queue) Receive(ctx context.Context) ([]Message, error) {
	out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: awssdk.String(q.url), MaxNumberOfMessages: 10, WaitTimeSeconds: int32(q.wait / time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("sqs queue %s: receive: %w", q.url, err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msgs = append(msgs, Message{ID: awssdk.ToString(m.MessageId), Body: []byte(awssdk.ToString(m.Body)), handle: awssdk.ToString(m.ReceiptHandle)})
	}
	return msgs, nil
}

// Delete removes a handled message from the queue.
func (q *Queue) Delete(ctx context.Context, m Message) error {
	if _, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: awssdk.String(q.url), ReceiptHandle: awssdk.String(m.handle)}); err != nil {
		return fmt.Errorf("sqs queue %s: delete message %s: %w", q.url, m.ID, err)
	}
	return nil
}
