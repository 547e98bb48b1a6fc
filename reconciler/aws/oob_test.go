package aws

import (
	"context"
	"maps"
	"reflect"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

const policyARN = "arn:aws:iam::123456789012:policy/trueup-read-config"

// TestApplyHealsOutOfBandChanges: a change made with the SDK shows in
// Compare at its exact path; a dry-run changes nothing; Apply heals it and
// Compare is in sync again.
func TestApplyHealsOutOfBandChanges(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(t *testing.T, c motoenv.Clients)
		ref    string
		want   []drift.FieldDiff
	}{
		{
			name: "versioning suspended", ref: "S3Bucket/trueup-logs",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: awssdk.String("trueup-logs"),
					VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/versioning/status", Live: "Suspended", Desired: "Enabled"}},
		},
		{
			name: "bucket tag changed and one added", ref: "S3Bucket/trueup-logs",
			change: func(t *testing.T, c motoenv.Clients) {
				tags := bucketTags(t, c, "trueup-logs")
				tags["team"], tags["owner"] = "data", "bob"
				putBucketTags(t, c, "trueup-logs", tags)
			},
			want: []drift.FieldDiff{
				{Path: "/spec/tags/owner", Live: "bob", Desired: nil},
				{Path: "/spec/tags/team", Live: "data", Desired: "platform"},
			},
		},
		{
			name: "public access block turned off", ref: "S3Bucket/trueup-logs",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: awssdk.String("trueup-logs"),
					PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
						BlockPublicAcls: awssdk.Bool(false), IgnorePublicAcls: awssdk.Bool(true), BlockPublicPolicy: awssdk.Bool(false), RestrictPublicBuckets: awssdk.Bool(true),
					}}))(t)
			},
			want: []drift.FieldDiff{
				{Path: "/spec/publicAccessBlock/blockPublicAcls", Live: false, Desired: true},
				{Path: "/spec/publicAccessBlock/blockPublicPolicy", Live: false, Desired: true},
			},
		},
		{
			name: "bucket policy deleted", ref: "S3Bucket/trueup-logs",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.S3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: awssdk.String("trueup-logs")}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/policy", Live: nil, Desired: map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": []any{"s3:*"},
					"Resource":  []any{"arn:aws:s3:::trueup-logs", "arn:aws:s3:::trueup-logs/*"},
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": []any{"false"}}},
				}},
			}}},
		},
		{
			name: "ssh opened to the world", ref: "SecurityGroup/trueup-web",
			change: func(t *testing.T, c motoenv.Clients) {
				id := groupID(t, c, "trueup-web")
				motoenv.Must(c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id, IpPermissions: []ec2types.IpPermission{
					{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(22), ToPort: awssdk.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}},
				}}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/ingress/2", Live: map[string]any{
				"ipProtocol": "tcp", "fromPort": int64(22), "toPort": int64(22), "ipRanges": []any{map[string]any{"cidrIp": "0.0.0.0/0"}},
			}, Desired: nil}},
		},
		{
			name: "https rule revoked", ref: "SecurityGroup/trueup-web",
			change: func(t *testing.T, c motoenv.Clients) {
				id := groupID(t, c, "trueup-web")
				motoenv.Must(c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &id, IpPermissions: []ec2types.IpPermission{
					{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(443), ToPort: awssdk.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}},
				}}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/ingress/0", Live: nil, Desired: map[string]any{
				"ipProtocol": "tcp", "fromPort": int64(443), "toPort": int64(443), "ipRanges": []any{map[string]any{"cidrIp": "0.0.0.0/0", "description": "HTTPS from anywhere"}},
			}}},
		},
		{
			name: "inline policy edited", ref: "IAMRole/trueup-app",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String("trueup-app"), PolicyName: awssdk.String("write-logs"),
					PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::trueup-logs/app/*"}]}`)}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/inlinePolicies/write-logs/Statement/0/Action/0", Live: "s3:*", Desired: "s3:PutObject"}},
		},
		{
			name: "inline policy added and managed policy detached", ref: "IAMRole/trueup-app",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String("trueup-app"), PolicyName: awssdk.String("admin"),
					PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)}))(t)
				motoenv.Must(c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: awssdk.String("trueup-app"), PolicyArn: awssdk.String(policyARN)}))(t)
			},
			want: []drift.FieldDiff{
				{Path: "/spec/inlinePolicies/admin", Live: map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": []any{"*"}, "Resource": []any{"*"}}}}, Desired: nil},
				{Path: "/spec/managedPolicyArns/0", Live: nil, Desired: policyARN},
			},
		},
		{
			name: "role session and trust changed", ref: "IAMRole/trueup-app",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.IAM.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: awssdk.String("trueup-app"), Description: awssdk.String("Runs the app"), MaxSessionDuration: awssdk.Int32(43200)}))(t)
				motoenv.Must(c.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: awssdk.String("trueup-app"),
					PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole"}]}`)}))(t)
			},
			want: []drift.FieldDiff{
				{Path: "/spec/assumeRolePolicyDocument/Statement/0/Principal/AWS", Live: []any{"arn:aws:iam::999999999999:root"}, Desired: nil},
				{Path: "/spec/assumeRolePolicyDocument/Statement/0/Principal/Service", Live: nil, Desired: []any{"ec2.amazonaws.com"}},
				{Path: "/spec/maxSessionDuration", Live: int64(43200), Desired: int64(7200)},
			},
		},
		{
			name: "managed policy document replaced", ref: "IAMPolicy/trueup-read-config",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.IAM.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: awssdk.String(policyARN), SetAsDefault: true,
					PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":{"Sid":"ReadConfig","Effect":"Allow","Action":"ssm:*","Resource":"arn:aws:ssm:us-east-1:123456789012:parameter/app/*"}}`)}))(t)
			},
			want: []drift.FieldDiff{
				{Path: "/spec/policyDocument/Statement/0/Action/0", Live: "ssm:*", Desired: "ssm:GetParameter"},
				{Path: "/spec/policyDocument/Statement/0/Action/1", Live: nil, Desired: "ssm:GetParametersByPath"},
			},
		},
		{
			name: "policy tag removed", ref: "IAMPolicy/trueup-read-config",
			change: func(t *testing.T, c motoenv.Clients) {
				motoenv.Must(c.IAM.UntagPolicy(ctx, &iam.UntagPolicyInput{PolicyArn: awssdk.String(policyARN), TagKeys: []string{"team", driftaws.TagTarget}}))(t)
			},
			want: []drift.FieldDiff{{Path: "/spec/tags/team", Live: nil, Desired: "platform"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := motoenv.Shared(t)
			c := env.Clients()
			a := newAccount(t, testConfig(env, env.Endpoint))
			mustApply(t, a, "web", stack(t), DefaultApplyOptions())
			tt.change(t, c)

			assertDrift(t, compare(t, a, stack(t)), tt.ref, tt.want)
			dry := mustApply(t, a, "web", stack(t), ApplyOptions{DryRun: true})
			if got := actions(dry)[tt.ref]; got != kube.ActionConfigured || dry.Counts()[kube.ActionUnchanged] != 3 {
				t.Errorf("dry-run: %s, want only %s configured", dump(dry.Entries), tt.ref)
			}
			assertDrift(t, compare(t, a, stack(t)), tt.ref, tt.want) // the dry-run wrote nothing

			res := mustApply(t, a, "web", stack(t), DefaultApplyOptions())
			if got := actions(res)[tt.ref]; got != kube.ActionConfigured || res.Counts()[kube.ActionUnchanged] != 3 {
				t.Errorf("apply: %s, want only %s configured", dump(res.Entries), tt.ref)
			}
			for _, e := range res.Entries {
				if driftaws.ID(e.Ref) == tt.ref && !strings.Contains(e.Message, tt.want[0].Path) {
					t.Errorf("message %q does not name %s", e.Message, tt.want[0].Path)
				}
			}
			assertInSync(t, compare(t, a, stack(t)))
			if tags := tagsOf(t, c, tt.ref); tags[driftaws.TagTarget] != "web" || tags[driftaws.TagManagedBy] != "trueup" {
				t.Errorf("%s tags after heal = %v, want trueup's", tt.ref, tags)
			}
		})
	}
}

func assertDrift(t *testing.T, rep drift.Report, ref string, want []drift.FieldDiff) {
	t.Helper()
	for _, o := range rep.Objects {
		id := driftaws.ID(o.Ref)
		switch {
		case id != ref && o.Status != drift.InSync:
			t.Errorf("%s: %s %s, want in-sync", id, o.Status, dump(o.Fields))
		case id == ref && (o.Status != drift.Drifted || !reflect.DeepEqual(o.Fields, noCloudTrail(want))):
			t.Errorf("%s: %s with\n%s\nwant drifted with\n%s", id, o.Status, dump(o.Fields), dump(noCloudTrail(want)))
		}
	}
}

// TestApplyPolicyAtVersionLimit: healing a policy that has IAM's five
// versions deletes the oldest non-default one first.
func TestApplyPolicyAtVersionLimit(t *testing.T) {
	ctx := context.Background()
	env := motoenv.Shared(t)
	c := env.Clients()
	a := newAccount(t, testConfig(env, env.Endpoint))
	mustApply(t, a, "web", stack(t), DefaultApplyOptions())
	for i := range 4 {
		motoenv.Must(c.IAM.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: awssdk.String(policyARN), SetAsDefault: true,
			PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:*","Resource":"*","Sid":"V` + string(rune('0'+i)) + `"}}`)}))(t)
	}
	mustApply(t, a, "web", stack(t), DefaultApplyOptions())
	assertInSync(t, compare(t, a, stack(t)))
	versions := motoenv.Must(c.IAM.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: awssdk.String(policyARN)}))(t).Versions
	var ids []string
	for _, v := range versions {
		ids = append(ids, awssdk.ToString(v.VersionId))
		if v.IsDefaultVersion && awssdk.ToString(v.VersionId) != "v6" {
			t.Errorf("default version %s, want v6", awssdk.ToString(v.VersionId))
		}
	}
	if len(ids) != 5 || strings.Contains(strings.Join(ids, ","), "v1") {
		t.Errorf("versions = %v, want 5 without v1 (the oldest)", ids)
	}
}

func bucketTags(t *testing.T, c motoenv.Clients, name string) map[string]string {
	t.Helper()
	out := motoenv.Must(c.S3.GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: &name}))(t)
	tags := map[string]string{}
	for _, tag := range out.TagSet {
		tags[awssdk.ToString(tag.Key)] = awssdk.ToString(tag.Value)
	}
	return tags
}

func putBucketTags(t *testing.T, c motoenv.Clients, name string, tags map[string]string) {
	t.Helper()
	var set []s3types.Tag
	for k, v := range tags {
		set = append(set, s3types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	motoenv.Must(c.S3.PutBucketTagging(context.Background(), &s3.PutBucketTaggingInput{Bucket: &name, Tagging: &s3types.Tagging{TagSet: set}}))(t)
}

// tagsOf reads a resource's tags by "Kind/name".
func tagsOf(t *testing.T, c motoenv.Clients, ref string) map[string]string {
	t.Helper()
	ctx := context.Background()
	kind, name, _ := strings.Cut(ref, "/")
	var list []iamtypes.Tag
	switch kind {
	case driftaws.KindS3Bucket:
		return bucketTags(t, c, name)
	case driftaws.KindIAMRole:
		list = motoenv.Must(c.IAM.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: &name}))(t).Tags
	case driftaws.KindIAMPolicy:
		list = motoenv.Must(c.IAM.ListPolicyTags(ctx, &iam.ListPolicyTagsInput{PolicyArn: awssdk.String(policyARN)}))(t).Tags
	case driftaws.KindSecurityGroup:
		out := motoenv.Must(c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{groupID(t, c, name)}}))(t)
		tags := map[string]string{}
		for _, tag := range out.SecurityGroups[0].Tags {
			tags[awssdk.ToString(tag.Key)] = awssdk.ToString(tag.Value)
		}
		return tags
	}
	tags := map[string]string{}
	for _, tag := range list {
		tags[awssdk.ToString(tag.Key)] = awssdk.ToString(tag.Value)
	}
	return maps.Clone(tags)
}

// noCloudTrail returns want with the actor drift/aws's default resolver
// puts on every drifted field.
func noCloudTrail(want []drift.FieldDiff) []drift.FieldDiff {
	out := make([]drift.FieldDiff, len(want))
	for i, f := range want {
		f.Actor = &drift.Actor{Unknown: driftaws.ActorNoCloudTrail}
		out[i] = f
	}
	return out
}
