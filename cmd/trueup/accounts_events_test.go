package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/drift/aws/cloudtrail"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// TestNewAccountsEvents: an account with events gets a queue on its URL,
// and its client attributes drift through the queue's actor store.
func TestNewAccountsEvents(t *testing.T) {
	env := motoenv.Start(t)
	ctx := context.Background()
	url := env.Endpoint + "/" + env.AccountID + "/trueup-events"
	cfg, err := config.Parse(fmt.Appendf(nil, `apiVersion: trueup.dev/v1alpha1
kind: Config
sources: [{name: infra, url: https://git.example.com/infra.git}]
accounts:
  - {name: sandbox, provider: aws, accountID: %q, region: %s, endpoint: %s, events: {sqsQueueURL: %q}}
targets:
  - {name: buckets, source: infra, path: aws, account: sandbox}
`, env.AccountID, env.Region, env.Endpoint, url))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", env.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", env.SecretAccessKey)
	accounts, err := newAccounts(ctx, cfg, []*config.Target{&cfg.Targets[0]})
	if err != nil {
		t.Fatal(err)
	}
	d := accounts["sandbox"]
	q, ok := d.Events.Queue.(*cloudtrail.Queue)
	if !ok || q.URL() != url {
		t.Fatalf("queue = %#v, want %s", d.Events.Queue, url)
	}

	c := env.Clients()
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("wired")}))(t)
	motoenv.Must(c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("wired"),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(false)}}))(t)
	ev, err := cloudtrail.ParseEventBridge(awsfixtures.Call{Account: env.AccountID, Source: "s3.amazonaws.com", Name: "PutBucketPublicAccessBlock",
		Time: time.Now(), ID: "1", PrincipalARN: "arn:aws:iam::" + env.AccountID + ":user/ivy", Params: map[string]any{"bucketName": "wired"}}.EventBridge())
	if err != nil {
		t.Fatal(err)
	}
	d.Events.Actors.Record(ev.Record, ev.Resources()[0])
	var obj unstructured.Unstructured
	if err := yaml.Unmarshal([]byte("apiVersion: aws.trueup.dev/v1alpha1\nkind: S3Bucket\nmetadata: {name: wired}\nspec: {publicAccessBlock: {blockPublicAcls: true}}\n"), &obj.Object); err != nil {
		t.Fatal(err)
	}
	rep, err := d.Account.Compare(ctx, []*unstructured.Unstructured{&obj}, nil)
	if err != nil || len(rep.Objects) != 1 || rep.Objects[0].Status != drift.Drifted {
		t.Fatalf("compare = %+v, %v", rep, err)
	}
	if a := rep.Objects[0].Fields[0].Actor; a == nil || a.Principal != "arn:aws:iam::"+env.AccountID+":user/ivy" {
		t.Fatalf("actor = %+v", a)
	}
}

// TestCloudDriftNamesActorFromTrailLogs: with accounts[].cloudTrail
// reading a trail's log files (moto's S3, the documented gzip JSON
// layout), trueup diff names who changed the field, with the call, the
// session issuer and the source address.
func TestCloudDriftNamesActorFromTrailLogs(t *testing.T) {
	s := newAccountScenario(t)
	ctx := context.Background()
	c := s.env.Clients()
	now := time.Now().UTC()
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("org-trail")}))(t)
	key := "AWSLogs/" + s.env.AccountID + "/CloudTrail/" + s.env.Region + "/" + now.Format("2006/01/02") + "/" + s.env.AccountID + "_CloudTrail_" + s.env.Region + "_1.json.gz"
	motoenv.Must(c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(key), Body: bytes.NewReader(awsfixtures.LogFile(awsfixtures.Call{
		Account: s.env.AccountID, Source: "s3.amazonaws.com", Name: "PutBucketVersioning", Time: now.Add(-time.Minute), ID: "v1",
		PrincipalARN: "arn:aws:sts::" + s.env.AccountID + ":assumed-role/Admin/alice", SessionIssuerARN: "arn:aws:iam::" + s.env.AccountID + ":role/Admin",
		SourceIP: "203.0.113.7", Params: map[string]any{"bucketName": "trueup-e2e-logs"}}.Record()))}))(t)
	motoenv.Must(c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("trueup-e2e-logs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}))(t)
	cfg := readFile(t, s.cfg)
	cfg = strings.Replace(cfg, "    unmanaged:\n", "    cloudTrail: {s3Bucket: org-trail, lookupEvents: false}\n    unmanaged:\n", 1)
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := trueup(t, "diff", "buckets", "-c", s.cfg)
	want := `/spec/versioning/status: git: "Enabled"  live: "Suspended"  (by arn:aws:sts::` + s.env.AccountID + `:assumed-role/Admin/alice, PutBucketVersioning, session of arn:aws:iam::` + s.env.AccountID + `:role/Admin, from 203.0.113.7, `
	if code != exitFailed || !strings.Contains(out, want) {
		t.Fatalf("diff: exit %d, want 1 naming the actor %q\n%s%s", code, want, out, errOut)
	}
}
