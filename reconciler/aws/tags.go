package aws

import (
	"fmt"
	"maps"
	"sort"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// tagChange is what a resource's tags need.
type tagChange struct {
	// set are the tags to add or change; remove the keys to remove.
	set    map[string]string
	remove []string
	// live are the tags before the change (nil for a new resource).
	live map[string]string
}

// planTags computes the tag change: trueup's own tags always; when the spec
// sets tags (desired not nil) they are the resource's whole user tag set,
// so user tags it lacks are removed; otherwise user tags are left alone.
func planTags(target string, desired, live map[string]string) tagChange {
	want := driftaws.OwnTags(target)
	maps.Copy(want, desired)
	c := tagChange{set: map[string]string{}, live: live}
	for k, v := range want {
		if got, ok := live[k]; !ok || got != v {
			c.set[k] = v
		}
	}
	if desired != nil {
		for k := range live {
			if _, ok := desired[k]; !ok && !driftaws.IsOwnTag(k) {
				c.remove = append(c.remove, k)
			}
		}
		sort.Strings(c.remove)
	}
	return c
}

func (c tagChange) empty() bool { return len(c.set) == 0 && len(c.remove) == 0 }

// ownAdded lists trueup's tags the change sets, as key=value.
func (c tagChange) ownAdded() []string {
	var out []string
	for k, v := range c.set {
		if driftaws.IsOwnTag(k) {
			out = append(out, fmt.Sprintf("%s=%s", k, v))
		}
	}
	sort.Strings(out)
	return out
}

// result returns the whole tag set after the change.
func (c tagChange) result() map[string]string {
	out := maps.Clone(c.live)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range c.remove {
		delete(out, k)
	}
	maps.Copy(out, c.set)
	return out
}

// specTags returns the tags a spec sets (nil when it sets none).
func specTags(spec any) map[string]string {
	switch s := spec.(type) {
	case *driftaws.S3BucketSpec:
		return s.Tags
	case *driftaws.IAMRoleSpec:
		return s.Tags
	case *driftaws.IAMPolicySpec:
		return s.Tags
	case *driftaws.SecurityGroupSpec:
		return s.Tags
	}
	return nil
}
