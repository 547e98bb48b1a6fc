package aws

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

func TestMain(m *testing.M) { motoenv.Main(m) }

// testConfig is an account config for the moto server at endpoint, with
// fast retries and no rate limit.
func testConfig(env *motoenv.Env, endpoint string) driftaws.Config {
	return driftaws.Config{
		AccountID:         env.AccountID,
		Region:            env.Region,
		Endpoint:          endpoint,
		Static:            &driftaws.StaticCredentials{AccessKeyID: env.AccessKeyID, SecretAccessKey: env.SecretAccessKey},
		MaxAttempts:       2,
		MaxBackoff:        10 * time.Millisecond,
		RequestsPerSecond: -1,
	}
}

func newAccount(t testing.TB, cfg driftaws.Config) *driftaws.Account {
	t.Helper()
	a, err := driftaws.NewAccount(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewAccount: %v", err)
	}
	return a
}

// stack is fixtures/aws/desired/stack.yaml.
func stack(t testing.TB) []*unstructured.Unstructured { return awsfixtures.Load(t, "stack.yaml") }

// without returns objs minus the objects of kind.
func without(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if !slices.Contains(kinds, o.GetKind()) {
			out = append(out, o)
		}
	}
	return out
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func mustApply(t *testing.T, a *driftaws.Account, target string, objs []*unstructured.Unstructured, opts ApplyOptions) *kube.Result {
	t.Helper()
	res, err := Apply(context.Background(), a, target, objs, opts)
	if err != nil {
		t.Fatalf("Apply: %v\nresult: %s", err, dump(res))
	}
	return res
}

func compare(t *testing.T, a *driftaws.Account, objs []*unstructured.Unstructured) drift.Report {
	t.Helper()
	rep, err := a.Compare(context.Background(), objs, nil)
	if err != nil {
		t.Fatalf("Compare: %v\nreport: %s", err, dump(rep))
	}
	return rep
}

// assertInSync fails unless every object of the report is in sync.
func assertInSync(t *testing.T, rep drift.Report) {
	t.Helper()
	for _, o := range rep.Objects {
		if o.Status != drift.InSync {
			t.Errorf("%s: %s %s %s", driftaws.ID(o.Ref), o.Status, dump(o.Fields), o.Error)
		}
	}
}

// actions maps "Kind/name" to the action of each entry.
func actions(res *kube.Result) map[string]kube.Action {
	out := map[string]kube.Action{}
	for _, e := range res.Entries {
		out[driftaws.ID(e.Ref)] = e.Action
	}
	return out
}

// bucketExists reports whether moto has the bucket.
func bucketExists(t *testing.T, c motoenv.Clients, name string) bool {
	t.Helper()
	_, err := c.S3.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: &name})
	if err != nil && !driftaws.IsNotFound(err) {
		t.Fatalf("HeadBucket %s: %v", name, err)
	}
	return err == nil
}

// groupID returns the id of the security group named name ("" when none).
func groupID(t *testing.T, c motoenv.Clients, name string) string {
	t.Helper()
	out := motoenv.Must(c.EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{}))(t)
	for _, g := range out.SecurityGroups {
		if awssdk.ToString(g.GroupName) == name {
			return awssdk.ToString(g.GroupId)
		}
	}
	return ""
}

func roleExists(t *testing.T, c motoenv.Clients, name string) bool {
	t.Helper()
	_, err := c.IAM.GetRole(context.Background(), &iam.GetRoleInput{RoleName: &name})
	if err != nil && !driftaws.IsNotFound(err) {
		t.Fatalf("GetRole %s: %v", name, err)
	}
	return err == nil
}

func policyExists(t *testing.T, c motoenv.Clients) bool {
	t.Helper()
	_, err := c.IAM.GetPolicy(context.Background(), &iam.GetPolicyInput{PolicyArn: awssdk.String(policyARN)})
	if err != nil && !driftaws.IsNotFound(err) {
		t.Fatalf("GetPolicy: %v", err)
	}
	return err == nil
}

// object is a minimal desired object of kind.
func object(kind, name string) *unstructured.Unstructured {
	spec := map[string]any{}
	if kind == driftaws.KindS3Bucket {
		spec["versioning"] = map[string]any{"status": "Enabled"}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": driftaws.APIVersion, "kind": kind, "metadata": map[string]any{"name": name}, "spec": spec,
	}}
}

func tagRole(t *testing.T, c motoenv.Clients, role, k, v string) {
	t.Helper()
	motoenv.Must(c.IAM.TagRole(context.Background(), &iam.TagRoleInput{RoleName: &role, Tags: []iamtypes.Tag{{Key: &k, Value: &v}}}))(t)
}

func tagPolicy(t *testing.T, c motoenv.Clients, k, v string) {
	t.Helper()
	motoenv.Must(c.IAM.TagPolicy(context.Background(), &iam.TagPolicyInput{PolicyArn: awssdk.String(policyARN), Tags: []iamtypes.Tag{{Key: &k, Value: &v}}}))(t)
}
