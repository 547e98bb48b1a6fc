package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// PolicyARN returns the ARN of the customer managed policy name at path
// ("/" when empty) in account.
func PolicyARN(account, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":policy" + path + name
}

// desiredPolicyARN is the ARN a desired IAMPolicy has.
func (a *Account) desiredPolicyARN(d *Desired) string {
	return PolicyARN(a.cfg.AccountID, awssdk.ToString(d.Spec.(*IAMPolicySpec).Path), d.Ref.Name)
}

// observePolicies reads customer managed policies one by one (GetPolicy and
// GetPolicyVersion), or, from Config.BulkThreshold policies on, from one
// account-wide paginated GetAccountAuthorizationDetails, which holds every
// policy's documents, plus ListPolicyTags per policy when specs set tags.
func (a *Account) observePolicies(ctx context.Context, batch []*Observed, opts ObserveOptions) {
	if len(batch) >= a.cfg.BulkThreshold {
		a.observePoliciesBulk(ctx, batch, opts)
		return
	}
	a.forEach(ctx, len(batch), func(ctx context.Context, i int) {
		o := batch[i]
		a.readPolicy(ctx, o, setFields(o.Desired.Spec, opts.Tags))
	})
}

func (a *Account) readPolicy(ctx context.Context, o *Observed, need map[string]bool) {
	id := ID(o.Desired.Ref)
	arn := a.desiredPolicyARN(o.Desired)
	out, err := a.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
	switch {
	case hasCode(err, "NoSuchEntity"):
		return
	case err != nil:
		o.Err = readErr(id, "get policy", err)
		return
	}
	p := out.Policy
	spec := &IAMPolicySpec{Description: awssdk.String(awssdk.ToString(p.Description)), Path: awssdk.String(awssdk.ToString(p.Path))}
	if need["policyDocument"] {
		v, err := a.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: p.DefaultVersionId})
		if err != nil {
			o.Err = readErr(id, "get policy version", err)
			return
		}
		if spec.PolicyDocument, err = NewPolicy(awssdk.ToString(v.PolicyVersion.Document)); err != nil {
			o.Err = readErr(id, "get policy version", fmt.Errorf("live document: %w", err))
			return
		}
	}
	if need["tags"] {
		o.Tags = tagMap(p.Tags)
		spec.Tags = userTags(o.Tags)
	}
	o.Exists, o.ARN, o.Live = true, arn, spec
}

func (a *Account) observePoliciesBulk(ctx context.Context, batch []*Observed, opts ObserveOptions) {
	const id = KindIAMPolicy + "/*"
	details, err := a.policyDetails(ctx)
	if err != nil {
		failAll(batch, readErr(id, "get account authorization details", err))
		return
	}
	a.forEach(ctx, len(batch), func(ctx context.Context, i int) {
		o := batch[i]
		d, ok := details[o.Desired.Ref.Name]
		if !ok {
			return // missing
		}
		spec, err := policySpec(d)
		arn := awssdk.ToString(d.Arn)
		if err == nil && setFields(o.Desired.Spec, opts.Tags)["tags"] {
			o.Tags, err = a.listPolicyTags(ctx, arn)
			spec.Tags = userTags(o.Tags)
		}
		if err != nil {
			o.Err = readErr(ID(o.Desired.Ref), "read policy", err)
			return
		}
		o.Exists, o.ARN, o.Live = true, arn, spec
	})
}

// policySpec renders a policy's authorization details: its default
// version's document, description and path.
func policySpec(d iamtypes.ManagedPolicyDetail) (*IAMPolicySpec, error) {
	spec := &IAMPolicySpec{Description: awssdk.String(awssdk.ToString(d.Description)), Path: awssdk.String(awssdk.ToString(d.Path))}
	for _, v := range d.PolicyVersionList {
		if !v.IsDefaultVersion {
			continue
		}
		p, err := NewPolicy(awssdk.ToString(v.Document))
		if err != nil {
			return nil, fmt.Errorf("live document: %w", err)
		}
		spec.PolicyDocument = p
	}
	if spec.PolicyDocument == nil {
		return nil, fmt.Errorf("no default version among %d versions", len(d.PolicyVersionList))
	}
	return spec, nil
}

// policyDetails returns every customer managed policy's authorization
// details by name.
func (a *Account) policyDetails(ctx context.Context) (map[string]iamtypes.ManagedPolicyDetail, error) {
	details := map[string]iamtypes.ManagedPolicyDetail{}
	in := &iam.GetAccountAuthorizationDetailsInput{Filter: []iamtypes.EntityType{iamtypes.EntityTypeLocalManagedPolicy}, MaxItems: awssdk.Int32(1000)}
	err := paginateIAM(func(marker *string) (*string, bool, error) {
		in.Marker = marker
		out, err := a.iam.GetAccountAuthorizationDetails(ctx, in)
		if err != nil {
			return nil, false, err
		}
		for _, p := range out.Policies {
			details[policyName(p)] = p
		}
		return out.Marker, out.IsTruncated, nil
	})
	return details, err
}

// policyName is a policy's name, taken from its ARN when the details lack
// it (moto leaves PolicyName out).
func policyName(p iamtypes.ManagedPolicyDetail) string {
	if n := awssdk.ToString(p.PolicyName); n != "" {
		return n
	}
	arn := awssdk.ToString(p.Arn)
	return arn[strings.LastIndex(arn, "/")+1:]
}

func (a *Account) listPolicyTags(ctx context.Context, arn string) (map[string]string, error) {
	var tags []iamtypes.Tag
	in := &iam.ListPolicyTagsInput{PolicyArn: &arn}
	err := paginateIAM(func(marker *string) (*string, bool, error) {
		in.Marker = marker
		out, err := a.iam.ListPolicyTags(ctx, in)
		if err != nil {
			return nil, false, err
		}
		tags = append(tags, out.Tags...)
		return out.Marker, out.IsTruncated, nil
	})
	return tagMap(tags), err
}

// listPolicies returns every customer managed policy.
func (a *Account) listPolicies(ctx context.Context) ([]iamtypes.Policy, error) {
	var out []iamtypes.Policy
	in := &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, MaxItems: awssdk.Int32(1000)}
	err := paginateIAM(func(marker *string) (*string, bool, error) {
		in.Marker = marker
		page, err := a.iam.ListPolicies(ctx, in)
		if err != nil {
			return nil, false, err
		}
		out = append(out, page.Policies...)
		return page.Marker, page.IsTruncated, nil
	})
	return out, err
}
