package cloudtrail

import (
	"errors"
	"strings"
	"testing"
	"time"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
)

const account = "123456789012"

var t0 = time.Date(2026, 12, 7, 3, 4, 5, 0, time.UTC)

// TestParseDocumentedEvent reads an EventBridge event in the shape AWS
// documents and takes the actor from its userIdentity.
func TestParseDocumentedEvent(t *testing.T) {
	ev, err := ParseEventBridge(awsfixtures.EventFile(t, "s3-put-bucket-public-access-block.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !ev.InAccount(account) || ev.InAccount("210987654321") {
		t.Fatalf("InAccount: event of %s / %s", ev.Account, ev.RecipientAccountID)
	}
	a := ev.Actor()
	if a.Principal != "arn:aws:sts::123456789012:assumed-role/Admin/alice" || a.SessionIssuer != "arn:aws:iam::123456789012:role/Admin" ||
		a.SourceIP != "203.0.113.7" || a.Event != "PutBucketPublicAccessBlock" || !a.Time.Equal(t0) {
		t.Fatalf("actor = %+v", a)
	}
	if got := ev.Resources(); len(got) != 1 || got[0] != (Resource{Kind: driftaws.KindS3Bucket, Name: "trueup-logs"}) {
		t.Fatalf("resources = %+v", got)
	}
}

func TestParseMalformed(t *testing.T) {
	good := awsfixtures.Call{Account: account, Source: "s3.amazonaws.com", Name: "PutBucketTagging", Time: t0, ID: "1",
		Params: map[string]any{"bucketName": "b"}}.EventBridge()
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", `{"detail-type": "AWS API Call via CloudTrail", secret-token-here`},
		{"another detail-type", `{"detail-type": "EC2 Instance State-change Notification", "account": "123456789012", "detail": {}}`},
		{"no detail", `{"detail-type": "AWS API Call via CloudTrail", "account": "123456789012"}`},
		{"detail not an object", `{"detail-type": "AWS API Call via CloudTrail", "account": "123456789012", "detail": "x"}`},
		{"no eventTime", strings.Replace(string(good), `"eventTime"`, `"eventTim"`, 1)},
		{"bad eventTime", strings.Replace(string(good), `"eventTime":"2026-12-07T03:04:05Z"`, `"eventTime":"yesterday"`, 1)},
		{"no account", strings.Replace(string(good), `"account":"123456789012"`, `"account":""`, 1)},
		{"too long", string(good) + strings.Repeat(" ", MaxBodyBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEventBridge([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), "secret-token-here") || strings.Contains(err.Error(), "yesterday") {
				t.Fatalf("the error quotes the body: %v", err)
			}
		})
	}
	if _, err := ParseEventBridge(good); err != nil {
		t.Fatalf("good event: %v", err)
	}
}

func TestResources(t *testing.T) {
	sg := func(id, name string) Resource { return Resource{Kind: driftaws.KindSecurityGroup, ID: id, Name: name} }
	tests := []struct {
		name     string
		source   string
		event    string
		params   map[string]any
		response map[string]any
		errCode  string
		want     []Resource
	}{
		{name: "bucket policy", source: "s3.amazonaws.com", event: "PutBucketPolicy", params: map[string]any{"bucketName": "logs"},
			want: []Resource{{Kind: driftaws.KindS3Bucket, Name: "logs"}}},
		{name: "bucket public access block deleted", source: "s3.amazonaws.com", event: "DeleteBucketPublicAccessBlock", params: map[string]any{"bucketName": "logs"},
			want: []Resource{{Kind: driftaws.KindS3Bucket, Name: "logs"}}},
		{name: "object write is data", source: "s3.amazonaws.com", event: "PutObject", params: map[string]any{"bucketName": "logs", "key": "a"}},
		{name: "bucket read", source: "s3.amazonaws.com", event: "GetBucketPolicy", params: map[string]any{"bucketName": "logs"}},
		{name: "failed call", source: "s3.amazonaws.com", event: "PutBucketPolicy", params: map[string]any{"bucketName": "logs"}, errCode: "AccessDenied"},
		{name: "inline role policy", source: "iam.amazonaws.com", event: "PutRolePolicy", params: map[string]any{"roleName": "app", "policyName": "x"},
			want: []Resource{{Kind: driftaws.KindIAMRole, Name: "app"}}},
		{name: "attach to role is the role's", source: "iam.amazonaws.com", event: "AttachRolePolicy",
			params: map[string]any{"roleName": "app", "policyArn": "arn:aws:iam::123456789012:policy/read"},
			want:   []Resource{{Kind: driftaws.KindIAMRole, Name: "app"}}},
		{name: "attach to user is neither", source: "iam.amazonaws.com", event: "AttachUserPolicy",
			params: map[string]any{"userName": "bob", "policyArn": "arn:aws:iam::123456789012:policy/read"}},
		{name: "policy version", source: "iam.amazonaws.com", event: "CreatePolicyVersion",
			params: map[string]any{"policyArn": "arn:aws:iam::123456789012:policy/team/read", "setAsDefault": true},
			want:   []Resource{{Kind: driftaws.KindIAMPolicy, Name: "read"}}},
		{name: "ingress", source: "ec2.amazonaws.com", event: "AuthorizeSecurityGroupIngress", params: map[string]any{"groupId": "sg-0abc"},
			want: []Resource{sg("sg-0abc", "")}},
		{name: "modify rules", source: "ec2.amazonaws.com", event: "ModifySecurityGroupRules",
			params: map[string]any{"ModifySecurityGroupRulesRequest": map[string]any{"GroupId": "sg-0abc"}},
			want:   []Resource{sg("sg-0abc", "")}},
		{name: "tags", source: "ec2.amazonaws.com", event: "CreateTags",
			params: map[string]any{"resourcesSet": map[string]any{"items": []any{map[string]any{"resourceId": "sg-1"}, map[string]any{"resourceId": "i-2"}}}},
			want:   []Resource{sg("sg-1", "")}},
		{name: "create group", source: "ec2.amazonaws.com", event: "CreateSecurityGroup",
			params: map[string]any{"groupName": "web", "groupDescription": "d"}, response: map[string]any{"_return": true, "groupId": "sg-9"},
			want: []Resource{sg("sg-9", "web")}},
		{name: "instance", source: "ec2.amazonaws.com", event: "RunInstances", params: map[string]any{"instanceType": "t3.micro"}},
		{name: "other service", source: "lambda.amazonaws.com", event: "UpdateFunctionConfiguration", params: map[string]any{"functionName": "f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := awsfixtures.Call{Account: account, Source: tt.source, Name: tt.event, Time: t0, ID: "1", Params: tt.params, Response: tt.response}.EventBridge()
			if tt.errCode != "" {
				body = []byte(strings.Replace(string(body), `"eventID"`, `"errorCode":"`+tt.errCode+`","eventID"`, 1))
			}
			ev, err := ParseEventBridge(body)
			if err != nil {
				t.Fatal(err)
			}
			got := ev.Resources()
			if len(got) != len(tt.want) {
				t.Fatalf("resources = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("resources = %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func FuzzParseEventBridge(f *testing.F) {
	f.Add(awsfixtures.Call{Account: account, Source: "iam.amazonaws.com", Name: "PutRolePolicy", Time: t0, ID: "1",
		Params: map[string]any{"roleName": "app"}}.EventBridge())
	f.Add([]byte(`{"detail-type":"AWS API Call via CloudTrail","account":"1","detail":{"eventSource":"ec2.amazonaws.com","eventName":"CreateTags","eventTime":"2026-01-01T00:00:00Z","requestParameters":{"resourcesSet":{"items":[{"resourceId":"sg-1"}]}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEventBridge(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		for _, r := range ev.Resources() {
			if r.Kind == "" || (r.Name == "" && r.ID == "") {
				t.Fatalf("empty resource %+v", r)
			}
		}
		_ = ev.Actor()
	})
}
