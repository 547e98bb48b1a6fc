package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// namesPerFilter is how many group names one DescribeSecurityGroups filter
// carries (EC2 allows 200 values per filter).
const namesPerFilter = 200

// observeGroups reads the desired groups with DescribeSecurityGroups
// filtered by group name, 200 names a call, paginated: a group's rules and
// tags come with it.
func (a *Account) observeGroups(ctx context.Context, batch []*Observed, opts ObserveOptions) {
	vpcs := make([]string, len(batch))
	for i, o := range batch {
		vpc := awssdk.ToString(o.Desired.Spec.(*SecurityGroupSpec).VpcID)
		if vpc == "" {
			var err error
			if vpc, err = a.DefaultVPC(ctx); err != nil {
				o.Err = fmt.Errorf("%s: %w", ID(o.Desired.Ref), err)
				continue
			}
		}
		vpcs[i] = vpc
	}
	names := make([]string, 0, len(batch))
	for _, o := range batch {
		names = append(names, o.Desired.Ref.Name)
	}
	groups, err := a.describeGroups(ctx, []ec2types.Filter{{Name: awssdk.String("group-name")}}, names)
	if err != nil {
		failAll(batch, readErr(KindSecurityGroup+"/*", "describe security groups", err))
		return
	}
	for i, o := range batch {
		if o.Err != nil {
			continue
		}
		g, ok := groups[groupKey{vpc: vpcs[i], name: o.Desired.Ref.Name}]
		if !ok {
			continue // missing
		}
		o.Exists, o.ARN = true, awssdk.ToString(g.GroupId)
		o.Live = a.groupSpec(g)
		o.Tags = ec2TagMap(g.Tags)
	}
}

type groupKey struct{ vpc, name string }

// describeGroups returns the groups that pass filters; when values is not
// empty, the first filter takes them, namesPerFilter at a time.
func (a *Account) describeGroups(ctx context.Context, filters []ec2types.Filter, values []string) (map[groupKey]ec2types.SecurityGroup, error) {
	out := map[groupKey]ec2types.SecurityGroup{}
	chunks := [][]string{nil}
	if len(values) > 0 {
		chunks = chunks[:0]
		for start := 0; start < len(values); start += namesPerFilter {
			chunks = append(chunks, values[start:min(start+namesPerFilter, len(values))])
		}
	}
	for _, chunk := range chunks {
		fs := append([]ec2types.Filter{}, filters...)
		if chunk != nil {
			fs[0].Values = chunk
		}
		if err := a.describeGroupPages(ctx, fs, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (a *Account) describeGroupPages(ctx context.Context, filters []ec2types.Filter, out map[groupKey]ec2types.SecurityGroup) error {
	in := &ec2.DescribeSecurityGroupsInput{MaxResults: awssdk.Int32(1000)}
	if len(filters) > 0 {
		in.Filters = filters
	}
	seen := map[string]bool{}
	for {
		page, err := a.ec2.DescribeSecurityGroups(ctx, in)
		if err != nil {
			return err
		}
		for _, g := range page.SecurityGroups {
			out[groupKey{vpc: awssdk.ToString(g.VpcId), name: awssdk.ToString(g.GroupName)}] = g
		}
		token := awssdk.ToString(page.NextToken)
		if token == "" {
			return nil
		}
		if seen[token] {
			return &ReadError{ID: "ec2", Op: "paginate", Cause: ErrPartialList, Err: errors.New("the next token repeats")}
		}
		seen[token] = true
		in.NextToken = page.NextToken
	}
}

// DefaultVPC returns the id of the region's default VPC, where groups
// without spec.vpcId live. It is read once per Account.
func (a *Account) DefaultVPC(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.defaultVPC != "" {
		return a.defaultVPC, nil
	}
	out, err := a.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("is-default"), Values: []string{"true"}}},
	})
	if err != nil {
		return "", readErr("VPC/default", "describe vpcs", err)
	}
	if len(out.Vpcs) == 0 {
		return "", fmt.Errorf("the region %s has no default VPC: set spec.vpcId: %w", a.cfg.Region, ErrInvalidObject)
	}
	a.defaultVPC = awssdk.ToString(out.Vpcs[0].VpcId)
	return a.defaultVPC, nil
}

// groupSpec renders a security group in spec form.
func (a *Account) groupSpec(g ec2types.SecurityGroup) *SecurityGroupSpec {
	spec := &SecurityGroupSpec{
		Description: awssdk.String(awssdk.ToString(g.Description)),
		VpcID:       g.VpcId,
		Ingress:     PermissionsFromAPI(g.IpPermissions),
		Egress:      PermissionsFromAPI(g.IpPermissionsEgress),
		Tags:        userTags(ec2TagMap(g.Tags)),
	}
	_ = spec.canonicalize() // live rules are valid and unique
	a.dropOwnAccount(spec)
	return spec
}

// dropOwnAccount removes the account's own id from group pairs: a pair
// without userId means a group of this account.
func (a *Account) dropOwnAccount(spec *SecurityGroupSpec) {
	for _, perms := range [][]IPPermission{spec.Ingress, spec.Egress} {
		for i := range perms {
			for j := range perms[i].UserIDGroupPairs {
				if perms[i].UserIDGroupPairs[j].UserID == a.cfg.AccountID {
					perms[i].UserIDGroupPairs[j].UserID = ""
				}
			}
		}
	}
}

// PermissionsFromAPI converts EC2's permissions, unmerged and in EC2's order.
func PermissionsFromAPI(perms []ec2types.IpPermission) []IPPermission {
	out := make([]IPPermission, 0, len(perms))
	for _, p := range perms {
		q := IPPermission{IPProtocol: awssdk.ToString(p.IpProtocol), FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IpRanges {
			q.IPRanges = append(q.IPRanges, IPRange{CidrIP: awssdk.ToString(r.CidrIp), Description: awssdk.ToString(r.Description)})
		}
		for _, r := range p.Ipv6Ranges {
			q.IPv6Ranges = append(q.IPv6Ranges, IPv6Range{CidrIPv6: awssdk.ToString(r.CidrIpv6), Description: awssdk.ToString(r.Description)})
		}
		for _, r := range p.PrefixListIds {
			q.PrefixListIDs = append(q.PrefixListIDs, PrefixListID{PrefixListID: awssdk.ToString(r.PrefixListId), Description: awssdk.ToString(r.Description)})
		}
		for _, r := range p.UserIdGroupPairs {
			q.UserIDGroupPairs = append(q.UserIDGroupPairs, UserIDGroupPair{GroupID: awssdk.ToString(r.GroupId), UserID: awssdk.ToString(r.UserId), Description: awssdk.ToString(r.Description)})
		}
		out = append(out, q)
	}
	return out
}

// PermissionsToAPI converts permissions to EC2's type.
func PermissionsToAPI(perms []IPPermission) []ec2types.IpPermission {
	out := make([]ec2types.IpPermission, 0, len(perms))
	for _, p := range perms {
		q := ec2types.IpPermission{IpProtocol: awssdk.String(p.IPProtocol), FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IPRanges {
			q.IpRanges = append(q.IpRanges, ec2types.IpRange{CidrIp: awssdk.String(r.CidrIP), Description: optional(r.Description)})
		}
		for _, r := range p.IPv6Ranges {
			q.Ipv6Ranges = append(q.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: awssdk.String(r.CidrIPv6), Description: optional(r.Description)})
		}
		for _, r := range p.PrefixListIDs {
			q.PrefixListIds = append(q.PrefixListIds, ec2types.PrefixListId{PrefixListId: awssdk.String(r.PrefixListID), Description: optional(r.Description)})
		}
		for _, r := range p.UserIDGroupPairs {
			q.UserIdGroupPairs = append(q.UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: awssdk.String(r.GroupID), UserId: optional(r.UserID), Description: optional(r.Description)})
		}
		out = append(out, q)
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return out
}

// isDefaultGroup reports whether a group is a VPC's default group, which
// AWS creates and which cannot be deleted.
func isDefaultGroup(name string) bool { return strings.EqualFold(name, "default") }

// SecurityGroupName returns the name of the security group with id, for
// callers that know a group only by id (a CloudTrail event). A group that
// does not exist (any more) is an error.
func (a *Account) SecurityGroupName(ctx context.Context, id string) (string, error) {
	out, err := a.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		return "", fmt.Errorf("SecurityGroup/%s: describe: %w", id, err)
	}
	if len(out.SecurityGroups) != 1 {
		return "", fmt.Errorf("SecurityGroup/%s: describe: %d groups have that id", id, len(out.SecurityGroups))
	}
	return awssdk.ToString(out.SecurityGroups[0].GroupName), nil
}
