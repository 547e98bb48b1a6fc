package aws

import (
	"slices"

	"github.com/trueup-dev/trueup/drift"
)

// APIVersion is the apiVersion of desired AWS resources; Group is its group.
const (
	Group      = "aws.trueup.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
)

// The supported kinds.
const (
	KindS3Bucket      = "S3Bucket"
	KindIAMRole       = "IAMRole"
	KindIAMPolicy     = "IAMPolicy"
	KindSecurityGroup = "SecurityGroup"
)

// Kinds lists the supported kinds in a stable order.
func Kinds() []string {
	return []string{KindS3Bucket, KindIAMRole, KindIAMPolicy, KindSecurityGroup}
}

// Tags trueup puts on every resource it manages. They are never drift: a
// diff ignores every tag under TagPrefix.
const (
	TagPrefix    = "trueup.dev/"
	TagTarget    = "trueup.dev/target"
	TagManagedBy = "trueup.dev/managed-by"
	ManagedBy    = "trueup"
)

// OwnTags returns the tags trueup sets on a resource of target.
func OwnTags(target string) map[string]string {
	return map[string]string{TagTarget: target, TagManagedBy: ManagedBy}
}

// IsOwnTag reports whether key is one of trueup's tags (under TagPrefix).
func IsOwnTag(key string) bool {
	return len(key) >= len(TagPrefix) && key[:len(TagPrefix)] == TagPrefix
}

// Ref returns the identity of a resource of kind named name.
func Ref(kind, name string) drift.ObjectRef {
	return drift.ObjectRef{Group: Group, Version: Version, Kind: kind, Name: name}
}

// ID formats a ref the way errors start: S3Bucket/logs.
func ID(ref drift.ObjectRef) string { return ref.Kind + "/" + ref.Name }

// Resource is a live resource found by a listing (Managed, Unmanaged).
type Resource struct {
	Ref drift.ObjectRef
	// ARN is the resource's ARN; for a security group, its group id.
	ARN string
	// Tags are the resource's tags; nil when the listing did not read them.
	Tags map[string]string
}

// Filter narrows an Unmanaged scan. A resource is considered when its name
// starts with one of NamePrefixes (any name when empty) and it carries
// every tag of Tags with one of the listed values (any value when the list
// is empty).
type Filter struct {
	NamePrefixes []string
	Tags         map[string][]string
}

// matchesName reports whether name passes the name prefixes.
func (f Filter) matchesName(name string) bool {
	if len(f.NamePrefixes) == 0 {
		return true
	}
	return slices.ContainsFunc(f.NamePrefixes, func(p string) bool {
		return len(name) >= len(p) && name[:len(p)] == p
	})
}

// matchesTags reports whether tags pass the tag filter.
func (f Filter) matchesTags(tags map[string]string) bool {
	for k, values := range f.Tags {
		v, ok := tags[k]
		if !ok || (len(values) > 0 && !slices.Contains(values, v)) {
			return false
		}
	}
	return true
}

// key identifies a resource within one account and region.
type key struct{ kind, name string }

func keyOf(ref drift.ObjectRef) key { return key{ref.Kind, ref.Name} }
