package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/trueup-dev/trueup/drift"
)

// Managed lists the resources of every supported kind that carry trueup's
// tags for target (TagTarget=target and TagManagedBy=trueup): what a prune
// may delete. Buckets, roles and policies are listed with their tags (S3 and
// IAM policies need one tag read per resource); security groups are
// filtered by tag on the server.
//
// A failed listing is an error (ErrUnknown), never an empty result: the
// caller must not prune on it.
func (a *Account) Managed(ctx context.Context, target string) ([]Resource, error) {
	if err := a.CheckIdentity(ctx); err != nil {
		return nil, err
	}
	listed, err := a.list(ctx, Kinds(), true, []ec2types.Filter{
		{Name: awssdk.String("tag:" + TagTarget), Values: []string{target}},
	})
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, r := range listed {
		if r.Tags[TagTarget] == target && r.Tags[TagManagedBy] == ManagedBy {
			out = append(out, r)
		}
	}
	return out, nil
}

// Unmanaged lists the resources of kinds (all supported kinds when empty)
// that pass filter and that declared does not list: resources no target
// manages, as driftctl reports them. Each is reported with status
// drift.Unmanaged, kind by kind in the order of kinds, then by name. Resources AWS owns are left
// out: service-linked roles (path /aws-service-role/), AWS SSO roles
// (/aws-reserved/) and VPC default security groups.
//
// A kind whose listing fails is reported as one Unknown report named "*"
// with the error, and the error (ErrUnknown) is returned: a failed listing
// never reads as "nothing unmanaged".
func (a *Account) Unmanaged(ctx context.Context, kinds []string, filter Filter, declared []drift.ObjectRef) ([]drift.ObjectReport, error) {
	if len(kinds) == 0 {
		kinds = Kinds()
	}
	for _, k := range kinds {
		if !slices.Contains(Kinds(), k) {
			return nil, fmt.Errorf("unmanaged: kind %q is not one of %s", k, strings.Join(Kinds(), ", "))
		}
	}
	if err := a.CheckIdentity(ctx); err != nil {
		return nil, err
	}
	isDeclared := map[key]bool{}
	for _, r := range declared {
		isDeclared[keyOf(r)] = true
	}
	var out []drift.ObjectReport
	var errs []error
	for _, kind := range kinds {
		listed, err := a.list(ctx, []string{kind}, len(filter.Tags) > 0, nil)
		if err != nil {
			errs = append(errs, err)
			out = append(out, UnknownListings(err, "unmanaged resources")...)
			continue
		}
		for _, r := range listed {
			if isDeclared[keyOf(r.Ref)] || !filter.matchesName(r.Ref.Name) || !filter.matchesTags(r.Tags) {
				continue
			}
			out = append(out, drift.ObjectReport{Ref: r.Ref, Status: drift.Unmanaged})
		}
	}
	return out, errors.Join(errs...)
}

// list lists the resources of kinds, with their tags when withTags (a
// security group's tags always come with it). sgFilters narrow the
// security groups on the server. Kinds are listed concurrently; any failed
// listing fails the whole call, with a *ListError per failed kind. The
// result is sorted by kind and name.
func (a *Account) list(ctx context.Context, kinds []string, withTags bool, sgFilters []ec2types.Filter) ([]Resource, error) {
	results := make([][]Resource, len(kinds))
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Go(func() {
			switch kind {
			case KindS3Bucket:
				results[i], errs[i] = a.listBucketResources(ctx, withTags)
			case KindIAMRole:
				results[i], errs[i] = a.listRoleResources(ctx, withTags)
			case KindIAMPolicy:
				results[i], errs[i] = a.listPolicyResources(ctx, withTags)
			case KindSecurityGroup:
				results[i], errs[i] = a.listGroupResources(ctx, sgFilters)
			}
			if errs[i] != nil {
				errs[i] = &ListError{Kind: kind, Err: errs[i]}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Resource
	for _, r := range results {
		out = append(out, r...)
	}
	slices.SortFunc(out, func(x, y Resource) int {
		if c := strings.Compare(x.Ref.Kind, y.Ref.Kind); c != 0 {
			return c
		}
		return strings.Compare(x.Ref.Name, y.Ref.Name)
	})
	return out, nil
}

func (a *Account) listBucketResources(ctx context.Context, withTags bool) ([]Resource, error) {
	names, err := a.listBuckets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Resource, 0, len(names))
	for _, n := range slices.Sorted(maps.Keys(names)) {
		out = append(out, Resource{Ref: Ref(KindS3Bucket, n), ARN: "arn:aws:s3:::" + n})
	}
	if !withTags {
		return out, nil
	}
	return a.readTags(ctx, out, "read tags", "NoSuchBucket", func(ctx context.Context, r Resource) (map[string]string, error) {
		return a.readBucketTags(ctx, r.Ref.Name)
	})
}

func (a *Account) listRoleResources(ctx context.Context, withTags bool) ([]Resource, error) {
	const id = KindIAMRole + "/*"
	roles, err := a.listRoles(ctx)
	if err != nil {
		return nil, readErr(id, "list roles", err)
	}
	var details map[string]iamtypes.RoleDetail
	if withTags {
		d, err := a.roleDetails(ctx)
		if err != nil {
			return nil, readErr(id, "get account authorization details", err)
		}
		details = d
	}
	out := make([]Resource, 0, len(roles))
	for _, name := range slices.Sorted(maps.Keys(roles)) {
		r := roles[name]
		if p := awssdk.ToString(r.Path); strings.HasPrefix(p, "/aws-service-role/") || strings.HasPrefix(p, "/aws-reserved/") {
			continue
		}
		res := Resource{Ref: Ref(KindIAMRole, name), ARN: awssdk.ToString(r.Arn)}
		if withTags {
			d, ok := details[name]
			if !ok {
				continue // created after the details were read: not ours yet
			}
			res.Tags = tagMap(d.Tags)
		}
		out = append(out, res)
	}
	return out, nil
}

func (a *Account) listPolicyResources(ctx context.Context, withTags bool) ([]Resource, error) {
	policies, err := a.listPolicies(ctx)
	if err != nil {
		return nil, readErr(KindIAMPolicy+"/*", "list policies", err)
	}
	out := make([]Resource, 0, len(policies))
	for _, p := range policies {
		out = append(out, Resource{Ref: Ref(KindIAMPolicy, awssdk.ToString(p.PolicyName)), ARN: awssdk.ToString(p.Arn)})
	}
	if !withTags {
		return out, nil
	}
	return a.readTags(ctx, out, "list tags", "NoSuchEntity", func(ctx context.Context, r Resource) (map[string]string, error) {
		return a.listPolicyTags(ctx, r.ARN)
	})
}

func (a *Account) listGroupResources(ctx context.Context, filters []ec2types.Filter) ([]Resource, error) {
	groups, err := a.describeGroups(ctx, filters, nil)
	if err != nil {
		return nil, readErr(KindSecurityGroup+"/*", "describe security groups", err)
	}
	out := make([]Resource, 0, len(groups))
	for _, g := range groups {
		name := awssdk.ToString(g.GroupName)
		if isDefaultGroup(name) {
			continue
		}
		out = append(out, Resource{Ref: Ref(KindSecurityGroup, name), ARN: awssdk.ToString(g.GroupId), Tags: ec2TagMap(g.Tags)})
	}
	return out, nil
}

// readTags fills in the tags of rs with read, concurrently, one call per
// resource (what S3 and IAM policies need). A resource whose read answers
// goneCode was deleted since the listing and is dropped; any other failure
// fails the whole call, with op naming the read.
func (a *Account) readTags(ctx context.Context, rs []Resource, op, goneCode string, read func(context.Context, Resource) (map[string]string, error)) ([]Resource, error) {
	errs := make([]error, len(rs))
	gone := make([]bool, len(rs))
	a.forEach(ctx, len(rs), func(ctx context.Context, i int) {
		tags, err := read(ctx, rs[i])
		switch {
		case hasCode(err, goneCode):
			gone[i] = true
		case err != nil:
			errs[i] = readErr(ID(rs[i].Ref), op, err)
		default:
			rs[i].Tags = tags
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil && len(rs) > 0 {
		return nil, readErr(rs[0].Ref.Kind+"/*", op, err)
	}
	return dropGone(rs, gone), nil
}

func dropGone(rs []Resource, gone []bool) []Resource {
	out := rs[:0]
	for i, r := range rs {
		if !gone[i] {
			out = append(out, r)
		}
	}
	return out
}

// ListError is the failed listing of every resource of one kind (by
// Managed or Unmanaged): it matches ErrUnknown and its cause through Err,
// whose message starts with what failed.
type ListError struct {
	Kind string
	Err  error
}

func (e *ListError) Error() string { return e.Err.Error() }
func (e *ListError) Unwrap() error { return e.Err }

// UnknownListings turns the error of a failed Managed or Unmanaged listing
// into reports a user can read: one Unknown report named "Kind/*" per kind
// whose listing failed (kind "*" for a failure of none in particular, such
// as the identity check), its Error saying that what is unknown (e.g.
// "resources pending prune") could not be listed and why. nil for a nil err.
func UnknownListings(err error, what string) []drift.ObjectReport {
	if err == nil {
		return nil
	}
	var out []drift.ObjectReport
	for _, le := range listErrors(err) {
		out = append(out, unknownListing(le.Kind, what, le.Err))
	}
	if len(out) == 0 {
		out = append(out, unknownListing("*", what, err))
	}
	return out
}

func unknownListing(kind, what string, err error) drift.ObjectReport {
	return drift.ObjectReport{Ref: Ref(kind, "*"), Status: drift.Unknown,
		Error: fmt.Sprintf("%s unknown: listing failed: %v", what, err)}
}

// listErrors collects the *ListErrors in err's tree (joined and wrapped).
func listErrors(err error) []*ListError {
	if le, ok := err.(*ListError); ok {
		return []*ListError{le}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*ListError
		for _, e := range j.Unwrap() {
			out = append(out, listErrors(e)...)
		}
		return out
	}
	if u := errors.Unwrap(err); u != nil {
		return listErrors(u)
	}
	return nil
}
