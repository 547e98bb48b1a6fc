package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// createRole creates a role with its tags, then its inline and attached
// policies.
func (a *applier) createRole(ctx context.Context, name string, spec *driftaws.IAMRoleSpec, tags map[string]string) error {
	client := a.account.IAM()
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 &name,
		AssumeRolePolicyDocument: awssdk.String(spec.AssumeRolePolicyDocument.JSON()),
		Description:              spec.Description,
		MaxSessionDuration:       spec.MaxSessionDuration,
		Path:                     spec.Path,
		Tags:                     iamTags(tags),
	}); err != nil {
		return fmt.Errorf("create role: %w", err)
	}
	live := &driftaws.IAMRoleSpec{}
	fields := map[string]bool{"inlinePolicies": true, "managedPolicyArns": true}
	if err := a.writeRolePolicies(ctx, name, spec, live, fields); err != nil {
		return fmt.Errorf("created, but %w", err)
	}
	return nil
}

// updateRole writes the drifted fields and the tag change.
func (a *applier) updateRole(ctx context.Context, o driftaws.Observed, spec *driftaws.IAMRoleSpec, c change) error {
	if err := immutable(c.fields, "path"); err != nil {
		return err
	}
	name := o.Desired.Ref.Name
	client := a.account.IAM()
	live, _ := o.Live.(*driftaws.IAMRoleSpec)
	if live == nil {
		live = &driftaws.IAMRoleSpec{}
	}
	if c.fields["assumeRolePolicyDocument"] {
		if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{
			RoleName: &name, PolicyDocument: awssdk.String(spec.AssumeRolePolicyDocument.JSON()),
		}); err != nil {
			return fmt.Errorf("update assume role policy: %w", err)
		}
	}
	if c.fields["description"] || c.fields["maxSessionDuration"] {
		// UpdateRole sets both; a field Git does not set keeps its live value.
		in := &iam.UpdateRoleInput{RoleName: &name, Description: live.Description, MaxSessionDuration: live.MaxSessionDuration}
		if spec.Description != nil {
			in.Description = spec.Description
		}
		if spec.MaxSessionDuration != nil {
			in.MaxSessionDuration = spec.MaxSessionDuration
		}
		if _, err := client.UpdateRole(ctx, in); err != nil {
			return fmt.Errorf("update role: %w", err)
		}
	}
	if err := a.writeRolePolicies(ctx, name, spec, live, c.fields); err != nil {
		return err
	}
	return a.tagRole(ctx, name, c.tags)
}

// writeRolePolicies makes the inline and attached policies what spec says,
// for the fields named: puts changed inline documents and deletes those
// spec lacks, attaches and detaches managed policies.
func (a *applier) writeRolePolicies(ctx context.Context, name string, spec, live *driftaws.IAMRoleSpec, fields map[string]bool) error {
	client := a.account.IAM()
	if spec.InlinePolicies != nil && fields["inlinePolicies"] {
		for _, pn := range slices.Sorted(maps.Keys(spec.InlinePolicies)) {
			doc := spec.InlinePolicies[pn]
			if doc.Equal(live.InlinePolicies[pn]) {
				continue
			}
			if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
				RoleName: &name, PolicyName: &pn, PolicyDocument: awssdk.String(doc.JSON()),
			}); err != nil {
				return fmt.Errorf("put inline policy %s: %w", pn, err)
			}
		}
		for _, pn := range slices.Sorted(maps.Keys(live.InlinePolicies)) {
			if _, keep := spec.InlinePolicies[pn]; keep {
				continue
			}
			if _, err := client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &name, PolicyName: &pn}); err != nil {
				return fmt.Errorf("delete inline policy %s: %w", pn, err)
			}
		}
	}
	if spec.ManagedPolicyArns != nil && fields["managedPolicyArns"] {
		for _, arn := range spec.ManagedPolicyArns {
			if slices.Contains(live.ManagedPolicyArns, arn) {
				continue
			}
			if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &name, PolicyArn: &arn}); err != nil {
				return fmt.Errorf("attach policy %s: %w", arn, err)
			}
		}
		for _, arn := range live.ManagedPolicyArns {
			if slices.Contains(spec.ManagedPolicyArns, arn) {
				continue
			}
			if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &name, PolicyArn: &arn}); err != nil {
				return fmt.Errorf("detach policy %s: %w", arn, err)
			}
		}
	}
	return nil
}

func (a *applier) tagRole(ctx context.Context, name string, c tagChange) error {
	client := a.account.IAM()
	if len(c.set) > 0 {
		if _, err := client.TagRole(ctx, &iam.TagRoleInput{RoleName: &name, Tags: iamTags(c.set)}); err != nil {
			return fmt.Errorf("tag role: %w", err)
		}
	}
	if len(c.remove) > 0 {
		if _, err := client.UntagRole(ctx, &iam.UntagRoleInput{RoleName: &name, TagKeys: c.remove}); err != nil {
			return fmt.Errorf("untag role: %w", err)
		}
	}
	return nil
}

// deleteRole detaches the role's managed policies, deletes its inline
// policies, removes it from its instance profiles, then deletes it.
func (a *applier) deleteRole(ctx context.Context, name string) error {
	client := a.account.IAM()
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &name})
	if err != nil {
		return fmt.Errorf("list attached policies: %w", err)
	}
	for _, p := range attached.AttachedPolicies {
		if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &name, PolicyArn: p.PolicyArn}); err != nil {
			return fmt.Errorf("detach policy %s: %w", awssdk.ToString(p.PolicyArn), err)
		}
	}
	inline, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &name})
	if err != nil {
		return fmt.Errorf("list inline policies: %w", err)
	}
	for _, pn := range inline.PolicyNames {
		if _, err := client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &name, PolicyName: &pn}); err != nil {
			return fmt.Errorf("delete inline policy %s: %w", pn, err)
		}
	}
	profiles, err := client.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: &name})
	if err != nil {
		return fmt.Errorf("list instance profiles: %w", err)
	}
	for _, p := range profiles.InstanceProfiles {
		if _, err := client.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
			RoleName: &name, InstanceProfileName: p.InstanceProfileName,
		}); err != nil {
			return fmt.Errorf("remove from instance profile %s: %w", awssdk.ToString(p.InstanceProfileName), err)
		}
	}
	if _, err := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &name}); err != nil {
		return fmt.Errorf("delete role: %w", err)
	}
	return nil
}

func iamTags(tags map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, iamtypes.Tag{Key: awssdk.String(k), Value: awssdk.String(tags[k])})
	}
	return out
}
