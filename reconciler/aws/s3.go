package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// createBucket creates a bucket in the account's region, tags it, then
// writes every configuration the spec sets.
func (a *applier) createBucket(ctx context.Context, name string, spec *driftaws.S3BucketSpec, tags map[string]string) error {
	in := &s3.CreateBucketInput{Bucket: &name}
	if region := a.account.Config().Region; region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := a.account.S3().CreateBucket(ctx, in); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if err := a.putBucketTags(ctx, name, tags); err != nil {
		return fmt.Errorf("created, but %w", err)
	}
	all := map[string]bool{"versioning": true, "serverSideEncryptionConfiguration": true, "publicAccessBlock": true, "policy": true}
	if err := a.writeBucket(ctx, name, spec, nil, all); err != nil {
		return fmt.Errorf("created, but %w", err)
	}
	return nil
}

// updateBucket writes the drifted configurations and the tag change.
func (a *applier) updateBucket(ctx context.Context, o driftaws.Observed, spec *driftaws.S3BucketSpec, c change) error {
	name := o.Desired.Ref.Name
	live, _ := o.Live.(*driftaws.S3BucketSpec)
	if err := a.writeBucket(ctx, name, spec, live, c.fields); err != nil {
		return err
	}
	if c.tags.empty() {
		return nil
	}
	return a.putBucketTags(ctx, name, c.tags.result())
}

// writeBucket writes the configurations of spec named in fields that spec
// sets. The public access block goes before the policy, which it may block.
func (a *applier) writeBucket(ctx context.Context, name string, spec, live *driftaws.S3BucketSpec, fields map[string]bool) error {
	client := a.account.S3()
	if v := spec.Versioning; v != nil && fields["versioning"] {
		if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  &name,
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(v.Status)},
		}); err != nil {
			return fmt.Errorf("put versioning: %w", err)
		}
	}
	if e := spec.ServerSideEncryptionConfiguration; e != nil && fields["serverSideEncryptionConfiguration"] {
		if _, err := client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
			Bucket:                            &name,
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: sseRules(e.Rules)},
		}); err != nil {
			return fmt.Errorf("put encryption: %w", err)
		}
	}
	if p := spec.PublicAccessBlock; p != nil && fields["publicAccessBlock"] {
		if _, err := client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
			Bucket:                         &name,
			PublicAccessBlockConfiguration: publicAccessBlock(p, live),
		}); err != nil {
			return fmt.Errorf("put public access block: %w", err)
		}
	}
	if p := spec.Policy; p != nil && fields["policy"] {
		if _, err := client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &name, Policy: awssdk.String(p.JSON())}); err != nil {
			return fmt.Errorf("put policy: %w", err)
		}
	}
	return nil
}

func sseRules(rules []driftaws.SSERule) []s3types.ServerSideEncryptionRule {
	out := make([]s3types.ServerSideEncryptionRule, 0, len(rules))
	for _, r := range rules {
		q := s3types.ServerSideEncryptionRule{BucketKeyEnabled: r.BucketKeyEnabled}
		if d := r.ApplyServerSideEncryptionByDefault; d != nil {
			q.ApplyServerSideEncryptionByDefault = &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm:   s3types.ServerSideEncryption(d.SSEAlgorithm),
				KMSMasterKeyID: optional(d.KMSMasterKeyID),
			}
		}
		out = append(out, q)
	}
	return out
}

// publicAccessBlock merges the flags the spec sets over the live ones: a
// flag Git does not set keeps its live value.
func publicAccessBlock(p *driftaws.PublicAccessBlock, live *driftaws.S3BucketSpec) *s3types.PublicAccessBlockConfiguration {
	var l driftaws.PublicAccessBlock
	if live != nil && live.PublicAccessBlock != nil {
		l = *live.PublicAccessBlock
	}
	pick := func(want, have *bool) *bool {
		if want != nil {
			return want
		}
		return awssdk.Bool(awssdk.ToBool(have))
	}
	return &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls:       pick(p.BlockPublicAcls, l.BlockPublicAcls),
		IgnorePublicAcls:      pick(p.IgnorePublicAcls, l.IgnorePublicAcls),
		BlockPublicPolicy:     pick(p.BlockPublicPolicy, l.BlockPublicPolicy),
		RestrictPublicBuckets: pick(p.RestrictPublicBuckets, l.RestrictPublicBuckets),
	}
}

// putBucketTags replaces the bucket's tag set.
func (a *applier) putBucketTags(ctx context.Context, name string, tags map[string]string) error {
	set := make([]s3types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		set = append(set, s3types.Tag{Key: awssdk.String(k), Value: awssdk.String(tags[k])})
	}
	if _, err := a.account.S3().PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: &name, Tagging: &s3types.Tagging{TagSet: set}}); err != nil {
		return fmt.Errorf("put tags: %w", err)
	}
	return nil
}

// deleteBucket deletes an empty bucket; S3 refuses to delete one that holds
// objects, and trueup never empties a bucket.
func (a *applier) deleteBucket(ctx context.Context, name string) error {
	_, err := a.account.S3().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &name})
	if err != nil {
		return fmt.Errorf("delete bucket: %w", err)
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
