package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const accountBase = header + `sources: [{name: platform, url: https://git.example.com/platform.git}]
accounts:
  - name: prod
    provider: aws
    accountID: "123456789012"
    region: eu-west-1
`

func TestAccountEventsConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the errors; none: valid
	}{
		{name: "valid events and cloudTrail", yaml: accountBase +
			"    events: {sqsQueueURL: https://sqs.eu-west-1.amazonaws.com/123456789012/trueup-events, waitTimeSeconds: 5}\n" +
			"    cloudTrail: {s3Bucket: org-trail, prefix: org, days: 2}\n"},
		{name: "lookup only", yaml: accountBase + "    cloudTrail: {}\n"},
		{name: "queue URL required", yaml: accountBase + "    events: {}\n",
			want: []string{`accounts[0].events.sqsQueueURL: required, like https://sqs.eu-west-1.amazonaws.com/123456789012/trueup-events`}},
		{name: "queue URL not a URL", yaml: accountBase + "    events: {sqsQueueURL: trueup-events}\n",
			want: []string{`accounts[0].events.sqsQueueURL: want the queue's URL`}},
		{name: "queue URL with credentials", yaml: accountBase + "    events: {sqsQueueURL: 'https://AKIA:secret@sqs.eu-west-1.amazonaws.com/1/q'}\n",
			want: []string{`accounts[0].events.sqsQueueURL: must not carry credentials`}},
		{name: "wait out of range", yaml: accountBase + "    events: {sqsQueueURL: https://sqs.eu-west-1.amazonaws.com/1/q, waitTimeSeconds: 30}\n",
			want: []string{`accounts[0].events.waitTimeSeconds: want 1 to 20`}},
		{name: "unknown events field", yaml: accountBase + "    events: {sqsQueueUrl: https://sqs.eu-west-1.amazonaws.com/1/q}\n",
			want: []string{`accounts[0].events.sqsQueueUrl: unknown field (did you mean "sqsQueueURL"?)`}},
		{name: "cloudTrail reads nothing", yaml: accountBase + "    cloudTrail: {lookupEvents: false}\n",
			want: []string{`accounts[0].cloudTrail: set s3Bucket, or leave lookupEvents on`}},
		{name: "bucket is a name", yaml: accountBase + "    cloudTrail: {s3Bucket: 's3://org-trail/org', days: 91}\n",
			want: []string{`accounts[0].cloudTrail.s3Bucket: want a bucket name`, `accounts[0].cloudTrail.days: want 1 to 90`}},
		{name: "prefix needs bucket", yaml: accountBase + "    cloudTrail: {prefix: org}\n",
			want: []string{`accounts[0].cloudTrail.s3Bucket: required with prefix or days`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("want Errors, got %v (%+v)", err, cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(fe.Error(), w) {
					t.Errorf("missing %q in:\n%s", w, fe.Error())
				}
			}
			if strings.Contains(fe.Error(), "secret") {
				t.Errorf("the error quotes the credentials:\n%s", fe.Error())
			}
		})
	}
	cfg, err := Parse([]byte(accountBase + "    events: {sqsQueueURL: https://sqs.eu-west-1.amazonaws.com/1/q}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Accounts[0].Events.Wait(); w != 20*time.Second {
		t.Fatalf("default wait = %s, want 20s", w)
	}
}
