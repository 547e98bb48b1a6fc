package aws

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// TestPrune: resources that leave Git are deleted only when pruning is on,
// within the limits, and only when tagged for this target.
func TestPrune(t *testing.T) {
	all := []string{"S3Bucket/trueup-logs", "SecurityGroup/trueup-web", "IAMRole/trueup-app", "IAMPolicy/trueup-read-config"}
	tests := []struct {
		name    string
		desired func(t *testing.T) []*unstructured.Unstructured
		opts    ApplyOptions
		deleted []string // resources gone afterwards
		blocked string   // substring of Result.PruneBlocked
		entries map[string]kube.Action
	}{
		{
			name:    "off: nothing is deleted",
			desired: func(t *testing.T) []*unstructured.Unstructured { return without(stack(t), "S3Bucket") },
			opts:    DefaultApplyOptions(),
		},
		{
			name:    "on: what left Git is deleted",
			desired: func(t *testing.T) []*unstructured.Unstructured { return without(stack(t), "S3Bucket") },
			opts:    ApplyOptions{Prune: PruneOptions{Enabled: true}},
			deleted: []string{"S3Bucket/trueup-logs"},
			entries: map[string]kube.Action{"S3Bucket/trueup-logs": kube.ActionDeleted},
		},
		{
			name:    "dry-run deletes nothing",
			desired: func(t *testing.T) []*unstructured.Unstructured { return without(stack(t), "S3Bucket") },
			opts:    ApplyOptions{DryRun: true, Prune: PruneOptions{Enabled: true}},
			entries: map[string]kube.Action{"S3Bucket/trueup-logs": kube.ActionDeleted},
		},
		{
			name:    "over max: nothing is deleted",
			desired: func(t *testing.T) []*unstructured.Unstructured { return without(stack(t), "S3Bucket", "SecurityGroup") },
			opts:    ApplyOptions{Prune: PruneOptions{Enabled: true, Max: 1}},
			blocked: "would delete 2 objects, limit 1 (prune.max): raise prune.max and run trueup apply, or delete them by hand",
			entries: map[string]kube.Action{"S3Bucket/trueup-logs": kube.ActionSkipped, "SecurityGroup/trueup-web": kube.ActionSkipped},
		},
		{
			name:    "over max percent: nothing is deleted",
			desired: func(t *testing.T) []*unstructured.Unstructured { return without(stack(t), "S3Bucket", "SecurityGroup") },
			opts:    ApplyOptions{Prune: PruneOptions{Enabled: true, MaxPercent: 25}},
			blocked: "limit 1 (prune.max: 25% of 4)",
		},
		{
			name:    "within max percent",
			desired: func(t *testing.T) []*unstructured.Unstructured { return without(stack(t), "S3Bucket", "SecurityGroup") },
			opts:    ApplyOptions{Prune: PruneOptions{Enabled: true, MaxPercent: 50}},
			deleted: []string{"S3Bucket/trueup-logs", "SecurityGroup/trueup-web"},
		},
		{
			name:    "empty desired set is refused",
			desired: func(t *testing.T) []*unstructured.Unstructured { return nil },
			opts:    ApplyOptions{Prune: PruneOptions{Enabled: true}},
			blocked: "render is empty: refusing to prune 4 objects",
		},
		{
			name:    "empty desired set with allowEmpty deletes everything of the target, roles before policies",
			desired: func(t *testing.T) []*unstructured.Unstructured { return nil },
			opts:    ApplyOptions{Prune: PruneOptions{Enabled: true, AllowEmpty: true}},
			deleted: all,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := motoenv.Shared(t)
			c := env.Clients()
			a := newAccount(t, testConfig(env, env.Endpoint))
			mustApply(t, a, "web", stack(t), DefaultApplyOptions())
			seedForeignBuckets(t, c)

			res := mustApply(t, a, "web", tt.desired(t), tt.opts)
			if !strings.Contains(res.PruneBlocked, tt.blocked) || (tt.blocked == "") != (res.PruneBlocked == "") {
				t.Errorf("PruneBlocked = %q, want %q", res.PruneBlocked, tt.blocked)
			}
			got := actions(res)
			for ref, want := range tt.entries {
				if got[ref] != want {
					t.Errorf("%s: %s, want %s (%s)", ref, got[ref], want, dump(res.Entries))
				}
			}
			for _, ref := range all {
				gone := !exists(t, c, ref)
				if want := contains(tt.deleted, ref); gone != want {
					t.Errorf("%s deleted = %v, want %v (%s)", ref, gone, want, res.Summary())
				}
			}
			for _, b := range []string{"handmade-bucket", "other-team-bucket"} {
				if !bucketExists(t, c, b) {
					t.Errorf("prune deleted %s, which is not tagged for this target", b)
				}
			}
		})
	}
}

// seedForeignBuckets adds a bucket made by hand and one tagged for another
// target: prune must never touch them.
func seedForeignBuckets(t *testing.T, c motoenv.Clients) {
	ctx := context.Background()
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String("handmade-bucket")}))(t)
	motoenv.Must(c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String("other-team-bucket")}))(t)
	putBucketTags(t, c, "other-team-bucket", driftaws.OwnTags("api"))
}

func exists(t *testing.T, c motoenv.Clients, ref string) bool {
	kind, name, _ := strings.Cut(ref, "/")
	switch kind {
	case driftaws.KindS3Bucket:
		return bucketExists(t, c, name)
	case driftaws.KindIAMRole:
		return roleExists(t, c, name)
	case driftaws.KindSecurityGroup:
		return groupID(t, c, name) != ""
	case driftaws.KindIAMPolicy:
		return policyExists(t, c)
	}
	t.Fatalf("unknown ref %s", ref)
	return false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
