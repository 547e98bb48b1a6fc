package cloudtrail

import (
	"bytes"
	"context"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// TestQueue: on moto's SQS, a message sent is received with its body and,
// once deleted, is not received again.
func TestQueue(t *testing.T) {
	env := motoenv.Shared(t)
	ctx := context.Background()
	cli := sqs.NewFromConfig(env.AWSConfig())
	q := motoenv.Must(cli.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: awssdk.String("trueup-events"),
		Attributes: map[string]string{"VisibilityTimeout": "1"}}))(t)
	body := awsfixtures.Call{Account: account, Source: "s3.amazonaws.com", Name: "PutBucketPolicy", Time: t0, ID: "1",
		Params: map[string]any{"bucketName": "logs"}}.EventBridge()
	motoenv.Must(cli.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: awssdk.String(string(body))}))(t)

	queue := NewQueue(env.AWSConfig(), awssdk.ToString(q.QueueUrl), time.Second)
	msgs, err := queue.Receive(ctx)
	if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Body, body) || msgs[0].ID == "" {
		t.Fatalf("receive = %d messages, %v", len(msgs), err)
	}
	if err := queue.Delete(ctx, msgs[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the visibility timeout: an undeleted message would be back
	if again, err := queue.Receive(ctx); err != nil || len(again) != 0 {
		t.Fatalf("after delete: %d messages, %v", len(again), err)
	}
}

func TestQueueRegion(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://sqs.us-east-1.amazonaws.com/123456789012/trueup-events", "us-east-1"},
		{"https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"},
		{"https://eu-west-1.queue.amazonaws.com/123456789012/q", "eu-west-1"},
		{"http://127.0.0.1:5000/123456789012/q", ""},
		{"https://sqs.amazonaws.com/123456789012/q", ""},
	}
	for _, tt := range tests {
		if got := queueRegion(tt.url); got != tt.want {
			t.Errorf("queueRegion(%s) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
