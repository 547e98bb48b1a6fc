package aws

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The specs of the supported kinds. Field names are the camelCase of the
// AWS API's member names (as in AWS Controllers for Kubernetes). A pointer
// or a non-nil slice or map is a field the spec sets: only those are
// compared with the live resource and written to it.

// S3BucketSpec is the spec of an S3Bucket; metadata.name is the bucket name.
type S3BucketSpec struct {
	Versioning                        *Versioning        `json:"versioning,omitempty"`
	ServerSideEncryptionConfiguration *SSEConfiguration  `json:"serverSideEncryptionConfiguration,omitempty"`
	PublicAccessBlock                 *PublicAccessBlock `json:"publicAccessBlock,omitempty"`
	Tags                              map[string]string  `json:"tags,omitzero"`
	Policy                            *Policy            `json:"policy,omitempty"`
}

// Versioning is a bucket's versioning configuration.
type Versioning struct {
	// Status is Enabled or Suspended.
	Status string `json:"status"`
}

// SSEConfiguration is a bucket's default encryption.
type SSEConfiguration struct {
	Rules []SSERule `json:"rules"`
}

// SSERule is one default-encryption rule.
type SSERule struct {
	ApplyServerSideEncryptionByDefault *SSEDefault `json:"applyServerSideEncryptionByDefault,omitempty"`
	// BucketKeyEnabled: false and unset are the same.
	BucketKeyEnabled *bool `json:"bucketKeyEnabled,omitempty"`
}

// SSEDefault is the encryption applied to new objects.
type SSEDefault struct {
	// SSEAlgorithm is AES256, aws:kms or aws:kms:dsse.
	SSEAlgorithm   string `json:"sseAlgorithm"`
	KMSMasterKeyID string `json:"kmsMasterKeyID,omitempty"`
}

// PublicAccessBlock is a bucket's public access block; an unset flag is
// left as it is live.
type PublicAccessBlock struct {
	BlockPublicAcls       *bool `json:"blockPublicAcls,omitempty"`
	IgnorePublicAcls      *bool `json:"ignorePublicAcls,omitempty"`
	BlockPublicPolicy     *bool `json:"blockPublicPolicy,omitempty"`
	RestrictPublicBuckets *bool `json:"restrictPublicBuckets,omitempty"`
}

// IAMRoleSpec is the spec of an IAMRole; metadata.name is the role name.
type IAMRoleSpec struct {
	AssumeRolePolicyDocument *Policy `json:"assumeRolePolicyDocument,omitempty"`
	Description              *string `json:"description,omitempty"`
	MaxSessionDuration       *int32  `json:"maxSessionDuration,omitempty"`
	// Path is immutable: changing it needs a new role.
	Path *string `json:"path,omitempty"`
	// ManagedPolicyArns is the set of attached managed policies (order does
	// not matter).
	ManagedPolicyArns []string `json:"managedPolicyArns,omitzero"`
	// InlinePolicies maps each inline policy's name to its document; when
	// set, inline policies it does not list are drift.
	InlinePolicies map[string]*Policy `json:"inlinePolicies,omitzero"`
	Tags           map[string]string  `json:"tags,omitzero"`
}

// IAMPolicySpec is the spec of an IAMPolicy; metadata.name is the policy
// name. Description and path are immutable in IAM.
type IAMPolicySpec struct {
	PolicyDocument *Policy           `json:"policyDocument,omitempty"`
	Description    *string           `json:"description,omitempty"`
	Path           *string           `json:"path,omitempty"`
	Tags           map[string]string `json:"tags,omitzero"`
}

// SecurityGroupSpec is the spec of a SecurityGroup; metadata.name is the
// group name. Description and vpcId are immutable; without vpcId the group
// is in the region's default VPC.
type SecurityGroupSpec struct {
	Description *string `json:"description,omitempty"`
	VpcID       *string `json:"vpcId,omitempty"`
	// Ingress and Egress are rule sets: order does not matter, and
	// permissions with the same protocol and ports are one permission, as
	// EC2 stores them.
	Ingress []IPPermission    `json:"ingress,omitzero"`
	Egress  []IPPermission    `json:"egress,omitzero"`
	Tags    map[string]string `json:"tags,omitzero"`
}

// IPPermission is one permission of a security group, in EC2's
// IpPermissions shape. IPProtocol is tcp, udp, icmp, icmpv6, a protocol
// number, or -1 (all; then the ports are unset).
type IPPermission struct {
	IPProtocol       string            `json:"ipProtocol"`
	FromPort         *int32            `json:"fromPort,omitempty"`
	ToPort           *int32            `json:"toPort,omitempty"`
	IPRanges         []IPRange         `json:"ipRanges,omitempty"`
	IPv6Ranges       []IPv6Range       `json:"ipv6Ranges,omitempty"`
	PrefixListIDs    []PrefixListID    `json:"prefixListIds,omitempty"`
	UserIDGroupPairs []UserIDGroupPair `json:"userIdGroupPairs,omitempty"`
}

// IPRange is an IPv4 source or destination.
type IPRange struct {
	CidrIP      string `json:"cidrIp"`
	Description string `json:"description,omitempty"`
}

// IPv6Range is an IPv6 source or destination.
type IPv6Range struct {
	CidrIPv6    string `json:"cidrIpv6"`
	Description string `json:"description,omitempty"`
}

// PrefixListID is a managed prefix list source or destination.
type PrefixListID struct {
	PrefixListID string `json:"prefixListId"`
	Description  string `json:"description,omitempty"`
}

// UserIDGroupPair is a security group source or destination. UserID is
// only needed for a group of another account.
type UserIDGroupPair struct {
	GroupID     string `json:"groupId"`
	UserID      string `json:"userId,omitempty"`
	Description string `json:"description,omitempty"`
}

// validator checks a decoded spec beyond its shape; errors name field paths
// relative to the object (spec.versioning.status: ...).
type validator interface {
	validate(name string) error
}

var (
	bucketName  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
	iamName     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]+$`) })
	iamPath     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/([\x21-\x7e]*/)?$`) })
	sseAlgos    = []string{"AES256", "aws:kms", "aws:kms:dsse"}
	versionings = []string{"Enabled", "Suspended"}
)

func (s *S3BucketSpec) validate(name string) error {
	var errs []error
	if !bucketName().MatchString(name) || strings.Contains(name, "..") {
		errs = append(errs, fmt.Errorf("metadata.name: %q is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens)", name))
	}
	if v := s.Versioning; v != nil && !slices.Contains(versionings, v.Status) {
		errs = append(errs, fmt.Errorf("spec.versioning.status: %q is not one of %s", v.Status, strings.Join(versionings, ", ")))
	}
	if c := s.ServerSideEncryptionConfiguration; c != nil {
		if len(c.Rules) == 0 {
			errs = append(errs, errors.New("spec.serverSideEncryptionConfiguration.rules: at least one rule is required"))
		}
		for i, r := range c.Rules {
			if d := r.ApplyServerSideEncryptionByDefault; d != nil && !slices.Contains(sseAlgos, d.SSEAlgorithm) {
				errs = append(errs, fmt.Errorf("spec.serverSideEncryptionConfiguration.rules[%d].applyServerSideEncryptionByDefault.sseAlgorithm: %q is not one of %s", i, d.SSEAlgorithm, strings.Join(sseAlgos, ", ")))
			}
		}
	}
	return errors.Join(append(errs, checkTags(s.Tags))...)
}

func (s *IAMRoleSpec) validate(name string) error {
	var errs []error
	if len(name) > 64 || !iamName().MatchString(name) {
		errs = append(errs, fmt.Errorf("metadata.name: %q is not a valid role name (up to 64 of letters, digits and +=,.@_-)", name))
	}
	if s.AssumeRolePolicyDocument == nil {
		errs = append(errs, errors.New("spec.assumeRolePolicyDocument: required"))
	}
	if d := s.MaxSessionDuration; d != nil && (*d < 3600 || *d > 43200) {
		errs = append(errs, fmt.Errorf("spec.maxSessionDuration: %d is not between 3600 and 43200 seconds", *d))
	}
	if p := s.Path; p != nil && !iamPath().MatchString(*p) {
		errs = append(errs, fmt.Errorf("spec.path: %q must start and end with /", *p))
	}
	for i, arn := range s.ManagedPolicyArns {
		if !strings.HasPrefix(arn, "arn:") {
			errs = append(errs, fmt.Errorf("spec.managedPolicyArns[%d]: %q is not an ARN", i, arn))
		}
	}
	for n, p := range s.InlinePolicies {
		if p == nil {
			errs = append(errs, fmt.Errorf("spec.inlinePolicies.%s: a policy document is required", n))
		}
	}
	return errors.Join(append(errs, checkTags(s.Tags))...)
}

func (s *IAMPolicySpec) validate(name string) error {
	var errs []error
	if len(name) > 128 || !iamName().MatchString(name) {
		errs = append(errs, fmt.Errorf("metadata.name: %q is not a valid policy name (up to 128 of letters, digits and +=,.@_-)", name))
	}
	if s.PolicyDocument == nil {
		errs = append(errs, errors.New("spec.policyDocument: required"))
	}
	if p := s.Path; p != nil && !iamPath().MatchString(*p) {
		errs = append(errs, fmt.Errorf("spec.path: %q must start and end with /", *p))
	}
	return errors.Join(append(errs, checkTags(s.Tags))...)
}

func (s *SecurityGroupSpec) validate(name string) error {
	var errs []error
	if len(name) > 255 || strings.HasPrefix(name, "sg-") {
		errs = append(errs, fmt.Errorf("metadata.name: %q is not a valid group name (up to 255 characters, not starting with sg-)", name))
	}
	if s.Description == nil || *s.Description == "" {
		errs = append(errs, errors.New("spec.description: required"))
	}
	errs = append(errs, checkPermissions("spec.ingress", s.Ingress), checkPermissions("spec.egress", s.Egress))
	return errors.Join(append(errs, checkTags(s.Tags))...)
}

func checkPermissions(path string, perms []IPPermission) error {
	var errs []error
	for i, p := range perms {
		at := fmt.Sprintf("%s[%d]", path, i)
		if p.IPProtocol == "" {
			errs = append(errs, fmt.Errorf("%s.ipProtocol: required", at))
		}
		if n := len(p.IPRanges) + len(p.IPv6Ranges) + len(p.PrefixListIDs) + len(p.UserIDGroupPairs); n == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one of ipRanges, ipv6Ranges, prefixListIds, userIdGroupPairs is required", at))
		}
		if canonicalProtocol(p.IPProtocol) != "-1" && (p.FromPort == nil || p.ToPort == nil) {
			errs = append(errs, fmt.Errorf("%s: fromPort and toPort are required for protocol %q", at, p.IPProtocol))
		}
		for name, port := range map[string]*int32{"fromPort": p.FromPort, "toPort": p.ToPort} {
			if port != nil && (*port < -1 || *port > 65535) {
				errs = append(errs, fmt.Errorf("%s.%s: %d is not a port (-1 to 65535)", at, name, *port))
			}
		}
	}
	return errors.Join(errs...)
}

func checkTags(tags map[string]string) error {
	var errs []error
	for k := range tags {
		if IsOwnTag(k) {
			errs = append(errs, fmt.Errorf("%s: tags under %s are trueup's own and cannot be set", mapPath("spec.tags", k), TagPrefix))
		}
	}
	return errors.Join(errs...)
}
