package cloudtrail

import (
	"bytes"
	"context"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// TestLogFiles: a trail's gzip JSON log files in moto's S3, in the
// documented layout, attribute a bucket and a role to their newest
// writers; a record of another account, a read and a file that is not
// gzip attribute nothing; files written later are read at the next lookup.
func TestLogFiles(t *testing.T) {
	env := motoenv.Shared(t)
	ctx := context.Background()
	c := env.Clients()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String("trail-logs")}))(t)
	put := func(key string, body []byte) {
		t.Helper()
		motoenv.Must(c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String("trail-logs"), Key: awssdk.String(key), Body: bytes.NewReader(body)}))(t)
	}
	day := "org/AWSLogs/" + account + "/CloudTrail/us-east-1/2026/12/07/"
	bucketCall := func(who string, at time.Time, name string) awsfixtures.Call {
		return awsfixtures.Call{Account: account, Source: "s3.amazonaws.com", Name: name, Time: at, ID: who + name,
			PrincipalARN: "arn:aws:iam::123456789012:user/" + who, SourceIP: "192.0.2.4", Params: map[string]any{"bucketName": "logs"}}
	}
	forged := bucketCall("mallory", now.Add(-time.Minute), "PutBucketPolicy")
	forged.Account = "210987654321"
	put(day+account+"_CloudTrail_us-east-1_20261207T1000Z_a.json.gz", awsfixtures.LogFile(
		bucketCall("alice", now.Add(-2*time.Hour), "PutBucketPolicy").Record(),
		bucketCall("bob", now.Add(-time.Hour), "PutBucketVersioning").Record(),
		bucketCall("reader", now.Add(-30*time.Minute), "GetBucketPolicy").Record(),
		forged.Record(),
	))
	put(day+account+"_CloudTrail_us-east-1_20261207T1005Z_b.json.gz", []byte("not gzip"))

	lf := NewLogFiles(env.AWSConfig(), LogFilesConfig{Bucket: "trail-logs", Prefix: "org", AccountID: account, Regions: []string{"us-east-1"}}, func() time.Time { return now })
	bucket := driftaws.Ref(driftaws.KindS3Bucket, "logs")
	a, err := lf.ResolveActor(ctx, bucket, "arn:aws:s3:::logs")
	if err != nil || a.Principal != "arn:aws:iam::123456789012:user/bob" || a.Event != "PutBucketVersioning" || a.SourceIP != "192.0.2.4" {
		t.Fatalf("bucket actor = %+v, %v", a, err)
	}
	role := driftaws.Ref(driftaws.KindIAMRole, "app")
	if a, err := lf.ResolveActor(ctx, role, "arn:aws:iam::123456789012:role/app"); err == nil || a != nil {
		t.Fatalf("role with an unreadable file: %+v, %v; want an error (unknown)", a, err)
	}
	put(day+account+"_CloudTrail_us-east-1_20261207T1010Z_c.json.gz", awsfixtures.LogFile(awsfixtures.Call{Account: account,
		Source: "iam.amazonaws.com", Name: "UpdateAssumeRolePolicy", Time: now.Add(-time.Minute), ID: "r1",
		PrincipalARN: "arn:aws:sts::123456789012:assumed-role/Ops/hank", SessionIssuerARN: "arn:aws:iam::123456789012:role/Ops",
		Params: map[string]any{"roleName": "app"}}.Record()))
	a, err = lf.ResolveActor(ctx, role, "arn:aws:iam::123456789012:role/app")
	if err != nil || a.Principal != "arn:aws:sts::123456789012:assumed-role/Ops/hank" || a.SessionIssuer != "arn:aws:iam::123456789012:role/Ops" {
		t.Fatalf("role actor = %+v, %v", a, err)
	}
	unknown, err := lf.ResolveActor(ctx, driftaws.Ref(driftaws.KindS3Bucket, "quiet"), "arn:aws:s3:::quiet")
	if err == nil || unknown != nil {
		t.Fatalf("a bucket no readable log names, with a file unreadable: %+v, %v; want an error (unknown)", unknown, err)
	}
}
