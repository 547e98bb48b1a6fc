package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// observeRoles reads roles one by one (GetRole and, when the spec sets
// them, the inline and attached policies), or, from Config.BulkThreshold
// roles on, from two account-wide paginated listings: ListRoles and
// GetAccountAuthorizationDetails.
func (a *Account) observeRoles(ctx context.Context, batch []*Observed, opts ObserveOptions) {
	if len(batch) >= a.cfg.BulkThreshold {
		a.observeRolesBulk(ctx, batch, opts)
		return
	}
	a.forEach(ctx, len(batch), func(ctx context.Context, i int) {
		o := batch[i]
		a.readRole(ctx, o, setFields(o.Desired.Spec, opts.Tags))
	})
}

func (a *Account) readRole(ctx context.Context, o *Observed, need map[string]bool) {
	name := o.Desired.Ref.Name
	id := KindIAMRole + "/" + name
	out, err := a.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	switch {
	case hasCode(err, "NoSuchEntity"):
		return
	case err != nil:
		o.Err = readErr(id, "get role", err)
		return
	}
	spec, err := roleSpec(*out.Role)
	if err != nil {
		o.Err = readErr(id, "get role", err)
		return
	}
	if need["inlinePolicies"] {
		if spec.InlinePolicies, err = a.readInlinePolicies(ctx, name); err != nil {
			o.Err = readErr(id, "read inline policies", err)
			return
		}
	}
	if need["managedPolicyArns"] {
		if spec.ManagedPolicyArns, err = a.readAttachedPolicies(ctx, name); err != nil {
			o.Err = readErr(id, "read attached policies", err)
			return
		}
	}
	o.Exists, o.ARN, o.Live = true, awssdk.ToString(out.Role.Arn), spec
	if need["tags"] {
		o.Tags = tagMap(out.Role.Tags)
		spec.Tags = userTags(o.Tags)
	}
}

// roleSpec renders what GetRole and ListRoles tell about a role.
func roleSpec(r iamtypes.Role) (*IAMRoleSpec, error) {
	spec := &IAMRoleSpec{
		Description:        awssdk.String(awssdk.ToString(r.Description)),
		MaxSessionDuration: awssdk.Int32(awssdk.ToInt32(r.MaxSessionDuration)),
		Path:               awssdk.String(awssdk.ToString(r.Path)),
	}
	if doc := awssdk.ToString(r.AssumeRolePolicyDocument); doc != "" {
		p, err := NewPolicy(doc)
		if err != nil {
			return nil, fmt.Errorf("live assume role policy document: %w", err)
		}
		spec.AssumeRolePolicyDocument = p
	}
	return spec, nil
}

func (a *Account) readInlinePolicies(ctx context.Context, role string) (map[string]*Policy, error) {
	var names []string
	in := &iam.ListRolePoliciesInput{RoleName: &role}
	err := paginateIAM(func(marker *string) (*string, bool, error) {
		in.Marker = marker
		out, err := a.iam.ListRolePolicies(ctx, in)
		if err != nil {
			return nil, false, err
		}
		names = append(names, out.PolicyNames...)
		return out.Marker, out.IsTruncated, nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Policy, len(names))
	for _, n := range names {
		got, err := a.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &role, PolicyName: &n})
		if err != nil {
			return nil, fmt.Errorf("inline policy %s: %w", n, err)
		}
		if out[n], err = NewPolicy(awssdk.ToString(got.PolicyDocument)); err != nil {
			return nil, fmt.Errorf("live inline policy %s: %w", n, err)
		}
	}
	return out, nil
}

func (a *Account) readAttachedPolicies(ctx context.Context, role string) ([]string, error) {
	arns := []string{}
	in := &iam.ListAttachedRolePoliciesInput{RoleName: &role}
	err := paginateIAM(func(marker *string) (*string, bool, error) {
		in.Marker = marker
		out, err := a.iam.ListAttachedRolePolicies(ctx, in)
		if err != nil {
			return nil, false, err
		}
		for _, p := range out.AttachedPolicies {
			arns = append(arns, awssdk.ToString(p.PolicyArn))
		}
		return out.Marker, out.IsTruncated, nil
	})
	sort.Strings(arns)
	return arns, err
}

// observeRolesBulk reads every role of the account with ListRoles and, when
// a spec needs inline or attached policies or tags,
// GetAccountAuthorizationDetails, then picks the desired ones.
func (a *Account) observeRolesBulk(ctx context.Context, batch []*Observed, opts ObserveOptions) {
	const id = KindIAMRole + "/*"
	need := needs(batch, opts.Tags)
	roles, err := a.listRoles(ctx)
	if err != nil {
		failAll(batch, readErr(id, "list roles", err))
		return
	}
	var details map[string]iamtypes.RoleDetail
	if need["inlinePolicies"] || need["managedPolicyArns"] || need["tags"] {
		if details, err = a.roleDetails(ctx); err != nil {
			failAll(batch, readErr(id, "get account authorization details", err))
			return
		}
	}
	for _, o := range batch {
		name := o.Desired.Ref.Name
		r, ok := roles[name]
		if !ok {
			continue // missing
		}
		spec, err := roleSpec(r)
		if err == nil && details != nil {
			err = mergeRoleDetail(spec, o, details, setFields(o.Desired.Spec, opts.Tags))
		}
		if err != nil {
			o.Err = readErr(KindIAMRole+"/"+name, "read role", err)
			continue
		}
		o.Exists, o.ARN, o.Live = true, awssdk.ToString(r.Arn), spec
	}
}

// mergeRoleDetail adds the policies and tags of a role's authorization
// details to spec.
func mergeRoleDetail(spec *IAMRoleSpec, o *Observed, details map[string]iamtypes.RoleDetail, need map[string]bool) error {
	d, ok := details[o.Desired.Ref.Name]
	if !ok {
		return errors.New("listed by ListRoles but not by GetAccountAuthorizationDetails (changed while read)")
	}
	if need["inlinePolicies"] {
		spec.InlinePolicies = map[string]*Policy{}
		for _, p := range d.RolePolicyList {
			doc, err := NewPolicy(awssdk.ToString(p.PolicyDocument))
			if err != nil {
				return fmt.Errorf("live inline policy %s: %w", awssdk.ToString(p.PolicyName), err)
			}
			spec.InlinePolicies[awssdk.ToString(p.PolicyName)] = doc
		}
	}
	if need["managedPolicyArns"] {
		spec.ManagedPolicyArns = []string{}
		for _, p := range d.AttachedManagedPolicies {
			spec.ManagedPolicyArns = append(spec.ManagedPolicyArns, awssdk.ToString(p.PolicyArn))
		}
		sort.Strings(spec.ManagedPolicyArns)
	}
	if need["tags"] {
		o.Tags = tagMap(d.Tags)
		spec.Tags = userTags(o.Tags)
	}
	return nil
}

// listRoles returns every role of the account by name.
func (a *Account) listRoles(ctx context.Context) (map[string]iamtypes.Role, error) {
	roles := map[string]iamtypes.Role{}
	in := &iam.ListRolesInput{MaxItems: awssdk.Int32(1000)}
	err := paginateIAM(func(marker *string) (*string, bool, error) {
		in.Marker = marker
		out, err := a.iam.ListRoles(ctx, in)
		if err != nil {
			return nil, false, err
		}
		for _, r := range out.Roles {
			roles[awssdk.ToString(r.RoleName)] = r
		}
		return out.Marker, out.IsTruncated, nil
	})
	return roles, err
}

// roleDetails returns every role's authorization details by name.
func (a *Account) roleDetails(ctx context.Context) (map[string]iamtypes.RoleDetail, error) {
	details := map[string]iamtypes.RoleDetail{}
	in := &iam.GetAccountAuthorizationDetailsInput{Filter: []iamtypes.EntityType{iamtypes.EntityTypeRole}, MaxItems: awssdk.Int32(1000)}
	err := paginateIAM(func(marker *string) (*string, bool, error) {
		in.Marker = marker
		out, err := a.iam.GetAccountAuthorizationDetails(ctx, in)
		if err != nil {
			return nil, false, err
		}
		for _, r := range out.RoleDetailList {
			details[awssdk.ToString(r.RoleName)] = r
		}
		return out.Marker, out.IsTruncated, nil
	})
	return details, err
}

// paginateIAM runs an IAM listing page by page. page fetches the page after
// marker and returns the next marker and whether the result is truncated.
// A truncated page without a marker, or a repeated marker, is a partial
// listing (ErrPartialList), never a complete one.
func paginateIAM(page func(marker *string) (next *string, truncated bool, err error)) error {
	var marker *string
	seen := map[string]bool{}
	for {
		next, truncated, err := page(marker)
		if err != nil {
			return err
		}
		if !truncated {
			return nil
		}
		m := awssdk.ToString(next)
		if m == "" {
			return &ReadError{ID: "iam", Op: "paginate", Cause: ErrPartialList, Err: errors.New("a truncated page has no marker")}
		}
		if seen[m] {
			return &ReadError{ID: "iam", Op: "paginate", Cause: ErrPartialList, Err: errors.New("the marker repeats")}
		}
		seen[m] = true
		marker = next
	}
}

// tagMap turns IAM tags into a map.
func tagMap(tags []iamtypes.Tag) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return out
}
