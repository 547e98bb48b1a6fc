package aws

import (
	"context"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// testConfig is an account config for the moto server at endpoint, with
// fast retries and no rate limit.
func testConfig(env *motoenv.Env, endpoint string) Config {
	return Config{
		AccountID:         env.AccountID,
		Region:            env.Region,
		Endpoint:          endpoint,
		Static:            &StaticCredentials{AccessKeyID: env.AccessKeyID, SecretAccessKey: env.SecretAccessKey},
		MaxAttempts:       2,
		MaxBackoff:        10 * time.Millisecond,
		RequestsPerSecond: -1,
	}
}

func newAccount(t testing.TB, cfg Config, opts ...Option) *Account {
	t.Helper()
	a, err := NewAccount(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("NewAccount: %v", err)
	}
	return a
}

// stack is fixtures/aws/desired/stack.yaml.
func stack(t testing.TB) []*unstructured.Unstructured { return awsfixtures.Load(t, "stack.yaml") }

// seedStack creates fixtures/aws/desired/stack.yaml's resources with the
// SDK, as someone would by hand, tagged for target web. It returns the
// security group's id.
func seedStack(t testing.TB, c motoenv.Clients) string {
	t.Helper()
	ctx := context.Background()
	own := []iamtypes.Tag{{Key: awssdk.String(TagTarget), Value: awssdk.String("web")}, {Key: awssdk.String(TagManagedBy), Value: awssdk.String(ManagedBy)}}
	motoenv.Must(c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName:     awssdk.String("trueup-read-config"),
		Description:    awssdk.String("Read the app's configuration"),
		PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[{"Sid":"ReadConfig","Effect":"Allow","Action":["ssm:GetParametersByPath","ssm:GetParameter"],"Resource":["arn:aws:ssm:us-east-1:123456789012:parameter/app/*"]}]}`),
		Tags:           append([]iamtypes.Tag{{Key: awssdk.String("team"), Value: awssdk.String("platform")}}, own...),
	}))(t)
	motoenv.Must(c.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 awssdk.String("trueup-app"),
		Path:                     awssdk.String("/apps/"),
		Description:              awssdk.String("Runs the app"),
		MaxSessionDuration:       awssdk.Int32(7200),
		AssumeRolePolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`),
		Tags:                     append([]iamtypes.Tag{{Key: awssdk.String("team"), Value: awssdk.String("platform")}, {Key: awssdk.String("env"), Value: awssdk.String("prod")}}, own...),
	}))(t)
	motoenv.Must(c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: awssdk.String("trueup-app"), PolicyArn: awssdk.String("arn:aws:iam::123456789012:policy/trueup-read-config")}))(t)
	motoenv.Must(c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String("trueup-app"), PolicyName: awssdk.String("write-logs"),
		PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::trueup-logs/app/*"}]}`)}))(t)

	sg := motoenv.Must(c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: awssdk.String("trueup-web"), Description: awssdk.String("Web servers"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{
			{Key: awssdk.String("team"), Value: awssdk.String("platform")},
			{Key: awssdk.String(TagTarget), Value: awssdk.String("web")}, {Key: awssdk.String(TagManagedBy), Value: awssdk.String(ManagedBy)},
		}}},
	}))(t)
	motoenv.Must(c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(80), ToPort: awssdk.Int32(80), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("10.0.0.0/8")}}},
		{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(443), ToPort: awssdk.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0"), Description: awssdk.String("HTTPS from anywhere")}}},
	}}))(t)

	bucket := awssdk.String("trueup-logs")
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}))(t)
	motoenv.Must(c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))(t)
	motoenv.Must(c.S3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: bucket, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}},
	}}))(t)
	motoenv.Must(c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: bucket, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: awssdk.Bool(true), IgnorePublicAcls: awssdk.Bool(true), BlockPublicPolicy: awssdk.Bool(true), RestrictPublicBuckets: awssdk.Bool(true),
	}}))(t)
	motoenv.Must(c.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: awssdk.String("team"), Value: awssdk.String("platform")}, {Key: awssdk.String("env"), Value: awssdk.String("prod")},
		{Key: awssdk.String(TagTarget), Value: awssdk.String("web")}, {Key: awssdk.String(TagManagedBy), Value: awssdk.String(ManagedBy)},
	}}}))(t)
	motoenv.Must(c.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: awssdk.String(
		`{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::trueup-logs/*","arn:aws:s3:::trueup-logs"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)}))(t)
	return awssdk.ToString(sg.GroupId)
}

func tagsOf(kv ...string) []iamtypes.Tag {
	var out []iamtypes.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, iamtypes.Tag{Key: awssdk.String(kv[i]), Value: awssdk.String(kv[i+1])})
	}
	return out
}
