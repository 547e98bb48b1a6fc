package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// TestCompareUnknownOnFaults: a throttled, failing or denied read makes the
// resources it concerns unknown, with the reason, never drifted or missing;
// the others are still compared.
func TestCompareUnknownOnFaults(t *testing.T) {
	tests := []struct {
		name      string
		service   string
		operation string
		fault     motoenv.Fault
		bulk      bool
		unknown   []string // kinds reported unknown
		cause     error
		message   string
		// attempts is how many faulty answers the SDK's retryer takes:
		// MaxAttempts (2) per call for retryable faults, 1 for a denial.
		attempts int
	}{
		{name: "s3 slow down on versioning", service: "s3", operation: "GetBucketVersioning", fault: motoenv.Throttle,
			unknown: []string{KindS3Bucket}, cause: ErrThrottled, message: "S3Bucket/trueup-logs: read versioning: status unknown (throttled): ", attempts: 2},
		{name: "s3 bucket listing fails", service: "s3", operation: "ListBuckets", fault: motoenv.ServerError,
			unknown: []string{KindS3Bucket}, cause: ErrServer, message: "S3Bucket/*: list buckets: status unknown (server error): ", attempts: 2},
		{name: "s3 tags denied", service: "s3", operation: "GetBucketTagging", fault: motoenv.AccessDenied,
			unknown: []string{KindS3Bucket}, cause: ErrAccessDenied, message: "S3Bucket/trueup-logs: read tags: status unknown (access denied): ", attempts: 1},
		{name: "iam throttles GetRole", service: "iam", operation: "GetRole", fault: motoenv.Throttle,
			unknown: []string{KindIAMRole}, cause: ErrThrottled, message: "IAMRole/trueup-app: get role: status unknown (throttled): ", attempts: 2},
		{name: "iam 500 on a bulk listing", service: "iam", operation: "GetAccountAuthorizationDetails", fault: motoenv.ServerError, bulk: true,
			unknown: []string{KindIAMRole, KindIAMPolicy}, cause: ErrServer, message: "get account authorization details: status unknown (server error): ", attempts: 4},
		{name: "ec2 request limit", service: "ec2", operation: "DescribeSecurityGroups", fault: motoenv.Throttle,
			unknown: []string{KindSecurityGroup}, cause: ErrThrottled, message: "SecurityGroup/*: describe security groups: status unknown (throttled): ", attempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := motoenv.Shared(t)
			seedStack(t, env.Clients())
			proxy := motoenv.NewProxy(t, env)
			proxy.Fail(tt.service, tt.operation, tt.fault)
			cfg := testConfig(env, proxy.URL)
			if tt.bulk {
				cfg.BulkThreshold = 1
			}
			rep, err := newAccount(t, cfg).Compare(context.Background(), stack(t), nil)
			if !errors.Is(err, ErrUnknown) || !errors.Is(err, tt.cause) {
				t.Fatalf("Compare error = %v, want ErrUnknown and %v", err, tt.cause)
			}
			var re *ReadError
			if !errors.As(err, &re) {
				t.Errorf("error %v is not a *ReadError", err)
			}
			for _, o := range rep.Objects {
				wantUnknown := contains(tt.unknown, o.Ref.Kind)
				switch {
				case wantUnknown && o.Status != drift.Unknown:
					t.Errorf("%s: status %s, want unknown", o.Ref.Kind, o.Status)
				case wantUnknown && !strings.Contains(o.Error, tt.message):
					t.Errorf("%s: error %q, want it to contain %q", o.Ref.Kind, o.Error, tt.message)
				case !wantUnknown && o.Status != drift.InSync:
					t.Errorf("%s: status %s (%s), want in-sync", o.Ref.Kind, o.Status, o.Error)
				case o.Status == drift.Unknown && len(o.Fields) > 0:
					t.Errorf("%s: unknown with fields %v", o.Ref.Kind, o.Fields)
				}
			}
			if got := proxy.Faulted(tt.service, tt.operation); got != tt.attempts {
				t.Errorf("%s:%s answered with a fault %d times, want %d", tt.service, tt.operation, got, tt.attempts)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestCheckIdentity: credentials of another account than the configured one
// stop everything before any resource is read.
func TestCheckIdentity(t *testing.T) {
	ctx := context.Background()
	env := motoenv.Shared(t)
	seedStack(t, env.Clients())

	t.Run("configured account", func(t *testing.T) {
		if err := newAccount(t, testConfig(env, env.Endpoint)).CheckIdentity(ctx); err != nil {
			t.Errorf("CheckIdentity: %v", err)
		}
	})
	t.Run("wrong account", func(t *testing.T) {
		proxy := motoenv.NewProxy(t, env)
		cfg := testConfig(env, proxy.URL)
		cfg.AccountID = "111111111111"
		a := newAccount(t, cfg)
		err := a.CheckIdentity(ctx)
		var wrong *WrongAccountError
		if !errors.Is(err, ErrWrongAccount) || !errors.As(err, &wrong) || wrong.Got != env.AccountID {
			t.Fatalf("CheckIdentity = %v, want ErrWrongAccount naming %s", err, env.AccountID)
		}
		if want := "account 111111111111: the credentials belong to account 123456789012"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q, want prefix %q", err, want)
		}
		if IsRetryable(err) {
			t.Error("a wrong account is retryable")
		}
		rep, err := a.Compare(ctx, stack(t), nil)
		if !errors.Is(err, ErrWrongAccount) {
			t.Errorf("Compare error = %v, want ErrWrongAccount", err)
		}
		for _, o := range rep.Objects {
			if o.Status != drift.Unknown {
				t.Errorf("%s: %s, want unknown", o.Ref.Kind, o.Status)
			}
		}
		if _, err := a.Unmanaged(ctx, nil, Filter{}, nil); !errors.Is(err, ErrWrongAccount) {
			t.Errorf("Unmanaged error = %v, want ErrWrongAccount", err)
		}
		if _, err := a.Managed(ctx, "web"); !errors.Is(err, ErrWrongAccount) {
			t.Errorf("Managed error = %v, want ErrWrongAccount", err)
		}
		if n := proxy.Calls("*", "*") - proxy.Calls("sts", "*"); n != 0 {
			t.Errorf("%d calls besides STS reached the account", n)
		}
	})
	t.Run("assumed role of the account", func(t *testing.T) {
		cfg := testConfig(env, env.Endpoint)
		cfg.AssumeRole = &AssumeRole{RoleARN: "arn:aws:iam::" + env.AccountID + ":role/team-a", SessionName: "trueup-team-a"}
		if err := newAccount(t, cfg).CheckIdentity(ctx); err != nil {
			t.Errorf("CheckIdentity: %v", err)
		}
	})
	t.Run("assumed role of another account", func(t *testing.T) {
		proxy := motoenv.NewProxy(t, env)
		cfg := testConfig(env, proxy.URL)
		cfg.AssumeRole = &AssumeRole{RoleARN: "arn:aws:iam::999999999999:role/team-a", SessionName: "trueup-team-a", ExternalID: "ext-secret-4711"}
		a := newAccount(t, cfg)
		err := a.CheckIdentity(ctx)
		var wrong *WrongAccountError
		if !errors.Is(err, ErrWrongAccount) || !errors.As(err, &wrong) || wrong.Got != "999999999999" || wrong.Role != cfg.AssumeRole.RoleARN {
			t.Fatalf("CheckIdentity = %v, want ErrWrongAccount naming the role and account 999999999999", err)
		}
		want := "account 123456789012: role arn:aws:iam::999999999999:role/team-a gave credentials of account 999999999999 (arn:aws:sts::999999999999:assumed-role/team-a/trueup-team-a): refusing to touch it; assume a role of account 123456789012"
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q, want prefix %q", err, want)
		}
		if strings.Contains(fmt.Sprintf("%v %+v %#v %s %+v %#v", err, wrong, cfg, a, cfg.AssumeRole, *cfg.AssumeRole), "ext-secret-4711") {
			t.Error("the external id leaks into the error or the account's description")
		}
		if _, err := a.Compare(ctx, stack(t), nil); !errors.Is(err, ErrWrongAccount) {
			t.Errorf("Compare error = %v, want ErrWrongAccount", err)
		}
		if n := proxy.Calls("*", "*") - proxy.Calls("sts", "*"); n != 0 {
			t.Errorf("%d calls besides STS reached the account", n)
		}
	})
	t.Run("sts outage is unknown, not a wrong account", func(t *testing.T) {
		proxy := motoenv.NewProxy(t, env)
		proxy.Fail("sts", "GetCallerIdentity", motoenv.ServerError)
		err := newAccount(t, testConfig(env, proxy.URL)).CheckIdentity(ctx)
		if !errors.Is(err, ErrUnknown) || errors.Is(err, ErrWrongAccount) || !IsRetryable(err) {
			t.Errorf("CheckIdentity = %v, want a retryable ErrUnknown", err)
		}
	})
}

// TestCompareHungVersioningIsUnknownNotDrift: a gateway that accepts
// GET ?versioning and never answers makes the bucket unknown (timed out)
// once its calls' deadlines pass; Compare returns, the other resources are
// still compared, and nothing reads as drifted or missing.
func TestCompareHungVersioningIsUnknownNotDrift(t *testing.T) {
	env := motoenv.Shared(t)
	seedStack(t, env.Clients())
	proxy := motoenv.NewProxy(t, env)
	proxy.Fail("s3", "GetBucketVersioning", motoenv.Hang)
	cfg := testConfig(env, proxy.URL)
	cfg.CallTimeout = time.Second
	a := newAccount(t, cfg)

	var rep drift.Report
	var err error
	motoenv.Returns(t, "Compare behind a hung GetBucketVersioning", func() {
		rep, err = a.Compare(t.Context(), stack(t), nil) // no deadline but the calls' own
	})
	if !errors.Is(err, ErrUnknown) || !errors.Is(err, ErrTimeout) || !IsRetryable(err) {
		t.Fatalf("Compare error = %v, want a retryable ErrUnknown and ErrTimeout", err)
	}
	for _, o := range rep.Objects {
		switch {
		case o.Ref.Kind == KindS3Bucket && (o.Status != drift.Unknown || !strings.Contains(o.Error, "S3Bucket/trueup-logs: read versioning: status unknown (timed out)")):
			t.Errorf("bucket: %s %q, want unknown (timed out) naming the read", o.Status, o.Error)
		case o.Ref.Kind != KindS3Bucket && o.Status != drift.InSync:
			t.Errorf("%s: %s %s, want in-sync", o.Ref.Kind, o.Status, o.Error)
		}
	}
	if got := proxy.Faulted("s3", "GetBucketVersioning"); got != cfg.MaxAttempts {
		t.Errorf("hung GetBucketVersioning attempts = %d, want %d (each attempt under its deadline, then retried)", got, cfg.MaxAttempts)
	}
}
