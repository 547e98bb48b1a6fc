package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// TestApplyChangesNothingWhenStatusUnknown: behind a proxy that throttles
// or fails selected reads, Compare reports the resources unknown, and Apply
// writes nothing to them and prunes nothing at all; moto's state is checked
// afterwards.
func TestApplyChangesNothingWhenStatusUnknown(t *testing.T) {
	tests := []struct {
		name      string
		service   string
		operation string
		fault     motoenv.Fault
		unknown   []string // resources whose status is unknown
		cause     error
	}{
		{name: "s3 slow down on versioning", service: "s3", operation: "GetBucketVersioning", fault: motoenv.Throttle,
			unknown: []string{"S3Bucket/trueup-logs"}, cause: driftaws.ErrThrottled},
		{name: "ec2 request limit on describe", service: "ec2", operation: "DescribeSecurityGroups", fault: motoenv.Throttle,
			unknown: []string{"SecurityGroup/trueup-web"}, cause: driftaws.ErrThrottled},
		{name: "iam 500 on get role", service: "iam", operation: "GetRole", fault: motoenv.ServerError,
			unknown: []string{"IAMRole/trueup-app"}, cause: driftaws.ErrServer},
		{name: "s3 tags denied", service: "s3", operation: "GetBucketTagging", fault: motoenv.AccessDenied,
			unknown: []string{"S3Bucket/trueup-logs"}, cause: driftaws.ErrAccessDenied},
		{name: "policy tags fail only in the prune listing", service: "iam", operation: "ListPolicyTags", fault: motoenv.ServerError,
			cause: driftaws.ErrServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			env := motoenv.Shared(t)
			c := env.Clients()
			direct := newAccount(t, testConfig(env, env.Endpoint))
			// The target had one more bucket, which left Git: a prune candidate.
			extra := object("S3Bucket", "trueup-archive")
			mustApply(t, direct, "web", append(stack(t), extra), DefaultApplyOptions())
			driftEverything(t, c)
			before := compare(t, direct, stack(t))

			proxy := motoenv.NewProxy(t, env)
			proxy.Fail(tt.service, tt.operation, tt.fault)
			a := newAccount(t, testConfig(env, proxy.URL))

			rep, err := a.Compare(ctx, stack(t), nil)
			if len(tt.unknown) > 0 && (!errors.Is(err, driftaws.ErrUnknown) || !errors.Is(err, tt.cause)) {
				t.Errorf("Compare error = %v, want ErrUnknown and %v", err, tt.cause)
			}
			for _, o := range rep.Objects {
				id := driftaws.ID(o.Ref)
				switch want := contains(tt.unknown, id); {
				case want && (o.Status != drift.Unknown || !strings.Contains(o.Error, "status unknown")):
					t.Errorf("Compare %s: %s %q, want unknown with the reason", id, o.Status, o.Error)
				case !want && o.Status != drift.Drifted:
					t.Errorf("Compare %s: %s %s, want drifted", id, o.Status, o.Error)
				}
			}

			res, err := Apply(ctx, a, "web", stack(t), ApplyOptions{Prune: PruneOptions{Enabled: true}})
			if !errors.Is(err, driftaws.ErrUnknown) || !errors.Is(err, tt.cause) || !strings.Contains(err.Error(), "status unknown") {
				t.Errorf("Apply error = %v, want a status unknown error matching %v", err, tt.cause)
			}
			t.Logf("apply: %v", err)
			if !strings.HasPrefix(res.PruneBlocked, "prune skipped") {
				t.Errorf("PruneBlocked = %q, want prune skipped", res.PruneBlocked)
			}
			got := actions(res)
			for _, id := range tt.unknown {
				if got[id] != kube.ActionFailed {
					t.Errorf("%s: %s, want failed", id, got[id])
				}
			}
			if got["S3Bucket/trueup-archive"] != "" || !bucketExists(t, c, "trueup-archive") {
				t.Errorf("the prune candidate was touched: %s", dump(res.Entries))
			}

			// In moto: the unknown resources kept their drift, the others healed.
			after := compare(t, direct, stack(t))
			for i, o := range after.Objects {
				id := driftaws.ID(o.Ref)
				if contains(tt.unknown, id) {
					if o.Status != drift.Drifted || dump(o.Fields) != dump(before.Objects[i].Fields) {
						t.Errorf("%s was written although its status was unknown: %s", id, dump(o.Fields))
					}
				} else if o.Status != drift.InSync {
					t.Errorf("%s: %s, want healed", id, o.Status)
				}
			}
		})
	}
}

// driftEverything changes one field of each resource of the stack.
func driftEverything(t *testing.T, c motoenv.Clients) {
	ctx := context.Background()
	motoenv.Must(c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: awssdk.String("trueup-logs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}))(t)
	tags := bucketTags(t, c, "trueup-logs")
	tags["team"] = "data"
	putBucketTags(t, c, "trueup-logs", tags)
	id := groupID(t, c, "trueup-web")
	motoenv.Must(c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &id, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(22), ToPort: awssdk.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}},
	}}))(t)
	tagRole(t, c, "trueup-app", "owner", "bob")
	tagPolicy(t, c, "team", "data")
}
