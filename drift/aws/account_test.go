package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func TestConfigNeverPrintsSecrets(t *testing.T) {
	cfg := Config{
		AccountID: "123456789012", Region: "eu-west-1", Endpoint: "http://127.0.0.1:5000",
		Static:     &StaticCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret, SessionToken: "token-" + secret},
		AssumeRole: &AssumeRole{RoleARN: "arn:aws:iam::123456789012:role/trueup", ExternalID: "ext-" + secret},
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{cfg, &cfg, cfg.Static, *cfg.Static, cfg.AssumeRole, *cfg.AssumeRole} {
			if s := fmt.Sprintf(format, v); strings.Contains(s, secret) || strings.Contains(s, "AKIDEXAMPLE") {
				t.Errorf("%s of %T prints a credential: %s", format, v, s)
			}
		}
	}
	if b, err := json.Marshal(cfg); err != nil || strings.Contains(string(b), secret) {
		t.Errorf("json of the config prints a credential: %s, %v", b, err)
	}
	want := "account 123456789012 in eu-west-1 (static credentials, assuming arn:aws:iam::123456789012:role/trueup) at http://127.0.0.1:5000"
	if got := cfg.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	_, err := NewAccount(context.Background(), Config{AccountID: "1", Static: cfg.Static})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("NewAccount error = %v: want an error without the secret", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "ok", cfg: Config{AccountID: "123456789012", Region: "us-east-1"}},
		{name: "account id", cfg: Config{AccountID: "12345", Region: "us-east-1"}, want: `accountId: "12345" is not a 12-digit account id`},
		{name: "region", cfg: Config{AccountID: "123456789012"}, want: "region: required"},
		{name: "profile and static", cfg: Config{AccountID: "123456789012", Region: "r", Profile: "p", Static: &StaticCredentials{}}, want: "profile: cannot be combined with static credentials"},
		{name: "assume role without arn", cfg: Config{AccountID: "123456789012", Region: "r", AssumeRole: &AssumeRole{ExternalID: "x"}}, want: "assumeRole.roleArn: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Validate = %v, want %s", err, tt.want)
			}
		})
	}
}

func apiErr(code string, status int) error {
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status}}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "Op", Err: &smithyhttp.ResponseError{
		Response: resp, Err: &smithy.GenericAPIError{Code: code, Message: "m"},
	}}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		cause     error
		retryable bool
	}{
		{name: "iam throttling", err: apiErr("Throttling", 400), cause: ErrThrottled, retryable: true},
		{name: "ec2 request limit", err: apiErr("RequestLimitExceeded", 503), cause: ErrThrottled, retryable: true},
		{name: "s3 slow down", err: apiErr("SlowDown", 503), cause: ErrThrottled, retryable: true},
		{name: "plain 429", err: apiErr("", 429), cause: ErrThrottled, retryable: true},
		{name: "server error", err: apiErr("InternalError", 500), cause: ErrServer, retryable: true},
		{name: "access denied", err: apiErr("AccessDenied", 403), cause: ErrAccessDenied},
		{name: "ec2 unauthorized", err: apiErr("UnauthorizedOperation", 403), cause: ErrAccessDenied},
		{name: "after retries", err: &retry.MaxAttemptsError{Attempt: 3, Err: apiErr("Throttling", 400)}, cause: ErrThrottled, retryable: true},
		{name: "client error", err: apiErr("MalformedPolicyDocument", 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readErr("S3Bucket/logs", "read versioning", tt.err)
			if !errors.Is(err, ErrUnknown) {
				t.Errorf("%v does not match ErrUnknown", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("%v does not match %v", err, tt.cause)
			}
			if got := IsRetryable(err); got != tt.retryable {
				t.Errorf("IsRetryable = %v, want %v", got, tt.retryable)
			}
			if !strings.HasPrefix(err.Error(), "S3Bucket/logs: read versioning: status unknown") {
				t.Errorf("message %q does not start with the identity and the status", err)
			}
		})
	}
	if !IsNotFound(apiErr("NoSuchBucket", 404)) || IsNotFound(apiErr("AccessDenied", 403)) {
		t.Error("IsNotFound misclassifies")
	}
}
