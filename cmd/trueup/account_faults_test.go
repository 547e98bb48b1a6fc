package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// untaggedBucket is a bucket whose spec sets no tags: comparing it never
// reads ?tagging, so only the listing of what the target tagged does.
const untaggedBucket = `apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata:
  name: trueup-e2e-logs
spec:
  versioning:
    status: Enabled
`

// accountScenario is an account target applied on a moto server of its
// own, whose archive bucket then left Git: in sync but for one resource
// pending prune.
type accountScenario struct {
	env *motoenv.Env
	cfg string
}

func newAccountScenario(t *testing.T) accountScenario {
	t.Helper()
	env := motoenv.Start(t)
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(untaggedBucket), "aws/archive.yaml": gitrepo.File(testArchive)},
		gitrepo.CommitOptions{Message: "Add buckets"})
	cfg := accountConfig(t, env, repo)
	if out, errOut, code := trueup(t, "apply", "buckets", "-c", cfg); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	repo.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(untaggedBucket)}, gitrepo.CommitOptions{Message: "Drop the archive bucket"})
	return accountScenario{env: env, cfg: cfg}
}

// through writes a copy of the scenario's config that reaches the account
// through proxy, with edit applied to it.
func (s accountScenario) through(t *testing.T, proxy *motoenv.Proxy, edit func(string) string) string {
	t.Helper()
	cfg := strings.Replace(readFile(t, s.cfg), "endpoint: "+s.env.Endpoint, "endpoint: "+proxy.URL, 1)
	if edit != nil {
		cfg = edit(cfg)
	}
	path := filepath.Join(t.TempDir(), "proxied.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// diffJSON runs diff -o json and returns its exit code and the target's
// report.
func diffJSON(t *testing.T, cfg string) (int, diffResult) {
	t.Helper()
	out, errOut, code := trueup(t, "diff", "buckets", "-c", cfg, "-o", "json")
	var res []diffResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || res[0].Report == nil {
		t.Fatalf("diff -o json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	return code, res[0]
}

// TestDiffWithThrottledListingIsUnknownNotInSync: a bucket left Git while
// the listing of what the target tagged is throttled (IAM Throttling on
// ListPolicies, S3 SlowDown on ?tagging, EC2 RequestLimitExceeded on
// DescribeSecurityGroups). diff must not say "0 pending prune" and exit 0:
// it exits 2 and says, in text and JSON, which listing is unknown and why.
func TestDiffWithThrottledListingIsUnknownNotInSync(t *testing.T) {
	s := newAccountScenario(t)
	if out, _, code := trueup(t, "diff", "buckets", "-c", s.cfg); code != 1 || !strings.Contains(out, "- S3Bucket.aws.trueup.dev//trueup-e2e-archive pending-prune") {
		t.Fatalf("diff without faults: exit %d, want 1 with the archive bucket pending prune\n%s", code, out)
	}
	tests := []struct {
		name, service, operation, kind string
	}{
		{name: "iam Throttling on ListPolicies", service: "iam", operation: "ListPolicies", kind: "IAMPolicy"},
		{name: "s3 SlowDown on tagging", service: "s3", operation: "GetBucketTagging", kind: "S3Bucket"},
		{name: "ec2 RequestLimitExceeded on DescribeSecurityGroups", service: "ec2", operation: "DescribeSecurityGroups", kind: "SecurityGroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := motoenv.NewProxy(t, s.env)
			proxy.Fail(tt.service, tt.operation, motoenv.Throttle)
			cfg := s.through(t, proxy, nil)

			out, errOut, code := trueup(t, "diff", "buckets", "-c", cfg)
			unknownLine := "? " + tt.kind + ".aws.trueup.dev//* unknown"
			if code != exitError || !strings.Contains(out, unknownLine) || !strings.Contains(out, "resources pending prune unknown: listing failed: ") ||
				!strings.Contains(out, "status unknown (throttled)") || !strings.Contains(out, "the result is unknown, not in sync") {
				t.Fatalf("diff: exit %d, want 2 with %q and why\n%s%s", code, unknownLine, out, errOut)
			}
			if proxy.Faulted(tt.service, tt.operation) == 0 {
				t.Errorf("%s:%s was never called", tt.service, tt.operation)
			}

			code, res := diffJSON(t, cfg)
			if code != exitError {
				t.Errorf("diff -o json: exit %d, want 2", code)
			}
			var found bool
			for _, o := range res.Report.Objects {
				if o.Status == drift.Unknown && o.Ref.Kind == tt.kind && o.Ref.Name == "*" &&
					strings.Contains(o.Error, "resources pending prune unknown") && strings.Contains(o.Error, "throttled") {
					found = true
				}
			}
			if !found {
				t.Errorf("diff -o json has no unknown %s/* listing naming the throttle: %+v", tt.kind, res.Report.Objects)
			}
		})
	}
}

// TestDiffBehindHungVersioningReturnsUnknown: a gateway that accepts
// GET ?versioning and never answers. diff returns (within the test's own
// deadline), exits 2, and says the bucket's state is unknown because the
// read timed out: never drift, never in sync.
func TestDiffBehindHungVersioningReturnsUnknown(t *testing.T) {
	s := newAccountScenario(t)
	proxy := motoenv.NewProxy(t, s.env)
	proxy.Fail("s3", "GetBucketVersioning", motoenv.Hang)
	cfg := s.through(t, proxy, func(cfg string) string {
		return strings.Replace(cfg, "    account: sandbox\n", "    account: sandbox\n    timeout: 10s\n", 1)
	})

	var out, errOut string
	var code int
	motoenv.Returns(t, "trueup diff behind a hung GetBucketVersioning", func() {
		out, errOut, code = trueup(t, "diff", "buckets", "-c", cfg)
	})
	if code != exitError || !strings.Contains(out, "? S3Bucket.aws.trueup.dev//trueup-e2e-logs unknown") ||
		!strings.Contains(out, "read versioning: status unknown (timed out)") || strings.Contains(out, "drifted\n") {
		t.Fatalf("diff: exit %d, want 2 with the bucket unknown (timed out)\n%s%s", code, out, errOut)
	}
	if proxy.Faulted("s3", "GetBucketVersioning") == 0 {
		t.Error("GetBucketVersioning never reached the proxy")
	}
}

// TestDiffUnmanagedScansUndeclaredKindsAndSkipsPendingPrune: a security
// group made by hand is unmanaged although Git declares no security group,
// and the bucket that left Git is pending prune, not also unmanaged.
func TestDiffUnmanagedScansUndeclaredKindsAndSkipsPendingPrune(t *testing.T) {
	s := newAccountScenario(t)
	ctx := context.Background()
	c := s.env.Clients()
	if _, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("trueup-e2e-stray-sg"), Description: aws.String("made by hand")}); err != nil {
		t.Fatal(err)
	}
	_, res := diffJSON(t, s.cfg)
	got := map[string]drift.Status{}
	for _, o := range res.Report.Objects {
		id := o.Ref.Kind + "/" + o.Ref.Name
		if prev, ok := got[id]; ok {
			t.Errorf("%s reported twice: %s and %s", id, prev, o.Status)
		}
		got[id] = o.Status
	}
	want := map[string]drift.Status{
		"S3Bucket/trueup-e2e-logs":          drift.InSync,
		"S3Bucket/trueup-e2e-archive":       drift.PendingPrune,
		"SecurityGroup/trueup-e2e-stray-sg": drift.Unmanaged,
	}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: %q, want %q", id, got[id], st)
		}
	}
	if len(got) != len(want) {
		t.Errorf("reports %v, want %v", got, want)
	}

	// An account that names only some kinds scans only those.
	onlyBuckets := strings.Replace(readFile(t, s.cfg), "    unmanaged:\n", "    unmanaged:\n      kinds: [S3Bucket]\n", 1)
	path := filepath.Join(t.TempDir(), "only-buckets.yaml")
	if err := os.WriteFile(path, []byte(onlyBuckets), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := trueup(t, "diff", "buckets", "-c", path); strings.Contains(out, "trueup-e2e-stray-sg") {
		t.Errorf("kinds: [S3Bucket] still reports the security group\n%s", out)
	}
}

// TestCloudDriftSaysActorUnknownWithoutCloudTrail: a field changed by hand
// in the account names its actor as unknown, and why, in diff's text and
// JSON (and so in Slack, pages and history, which show the same actor).
func TestCloudDriftSaysActorUnknownWithoutCloudTrail(t *testing.T) {
	s := newAccountScenario(t)
	if _, err := s.env.Clients().S3.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String("trueup-e2e-logs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	out, _, code := trueup(t, "diff", "buckets", "-c", s.cfg)
	if code != exitFailed || !strings.Contains(out, `/spec/versioning/status: git: "Enabled"  live: "Suspended"  (actor unknown (no CloudTrail))`) {
		t.Fatalf("diff: exit %d, want 1 with the field and its unknown actor\n%s", code, out)
	}
	_, res := diffJSON(t, s.cfg)
	for _, o := range res.Report.Objects {
		for _, f := range o.Fields {
			if f.Actor == nil || f.Actor.Unknown != "actor unknown (no CloudTrail)" {
				t.Errorf("%s %s: actor %+v, want unknown (no CloudTrail)", o.Ref, f.Path, f.Actor)
			}
		}
	}
}

// TestApplyWithThrottledListingIsUnknownNotInSync: the account's revision
// is applied and nothing drifted, but the listing of what the target tagged
// is throttled. apply must not say "nothing to do: live state matches Git"
// and exit 0 (nor the history record "in-sync"): it exits 2 and names what
// could not be read.
func TestApplyWithThrottledListingIsUnknownNotInSync(t *testing.T) {
	env := motoenv.Start(t)
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(untaggedBucket)}, gitrepo.CommitOptions{Message: "Add a bucket"})
	cfg := accountConfig(t, env, repo)
	if out, errOut, code := trueup(t, "apply", "buckets", "-c", cfg); code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := trueup(t, "apply", "buckets", "-c", cfg); code != 0 || !strings.Contains(out, "nothing to do: live state matches Git") {
		t.Fatalf("second apply without faults: exit %d, want 0 and nothing to do\n%s%s", code, out, errOut)
	}
	proxy := motoenv.NewProxy(t, env)
	proxy.Fail("iam", "ListPolicies", motoenv.Throttle)
	s := accountScenario{env: env, cfg: cfg}
	out, errOut, code := trueup(t, "apply", "buckets", "-c", s.through(t, proxy, nil))
	if code != exitError || strings.Contains(out, "nothing to do") || !strings.Contains(out, "? IAMPolicy.aws.trueup.dev//* unknown") ||
		!strings.Contains(out, "the result is unknown, not in sync") || !strings.Contains(out, ": unknown") {
		t.Fatalf("apply behind a throttled ListPolicies: exit %d, want 2 naming the unknown listing\n%s%s", code, out, errOut)
	}
	if proxy.Faulted("iam", "ListPolicies") == 0 {
		t.Error("ListPolicies never reached the proxy")
	}
	hist, _, _ := trueup(t, "history", "--target", "buckets", "-c", cfg, "-o", "json")
	if !strings.Contains(hist, `"outcome": "unknown"`) {
		t.Errorf("history has no reconcile with outcome unknown:\n%s", hist)
	}
}
