package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// createGroup creates a group with its tags, then makes its rules what the
// spec says (EC2 gives a new group an allow-all egress rule: it is revoked
// when the spec sets egress without it).
func (a *applier) createGroup(ctx context.Context, name string, spec *driftaws.SecurityGroupSpec, tags map[string]string) error {
	client := a.account.EC2()
	out, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   &name,
		Description: spec.Description,
		VpcId:       spec.VpcID,
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: ec2Tags(tags),
		}},
	})
	var id string
	switch {
	case err == nil:
		id = awssdk.ToString(out.GroupId)
	case isDuplicateGroup(err):
		// A retried attempt whose first try created the group (the first
		// answer was cut by its deadline): continue with it only when it
		// carries this target's tag, never with another's group.
		if id = a.ownDuplicate(ctx, name, spec.VpcID, tags); id == "" {
			return fmt.Errorf("create security group: %w", err)
		}
	default:
		return fmt.Errorf("create security group: %w", err)
	}
	live, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		return fmt.Errorf("created %s, but read it back: %w", id, err)
	}
	if len(live.SecurityGroups) != 1 {
		return fmt.Errorf("created %s, but read back %d groups", id, len(live.SecurityGroups))
	}
	g := live.SecurityGroups[0]
	if err := a.writeRules(ctx, id, spec.Ingress, driftaws.PermissionsFromAPI(g.IpPermissions), false); err != nil {
		return fmt.Errorf("created %s, but %w", id, err)
	}
	if err := a.writeRules(ctx, id, spec.Egress, driftaws.PermissionsFromAPI(g.IpPermissionsEgress), true); err != nil {
		return fmt.Errorf("created %s, but %w", id, err)
	}
	return nil
}

// updateGroup writes drifted rules and the tag change. Description and VPC
// cannot change in EC2.
func (a *applier) updateGroup(ctx context.Context, o driftaws.Observed, spec *driftaws.SecurityGroupSpec, c change) error {
	if err := immutable(c.fields, "description", "vpcId"); err != nil {
		return err
	}
	live, _ := o.Live.(*driftaws.SecurityGroupSpec)
	if live == nil {
		return errors.New("no live rules read")
	}
	if c.fields["ingress"] {
		if err := a.writeRules(ctx, o.ARN, spec.Ingress, live.Ingress, false); err != nil {
			return err
		}
	}
	if c.fields["egress"] {
		if err := a.writeRules(ctx, o.ARN, spec.Egress, live.Egress, true); err != nil {
			return err
		}
	}
	return a.tagGroup(ctx, o.ARN, c.tags)
}

// writeRules makes a group's ingress (or egress) rules want, given the live
// ones: revokes live rules want lacks (or whose description changed), then
// authorizes the rules live lacks. A nil want leaves the rules alone.
func (a *applier) writeRules(ctx context.Context, groupID string, want, live []driftaws.IPPermission, egress bool) error {
	if want == nil {
		return nil
	}
	wantSet := map[string]bool{}
	for _, r := range driftaws.FlattenRules(want) {
		wantSet[a.ruleKey(r)] = true
	}
	liveSet := map[string]bool{}
	var revoke, authorize []driftaws.IPPermission
	for _, r := range driftaws.FlattenRules(live) {
		liveSet[a.ruleKey(r)] = true
		if !wantSet[a.ruleKey(r)] {
			revoke = append(revoke, r)
		}
	}
	for _, r := range driftaws.FlattenRules(want) {
		if !liveSet[a.ruleKey(r)] {
			authorize = append(authorize, r)
		}
	}
	client := a.account.EC2()
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	if len(revoke) > 0 {
		var err error
		if egress {
			_, err = client.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: &groupID, IpPermissions: driftaws.PermissionsToAPI(revoke)})
		} else {
			_, err = client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &groupID, IpPermissions: driftaws.PermissionsToAPI(revoke)})
		}
		if err != nil {
			return fmt.Errorf("revoke %d %s rules: %w", len(revoke), dir, err)
		}
	}
	if len(authorize) > 0 {
		var err error
		if egress {
			_, err = client.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: &groupID, IpPermissions: driftaws.PermissionsToAPI(authorize)})
		} else {
			_, err = client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &groupID, IpPermissions: driftaws.PermissionsToAPI(authorize)})
		}
		if err != nil {
			return fmt.Errorf("authorize %d %s rules: %w", len(authorize), dir, err)
		}
	}
	return nil
}

// ruleKey is driftaws.RuleKey of a one-source rule, where a group pair of
// this account is the same with or without the account's id.
func (a *applier) ruleKey(r driftaws.IPPermission) string {
	if len(r.UserIDGroupPairs) == 1 && r.UserIDGroupPairs[0].UserID == a.account.Config().AccountID {
		pair := r.UserIDGroupPairs[0]
		pair.UserID = ""
		r.UserIDGroupPairs = []driftaws.UserIDGroupPair{pair}
	}
	return driftaws.RuleKey(r)
}

func (a *applier) tagGroup(ctx context.Context, groupID string, c tagChange) error {
	client := a.account.EC2()
	if len(c.set) > 0 {
		if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{groupID}, Tags: ec2Tags(c.set)}); err != nil {
			return fmt.Errorf("tag group: %w", err)
		}
	}
	if len(c.remove) > 0 {
		tags := make([]ec2types.Tag, len(c.remove))
		for i, k := range c.remove {
			tags[i] = ec2types.Tag{Key: awssdk.String(k)}
		}
		if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{groupID}, Tags: tags}); err != nil {
			return fmt.Errorf("untag group: %w", err)
		}
	}
	return nil
}

func (a *applier) deleteGroup(ctx context.Context, groupID string) error {
	if _, err := a.account.EC2().DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &groupID}); err != nil {
		return fmt.Errorf("delete security group %s: %w", groupID, err)
	}
	return nil
}

func ec2Tags(tags map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(tags[k])})
	}
	return out
}

// isDuplicateGroup reports EC2's answer to creating a group whose name
// exists in the VPC.
func isDuplicateGroup(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidGroup.Duplicate"
}

// ownDuplicate returns the id of the group named name in vpc (nil: the
// default VPC) when it carries this target's tag, else "".
func (a *applier) ownDuplicate(ctx context.Context, name string, vpc *string, tags map[string]string) string {
	filters := []ec2types.Filter{{Name: awssdk.String("group-name"), Values: []string{name}}}
	if v := awssdk.ToString(vpc); v != "" {
		filters = append(filters, ec2types.Filter{Name: awssdk.String("vpc-id"), Values: []string{v}})
	}
	live, err := a.account.EC2().DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
	if err != nil || len(live.SecurityGroups) != 1 {
		return ""
	}
	g := live.SecurityGroups[0]
	for _, tag := range g.Tags {
		if awssdk.ToString(tag.Key) == driftaws.TagTarget && awssdk.ToString(tag.Value) == tags[driftaws.TagTarget] && tags[driftaws.TagTarget] != "" {
			return awssdk.ToString(g.GroupId)
		}
	}
	return ""
}
