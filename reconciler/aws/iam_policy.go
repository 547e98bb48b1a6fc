package aws

import (
	"context"
	"fmt"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// maxPolicyVersions is how many versions IAM keeps of a managed policy.
const maxPolicyVersions = 5

func (a *applier) createPolicy(ctx context.Context, name string, spec *driftaws.IAMPolicySpec, tags map[string]string) error {
	if _, err := a.account.IAM().CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName:     &name,
		PolicyDocument: awssdk.String(spec.PolicyDocument.JSON()),
		Description:    spec.Description,
		Path:           spec.Path,
		Tags:           iamTags(tags),
	}); err != nil {
		return fmt.Errorf("create policy: %w", err)
	}
	return nil
}

// updatePolicy publishes a drifted document as a new default version and
// writes the tag change. Description and path cannot change in IAM.
func (a *applier) updatePolicy(ctx context.Context, o driftaws.Observed, spec *driftaws.IAMPolicySpec, c change) error {
	if err := immutable(c.fields, "description", "path"); err != nil {
		return err
	}
	arn := o.ARN
	client := a.account.IAM()
	if c.fields["policyDocument"] {
		if err := a.makeRoomForVersion(ctx, arn); err != nil {
			return err
		}
		if _, err := client.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{
			PolicyArn: &arn, PolicyDocument: awssdk.String(spec.PolicyDocument.JSON()), SetAsDefault: true,
		}); err != nil {
			return fmt.Errorf("create policy version: %w", err)
		}
	}
	if len(c.tags.set) > 0 {
		if _, err := client.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: &arn, Tags: iamTags(c.tags.set)}); err != nil {
			return fmt.Errorf("tag policy: %w", err)
		}
	}
	if len(c.tags.remove) > 0 {
		if _, err := client.UntagPolicy(ctx, &iam.UntagPolicyInput{PolicyArn: &arn, TagKeys: c.tags.remove}); err != nil {
			return fmt.Errorf("untag policy: %w", err)
		}
	}
	return nil
}

// makeRoomForVersion deletes the oldest non-default version when the policy
// has as many versions as IAM keeps.
func (a *applier) makeRoomForVersion(ctx context.Context, arn string) error {
	versions, err := a.policyVersions(ctx, arn)
	if err != nil {
		return err
	}
	if len(versions) < maxPolicyVersions {
		return nil
	}
	for _, v := range versions { // oldest first
		if v.IsDefaultVersion {
			continue
		}
		if _, err := a.account.IAM().DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &arn, VersionId: v.VersionId}); err != nil {
			return fmt.Errorf("delete oldest policy version %s: %w", awssdk.ToString(v.VersionId), err)
		}
		return nil
	}
	return nil
}

// policyVersions lists a policy's versions, oldest first.
func (a *applier) policyVersions(ctx context.Context, arn string) ([]iamtypes.PolicyVersion, error) {
	var versions []iamtypes.PolicyVersion
	p := iam.NewListPolicyVersionsPaginator(a.account.IAM(), &iam.ListPolicyVersionsInput{PolicyArn: &arn})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policy versions: %w", err)
		}
		versions = append(versions, page.Versions...)
	}
	sort.SliceStable(versions, func(i, j int) bool {
		ti, tj := versions[i].CreateDate, versions[j].CreateDate
		if ti == nil || tj == nil || ti.Equal(*tj) {
			return versionNumber(versions[i].VersionId) < versionNumber(versions[j].VersionId)
		}
		return ti.Before(*tj)
	})
	return versions, nil
}

// versionNumber parses IAM's "v12".
func versionNumber(id *string) int {
	var n int
	_, _ = fmt.Sscanf(awssdk.ToString(id), "v%d", &n)
	return n
}

// deletePolicy deletes a policy's non-default versions, then the policy.
// IAM refuses while the policy is attached: trueup does not detach it from
// roles, users or groups it may not manage.
func (a *applier) deletePolicy(ctx context.Context, arn string) error {
	got, err := a.account.IAM().GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
	if err != nil {
		return fmt.Errorf("get policy: %w", err)
	}
	if n := awssdk.ToInt32(got.Policy.AttachmentCount); n > 0 {
		return fmt.Errorf("delete policy: attached to %d users, groups or roles: detach it first", n)
	}
	versions, err := a.policyVersions(ctx, arn)
	if err != nil {
		return err
	}
	for _, v := range versions {
		if v.IsDefaultVersion {
			continue
		}
		if _, err := a.account.IAM().DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &arn, VersionId: v.VersionId}); err != nil {
			return fmt.Errorf("delete policy version %s: %w", awssdk.ToString(v.VersionId), err)
		}
	}
	if _, err := a.account.IAM().DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn}); err != nil {
		return fmt.Errorf("delete policy: %w", err)
	}
	return nil
}
