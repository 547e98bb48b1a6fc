package aws

import (
	"context"
	"reflect"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// bulkModes are the two ways IAM is read: per resource and account-wide.
var bulkModes = []struct {
	name      string
	threshold int
}{{"per resource", 1000}, {"bulk", 1}}

// TestCompareSeededStack: resources made by hand that match Git are in
// sync, whichever way IAM is read; resources that do not exist are missing.
func TestCompareSeededStack(t *testing.T) {
	env := motoenv.Shared(t)
	seedStack(t, env.Clients())
	for _, mode := range bulkModes {
		t.Run(mode.name, func(t *testing.T) {
			cfg := testConfig(env, env.Endpoint)
			cfg.BulkThreshold = mode.threshold
			rep, err := newAccount(t, cfg).Compare(context.Background(), stack(t), nil)
			if err != nil {
				t.Fatalf("Compare: %v", err)
			}
			for _, o := range rep.Objects {
				if o.Status != drift.InSync {
					t.Errorf("%s: %s %s %s", o.Ref.Kind, o.Status, dumpJSON(o.Fields), o.Error)
				}
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		missing := object(KindS3Bucket, "not-there", map[string]any{"versioning": map[string]any{"status": "Enabled"}})
		rep, err := newAccount(t, testConfig(env, env.Endpoint)).Compare(context.Background(), append(stack(t), missing), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Objects[4].Status; got != drift.Missing {
			t.Errorf("status of a bucket that does not exist = %s, want missing", got)
		}
	})
}

// TestCompareOutOfBandChanges: a change made with the SDK is reported at
// its exact path with live and desired values, read per resource or in bulk.
func TestCompareOutOfBandChanges(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(t *testing.T, c motoenv.Clients, sg string)
		kind   string
		want   []drift.FieldDiff
	}{
		{
			name: "versioning suspended", kind: KindS3Bucket,
			change: func(t *testing.T, c motoenv.Clients, _ string) {
				motoenv.Must(c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: awssdk.String("trueup-logs"),
					VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/versioning/status", Live: "Suspended", Desired: "Enabled"}},
		},
		{
			name: "ssh opened to the world", kind: KindSecurityGroup,
			change: func(t *testing.T, c motoenv.Clients, sg string) {
				motoenv.Must(c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &sg, IpPermissions: []ec2types.IpPermission{
					{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(22), ToPort: awssdk.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}},
				}}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/ingress/2", Live: map[string]any{
				"ipProtocol": "tcp", "fromPort": int64(22), "toPort": int64(22), "ipRanges": []any{map[string]any{"cidrIp": "0.0.0.0/0"}},
			}, Desired: nil}},
		},
		{
			name: "inline policy widened", kind: KindIAMRole,
			change: func(t *testing.T, c motoenv.Clients, _ string) {
				motoenv.Must(c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String("trueup-app"), PolicyName: awssdk.String("write-logs"),
					PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::trueup-logs/app/*"}]}`)}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/inlinePolicies/write-logs/Statement/0/Action/0", Live: "s3:*", Desired: "s3:PutObject"}},
		},
		{
			name: "user tag changed and trueup's tag removed", kind: KindIAMPolicy,
			change: func(t *testing.T, c motoenv.Clients, _ string) {
				arn := awssdk.String("arn:aws:iam::123456789012:policy/trueup-read-config")
				motoenv.Must(c.IAM.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: arn, Tags: tagsOf("team", "data")}))(t)
				motoenv.Must(c.IAM.UntagPolicy(ctx, &iam.UntagPolicyInput{PolicyArn: arn, TagKeys: []string{TagManagedBy}}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/tags/team", Live: "data", Desired: "platform"}},
		},
		{
			name: "public access block removed", kind: KindS3Bucket,
			change: func(t *testing.T, c motoenv.Clients, _ string) {
				motoenv.Must(c.S3.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: awssdk.String("trueup-logs")}))(t)
			},
			want: []drift.FieldDiff{
				{Path: "/spec/publicAccessBlock/blockPublicAcls", Live: false, Desired: true},
				{Path: "/spec/publicAccessBlock/blockPublicPolicy", Live: false, Desired: true},
				{Path: "/spec/publicAccessBlock/ignorePublicAcls", Live: false, Desired: true},
				{Path: "/spec/publicAccessBlock/restrictPublicBuckets", Live: false, Desired: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := motoenv.Shared(t)
			c := env.Clients()
			tt.change(t, c, seedStack(t, c))
			for _, mode := range bulkModes {
				cfg := testConfig(env, env.Endpoint)
				cfg.BulkThreshold = mode.threshold
				rep, err := newAccount(t, cfg).Compare(ctx, stack(t), nil)
				if err != nil {
					t.Fatalf("%s: Compare: %v", mode.name, err)
				}
				for _, o := range rep.Objects {
					switch {
					case o.Ref.Kind != tt.kind && o.Status != drift.InSync:
						t.Errorf("%s: %s is %s, want in-sync: %s", mode.name, o.Ref.Kind, o.Status, dumpJSON(o.Fields))
					case o.Ref.Kind == tt.kind && (o.Status != drift.Drifted || !reflect.DeepEqual(o.Fields, noCloudTrail(tt.want))):
						t.Errorf("%s: %s is %s with\n%s\nwant drifted with\n%s", mode.name, o.Ref.Kind, o.Status, dumpJSON(o.Fields), dumpJSON(noCloudTrail(tt.want)))
					}
				}
			}
		})
	}
}

// noCloudTrail returns want with the actor the default resolver puts on
// every drifted field.
func noCloudTrail(want []drift.FieldDiff) []drift.FieldDiff {
	out := make([]drift.FieldDiff, len(want))
	for i, f := range want {
		f.Actor = &drift.Actor{Unknown: ActorNoCloudTrail}
		out[i] = f
	}
	return out
}
