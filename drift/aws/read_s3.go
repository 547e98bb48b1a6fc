package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// observeBuckets lists the region's buckets once, then reads the fields each
// existing bucket's spec sets, one bucket per goroutine.
func (a *Account) observeBuckets(ctx context.Context, batch []*Observed, opts ObserveOptions) {
	names, err := a.listBuckets(ctx)
	if err != nil {
		failAll(batch, err)
		return
	}
	a.forEach(ctx, len(batch), func(ctx context.Context, i int) {
		o := batch[i]
		name := o.Desired.Ref.Name
		if !names[name] {
			return // missing
		}
		need := setFields(o.Desired.Spec, opts.Tags)
		live, tags, exists, err := a.readBucket(ctx, name, need)
		o.Err, o.Exists, o.Live, o.Tags = err, exists, live, tags
		o.ARN = "arn:aws:s3:::" + name
	})
}

// listBuckets returns the names of the account's buckets in the Account's
// region.
func (a *Account) listBuckets(ctx context.Context) (map[string]bool, error) {
	const id, op = KindS3Bucket + "/*", "list buckets"
	names := map[string]bool{}
	in := &s3.ListBucketsInput{MaxBuckets: awssdk.Int32(1000), BucketRegion: awssdk.String(a.cfg.Region)}
	seen := map[string]bool{}
	for {
		out, err := a.s3.ListBuckets(ctx, in)
		if err != nil {
			return nil, readErr(id, op, err)
		}
		for _, b := range out.Buckets {
			if r := awssdk.ToString(b.BucketRegion); r != "" && r != a.cfg.Region {
				continue
			}
			names[awssdk.ToString(b.Name)] = true
		}
		token := awssdk.ToString(out.ContinuationToken)
		if token == "" {
			return names, nil
		}
		if seen[token] {
			return nil, partial(id, op, "the continuation token repeats")
		}
		seen[token] = true
		in.ContinuationToken = out.ContinuationToken
	}
}

// readBucket reads the bucket's configurations that need names. exists is
// false when the bucket vanished since it was listed.
func (a *Account) readBucket(ctx context.Context, name string, need map[string]bool) (spec *S3BucketSpec, tags map[string]string, exists bool, err error) {
	id := KindS3Bucket + "/" + name
	spec = &S3BucketSpec{}
	steps := []struct {
		field string
		op    string
		read  func() error
	}{
		{"versioning", "read versioning", func() error { return a.readVersioning(ctx, name, spec) }},
		{"serverSideEncryptionConfiguration", "read encryption", func() error { return a.readEncryption(ctx, name, spec) }},
		{"publicAccessBlock", "read public access block", func() error { return a.readPublicAccessBlock(ctx, name, spec) }},
		{"policy", "read policy", func() error { return a.readBucketPolicy(ctx, name, spec) }},
		{"tags", "read tags", func() (err error) { tags, err = a.readBucketTags(ctx, name); return err }},
	}
	for _, s := range steps {
		if !need[s.field] {
			continue
		}
		if err := s.read(); err != nil {
			if hasCode(err, "NoSuchBucket") {
				return nil, nil, false, nil
			}
			return nil, nil, false, readErr(id, s.op, err)
		}
	}
	if tags != nil {
		spec.Tags = userTags(tags)
	}
	return spec, tags, true, nil
}

func (a *Account) readVersioning(ctx context.Context, name string, spec *S3BucketSpec) error {
	out, err := a.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &name})
	if err != nil {
		return err
	}
	if out.Status != "" {
		spec.Versioning = &Versioning{Status: string(out.Status)}
	}
	return nil
}

func (a *Account) readEncryption(ctx context.Context, name string, spec *S3BucketSpec) error {
	out, err := a.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: &name})
	switch {
	case hasCode(err, "ServerSideEncryptionConfigurationNotFoundError"):
		return nil
	case err != nil:
		return err
	case out.ServerSideEncryptionConfiguration == nil:
		return nil
	}
	cfg := &SSEConfiguration{Rules: []SSERule{}}
	for _, r := range out.ServerSideEncryptionConfiguration.Rules {
		cfg.Rules = append(cfg.Rules, sseRuleFromAPI(r))
	}
	spec.ServerSideEncryptionConfiguration = cfg.canonical()
	return nil
}

func sseRuleFromAPI(r s3types.ServerSideEncryptionRule) SSERule {
	var out SSERule
	if d := r.ApplyServerSideEncryptionByDefault; d != nil {
		out.ApplyServerSideEncryptionByDefault = &SSEDefault{SSEAlgorithm: string(d.SSEAlgorithm), KMSMasterKeyID: awssdk.ToString(d.KMSMasterKeyID)}
	}
	out.BucketKeyEnabled = r.BucketKeyEnabled
	return out
}

// canonicalize puts the desired encryption in the form reads return.
func (s *S3BucketSpec) canonicalize() error {
	s.ServerSideEncryptionConfiguration = s.ServerSideEncryptionConfiguration.canonical()
	return nil
}

// canonical drops a false bucketKeyEnabled, which is the same as unset.
func (c *SSEConfiguration) canonical() *SSEConfiguration {
	if c == nil {
		return nil
	}
	for i := range c.Rules {
		if b := c.Rules[i].BucketKeyEnabled; b != nil && !*b {
			c.Rules[i].BucketKeyEnabled = nil
		}
	}
	return c
}

// readPublicAccessBlock reads the block; a bucket without one blocks
// nothing, so it reads as four false flags.
func (a *Account) readPublicAccessBlock(ctx context.Context, name string, spec *S3BucketSpec) error {
	out, err := a.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: &name})
	pab := s3types.PublicAccessBlockConfiguration{}
	switch {
	case hasCode(err, "NoSuchPublicAccessBlockConfiguration"):
	case err != nil:
		return err
	case out.PublicAccessBlockConfiguration != nil:
		pab = *out.PublicAccessBlockConfiguration
	}
	f := func(b *bool) *bool { return awssdk.Bool(awssdk.ToBool(b)) }
	spec.PublicAccessBlock = &PublicAccessBlock{
		BlockPublicAcls:       f(pab.BlockPublicAcls),
		IgnorePublicAcls:      f(pab.IgnorePublicAcls),
		BlockPublicPolicy:     f(pab.BlockPublicPolicy),
		RestrictPublicBuckets: f(pab.RestrictPublicBuckets),
	}
	return nil
}

func (a *Account) readBucketPolicy(ctx context.Context, name string, spec *S3BucketSpec) error {
	out, err := a.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: &name})
	switch {
	case hasCode(err, "NoSuchBucketPolicy"):
		return nil
	case err != nil:
		return err
	}
	p, err := NewPolicy(awssdk.ToString(out.Policy))
	if err != nil {
		return fmt.Errorf("live policy: %w", err)
	}
	spec.Policy = p
	return nil
}

func (a *Account) readBucketTags(ctx context.Context, name string) (map[string]string, error) {
	out, err := a.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: &name})
	switch {
	case hasCode(err, "NoSuchTagSet", "NoSuchTagSetError"):
		return map[string]string{}, nil
	case err != nil:
		return nil, err
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return tags, nil
}

// userTags returns tags without trueup's own.
func userTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if !IsOwnTag(k) {
			out[k] = v
		}
	}
	return out
}
