package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

const (
	testBucket = `apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata:
  name: trueup-e2e-logs
spec:
  versioning:
    status: Enabled
  publicAccessBlock:
    blockPublicAcls: true
    ignorePublicAcls: true
    blockPublicPolicy: true
    restrictPublicBuckets: true
  tags:
    team: platform
`
	testArchive = `apiVersion: aws.trueup.dev/v1alpha1
kind: S3Bucket
metadata:
  name: trueup-e2e-archive
spec:
  tags:
    team: platform
`
)

// accountConfig writes a config with one account on moto and one target
// reconciling repo's aws/ folder into it, pruning at most one resource.
func accountConfig(t *testing.T, env *motoenv.Env, repo *gitrepo.Repo) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources:
  - name: infra
    url: %s
accounts:
  - name: sandbox
    provider: aws
    accountID: %q
    region: %s
    endpoint: %s
    unmanaged:
      namePrefixes: [trueup-e2e-]
targets:
  - name: buckets
    source: infra
    path: aws
    account: sandbox
    prune:
      enabled: true
      max: 1
`, filepath.Join(dir, "data"), repo.URL(), env.AccountID, env.Region, env.Endpoint)
	path := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The default credential chain, pointed at moto's test keys only.
	t.Setenv("AWS_ACCESS_KEY_ID", env.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", env.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return path
}

// TestAccountTargetDiffApplyHealPrune drives an account target through the
// CLI against moto: apply creates, an out-of-band change shows in diff with
// its field path and is healed by apply, a stray bucket is unmanaged, and
// a bucket removed from Git is pruned. Every step leaves history records.
func TestAccountTargetDiffApplyHealPrune(t *testing.T) {
	env := motoenv.Start(t)
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(testBucket), "aws/archive.yaml": gitrepo.File(testArchive)},
		gitrepo.CommitOptions{Message: "Add buckets"})
	cfg := accountConfig(t, env, repo)
	cli := s3.NewFromConfig(env.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()

	out, errOut, code := trueup(t, "apply", "buckets", "-c", cfg)
	if code != 0 || !strings.Contains(out, "2 created") {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code := trueup(t, "diff", "buckets", "-c", cfg); code != 0 {
		t.Fatalf("diff after apply: exit %d, want 0 (in sync)\n%s", code, out)
	}

	// Someone suspends versioning by hand.
	if _, err := cli.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("trueup-e2e-logs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	out, _, code = trueup(t, "diff", "buckets", "-c", cfg)
	if code != 1 || !strings.Contains(out, "~ S3Bucket.aws.trueup.dev//trueup-e2e-logs drifted") ||
		!strings.Contains(out, `/spec/versioning/status: git: "Enabled"  live: "Suspended"`) || !strings.Contains(out, "(account sandbox,") {
		t.Fatalf("diff after the change: exit %d, want 1 naming the field\n%s", code, out)
	}
	if out, errOut, code := trueup(t, "apply", "buckets", "-c", cfg); code != 0 || !strings.Contains(out, "1 configured") {
		t.Fatalf("heal: exit %d\n%s%s", code, out, errOut)
	}
	v, err := cli.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("trueup-e2e-logs")})
	if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning after heal = %v, %v", v.Status, err)
	}

	// A bucket made outside trueup with the watched prefix is unmanaged.
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trueup-e2e-stray")}); err != nil {
		t.Fatal(err)
	}
	out, _, code = trueup(t, "diff", "buckets", "-c", cfg)
	if code != 1 || !strings.Contains(out, "* S3Bucket.aws.trueup.dev//trueup-e2e-stray unmanaged") || strings.Contains(out, "trueup-e2e-logs unmanaged") {
		t.Fatalf("diff with a stray bucket: exit %d\n%s", code, out)
	}

	// The archive bucket leaves Git while S3 throttles reads: status
	// unknown, exit 2, nothing changed and nothing pruned.
	repo.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(testBucket)}, gitrepo.CommitOptions{Message: "Drop the archive bucket"})
	proxy := motoenv.NewProxy(t, env)
	proxy.Fail("s3", "*", motoenv.Throttle)
	throttled := strings.Replace(readFile(t, cfg), "endpoint: "+env.Endpoint, "endpoint: "+proxy.URL, 1)
	throttledCfg := filepath.Join(filepath.Dir(cfg), "throttled.yaml")
	if err := os.WriteFile(throttledCfg, []byte(throttled), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code = trueup(t, "diff", "buckets", "-c", throttledCfg)
	if code != 2 || !strings.Contains(out, "? S3Bucket.aws.trueup.dev//trueup-e2e-logs unknown") || !strings.Contains(out, "throttled") ||
		strings.Contains(out, "  ~ ") || strings.Contains(out, "  - ") || strings.Contains(out, "  + ") {
		t.Fatalf("diff while throttled: exit %d, want 2 with unknown objects and no drift\n%s", code, out)
	}
	if out, errOut, code := trueup(t, "apply", "buckets", "-c", throttledCfg); code != 2 || strings.Contains(out, "deleted") {
		t.Fatalf("apply while throttled: exit %d, want 2 and no deletion\n%s%s", code, out, errOut)
	}
	if _, err := cli.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("trueup-e2e-archive")}); err != nil {
		t.Fatalf("the archive bucket is gone after a throttled apply: %v", err)
	}

	// S3 answers again: the next apply prunes the archive bucket, and only it.
	if out, errOut, code := trueup(t, "apply", "buckets", "-c", cfg); code != 0 || !strings.Contains(out, "1 deleted") {
		t.Fatalf("prune apply: exit %d\n%s%s", code, out, errOut)
	}
	buckets, err := cli.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range buckets.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if strings.Join(names, ",") != "trueup-e2e-logs,trueup-e2e-stray" {
		t.Errorf("buckets after prune = %v, want the logs bucket and the unmanaged stray", names)
	}

	out, _, code = trueup(t, "history", "--target", "buckets", "-o", "json", "-c", cfg)
	var recs []history.Record
	if code != 0 || json.Unmarshal([]byte(out), &recs) != nil {
		t.Fatalf("history: exit %d\n%s", code, out)
	}
	types := map[string]int{}
	for _, r := range recs {
		types[r.Type]++
	}
	if types[history.TypeApply] < 2 || types[history.TypeHeal] != 1 || types[history.TypePrune] != 1 {
		t.Errorf("history types = %v, want applies, one heal and one prune", types)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
