package reconciler_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/fixtures/policies"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
)

const secureBucket = `apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata:
  name: trueup-compliance-logs
spec:
  serverSideEncryptionConfiguration:
    rules: [{applyServerSideEncryptionByDefault: {sseAlgorithm: AES256}}]
  publicAccessBlock: {blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true}
`

// TestS3PublicAccessChangeIsAComplianceAlert: on moto, a bucket that Git
// keeps private is opened by hand; the next reconcile (alert mode) raises
// one compliance alert naming the flag, and closing it again resolves it.
func TestS3PublicAccessChangeIsAComplianceAlert(t *testing.T) {
	env := motoenv.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "infra.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"aws/bucket.yaml": gitrepo.File(secureBucket)}, gitrepo.CommitOptions{Message: "a private bucket"})
	polDir := filepath.Join(dir, "policies")
	if err := os.MkdirAll(polDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(polDir, "s3.yaml"), policies.Files()["s3-bucket-secure.yaml"], 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(fmt.Appendf(nil, `apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources: [{name: infra, url: %s}]
accounts: [{name: sandbox, provider: aws, accountID: %q, region: %s, endpoint: %s}]
targets:
  - name: buckets
    source: infra
    path: aws
    account: sandbox
    remediation: {drift: alert}
policies: [{dir: %s}]
`, filepath.Join(dir, "data"), repo.URL(), env.AccountID, env.Region, env.Endpoint, polDir))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := driftaws.NewAccount(ctx, driftaws.Config{AccountID: env.AccountID, Region: env.Region, Endpoint: env.Endpoint,
		Static: &driftaws.StaticCredentials{AccessKeyID: env.AccessKeyID, SecretAccessKey: env.SecretAccessKey}})
	if err != nil {
		t.Fatal(err)
	}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "data", "sources")),
		map[string]git.Source{"infra": {Name: "infra", URL: repo.URL(), Ref: git.RefSpec{Branch: "main"}}})
	pub := &events{}
	r, err := reconciler.New(cfg, loader, nil, reconciler.WithAccounts(map[string]*reconciler.AccountDestination{"sandbox": {Account: acct}}),
		reconciler.WithPublisher(pub))
	if err != nil {
		t.Fatal(err)
	}
	reconcile := func() *reconciler.Outcome {
		t.Helper()
		out := r.Reconcile(ctx, "buckets", reconciler.TriggerInterval, reconciler.ReconcileOptions{})
		if out.Err != nil {
			t.Fatalf("reconcile: %v", out.Err)
		}
		return out
	}
	mustAction(t, reconcile(), reconciler.ActionApplied)
	if evs := pub.take(notifications.KindComplianceViolation); len(evs) != 0 {
		t.Fatalf("a compliant bucket alerted: %+v", evs)
	}

	cli := s3.NewFromConfig(env.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	setBlock := func(block bool) {
		t.Helper()
		_, err := cli.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("trueup-compliance-logs"),
			PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(block),
				IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	setBlock(false)
	out := reconcile()
	evs := pub.take(notifications.KindComplianceViolation)
	if len(evs) != 1 || evs[0].Policy != "s3-bucket-secure" || !strings.Contains(evs[0].Message, "spec.publicAccessBlock.blockPublicAcls must be true") ||
		evs[0].Destination.Kind != notifications.DestinationAccount || evs[0].Severity != notifications.SeverityCritical {
		t.Fatalf("compliance alerts = %+v (action %s)", evs, out.Action)
	}
	reconcile()
	if again := pub.take(notifications.KindComplianceViolation); len(again) != 0 {
		t.Fatalf("the open violation alerted again: %+v", again)
	}
	setBlock(true)
	reconcile()
	if res := pub.take(notifications.KindComplianceResolved); len(res) != 1 || res[0].Episode != evs[0].Episode {
		t.Fatalf("resolved alerts = %+v, want the episode %s", res, evs[0].Episode)
	}
}
