package aws

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
)

// The benchmark's mix: 1,000 resources.
const (
	benchPolicies = 400
	benchRoles    = 300
	benchGroups   = 300
)

// countingClient counts the HTTP requests sent through it.
type countingClient struct {
	next  awssdk.HTTPClient
	calls atomic.Int64
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.Do(r)
}

// BenchmarkScan reads 1,000 resources (400 IAM policies, 300 roles with an
// inline policy, 300 security groups with rules and tags) from moto, side
// by side: trueup's scan (Compare, with account-wide paginated listings)
// and a naive baseline of one describe call per resource, which reads less
// than the scan (no policy documents, no inline policies), so the ratios
// understate the gain. Both send at most 8 requests at once.
//
//	go test -run '^$' -bench BenchmarkScan -benchtime 3x ./drift/aws
func BenchmarkScan(b *testing.B) {
	ctx := context.Background()
	env := motoenv.Shared(b)
	desired := seedBench(b, env.Clients())

	scanCounter := &countingClient{next: http.DefaultClient}
	cfg := testConfig(env, env.Endpoint)
	cfg.MaxAttempts, cfg.Concurrency = 3, 8
	account := newAccount(b, cfg, WithHTTPClient(scanCounter))
	naiveCounter := &countingClient{next: http.DefaultClient}
	naiveCfg := env.AWSConfig()
	naiveCfg.HTTPClient = naiveCounter
	naive := motoenv.Clients{IAM: iam.NewFromConfig(naiveCfg), EC2: ec2.NewFromConfig(naiveCfg)}

	var scanTime, naiveTime time.Duration
	for b.Loop() {
		start := time.Now()
		rep, err := account.Compare(ctx, desired, nil)
		scanTime += time.Since(start)
		if err != nil {
			b.Fatalf("Compare: %v", err)
		}
		if c := rep.Counts(); c[drift.InSync] != len(desired) {
			b.Fatalf("scan: %v, want %d in sync", c, len(desired))
		}
		start = time.Now()
		if err := naiveScan(ctx, naive, desired); err != nil {
			b.Fatalf("naive scan: %v", err)
		}
		naiveTime += time.Since(start)
	}
	n := float64(b.N)
	scanCalls, naiveCalls := float64(scanCounter.calls.Load()), float64(naiveCounter.calls.Load())
	b.ReportMetric(float64(scanTime.Microseconds())/1000/n, "scan-ms/op")
	b.ReportMetric(float64(naiveTime.Microseconds())/1000/n, "naive-ms/op")
	b.ReportMetric(float64(scanTime)/float64(naiveTime), "time-ratio")
	b.ReportMetric(scanCalls/n, "scan-calls/op")
	b.ReportMetric(naiveCalls/n, "naive-calls/op")
	b.ReportMetric(scanCalls/naiveCalls, "calls-ratio")
}

// naiveScan describes each resource with one call: GetPolicy, GetRole,
// DescribeSecurityGroups by name.
func naiveScan(ctx context.Context, c motoenv.Clients, desired []*unstructured.Unstructured) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, obj := range desired {
		name := obj.GetName()
		g.Go(func() error {
			var err error
			switch obj.GetKind() {
			case KindIAMPolicy:
				_, err = c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: awssdk.String(PolicyARN("123456789012", "/", name))})
			case KindIAMRole:
				_, err = c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
			case KindSecurityGroup:
				_, err = c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{name}})
			}
			return err
		})
	}
	return g.Wait()
}

// seedBench creates the benchmark's resources with the SDK and returns
// their desired objects.
func seedBench(b *testing.B, c motoenv.Clients) []*unstructured.Unstructured {
	ctx := context.Background()
	doc := func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-%d/*"}]}`, i)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	desired := make([]*unstructured.Unstructured, benchPolicies+benchRoles+benchGroups)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range benchPolicies {
		name := fmt.Sprintf("bench-policy-%04d", i)
		desired[i] = object(KindIAMPolicy, name, map[string]any{"description": "bench", "path": "/", "policyDocument": doc(i)})
		g.Go(func() error {
			_, err := c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: &name, Description: awssdk.String("bench"), PolicyDocument: awssdk.String(doc(i))})
			return err
		})
	}
	for i := range benchRoles {
		name := fmt.Sprintf("bench-role-%04d", i)
		desired[benchPolicies+i] = object(KindIAMRole, name, map[string]any{
			"assumeRolePolicyDocument": trust, "description": "bench", "maxSessionDuration": int64(3600),
			"inlinePolicies": map[string]any{"read": doc(i)}, "tags": map[string]any{"team": "bench"},
		})
		g.Go(func() error {
			if _, err := c.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name, Description: awssdk.String("bench"),
				AssumeRolePolicyDocument: &trust, Tags: tagsOf("team", "bench")}); err != nil {
				return err
			}
			_, err := c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: awssdk.String("read"), PolicyDocument: awssdk.String(doc(i))})
			return err
		})
	}
	for i := range benchGroups {
		name := fmt.Sprintf("bench-group-%04d", i)
		port := int64(1000 + i)
		desired[benchPolicies+benchRoles+i] = object(KindSecurityGroup, name, map[string]any{
			"description": "bench", "tags": map[string]any{"team": "bench"},
			"ingress": []any{map[string]any{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "ipRanges": []any{map[string]any{"cidrIp": "10.0.0.0/8"}}}},
		})
		g.Go(func() error {
			out, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: &name, Description: awssdk.String("bench"),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: awssdk.String("team"), Value: awssdk.String("bench")}}}}})
			if err != nil {
				return err
			}
			_, err = c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId, IpPermissions: []ec2types.IpPermission{{
				IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(int32(port)), ToPort: awssdk.Int32(int32(port)),
				IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("10.0.0.0/8")}},
			}}})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("seed: %v", err)
	}
	return desired
}
