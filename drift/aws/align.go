package aws

import (
	"fmt"
)

// alignSpec reorders the set-like lists of a live spec (security group
// rules, attached policy ARNs) to follow the desired spec, in place.
func alignSpec(kind string, live, desired map[string]any) {
	switch kind {
	case KindSecurityGroup:
		for _, k := range []string{"ingress", "egress"} {
			alignMember(live, desired, k, permissionKey, alignSources)
		}
	case KindIAMRole:
		alignMember(live, desired, "managedPolicyArns", func(v any) string { return fmt.Sprint(v) }, nil)
	}
}

// alignMember aligns the list live[k] to desired[k] when both are lists.
func alignMember(live, desired map[string]any, k string, key func(any) string, inner func(l, d any) any) {
	l, lok := live[k].([]any)
	d, dok := desired[k].([]any)
	if lok && dok {
		live[k] = align(l, d, key, inner)
	}
}

// align returns live reordered so that each element sits at the index of
// the desired element with the same key (nil where live has none), followed
// by the live elements no desired element matches. inner, when set, aligns
// the insides of matched elements.
func align(live, desired []any, key func(any) string, inner func(l, d any) any) []any {
	byKey := map[string][]int{}
	for i, e := range live {
		k := key(e)
		byKey[k] = append(byKey[k], i)
	}
	used := make([]bool, len(live))
	out := make([]any, len(desired), len(desired)+len(live))
	for i, e := range desired {
		k := key(e)
		if idx := byKey[k]; len(idx) > 0 {
			j := idx[0]
			byKey[k] = idx[1:]
			used[j] = true
			out[i] = live[j]
			if inner != nil {
				out[i] = inner(live[j], e)
			}
		}
	}
	for j, e := range live {
		if !used[j] {
			out = append(out, e)
		}
	}
	return out
}

// permissionKey keys a rendered permission by protocol and ports.
func permissionKey(v any) string {
	m, _ := v.(map[string]any)
	return fmt.Sprintf("%v %v-%v", m["ipProtocol"], m["fromPort"], m["toPort"])
}

// sourceLists are a permission's source lists and the member that keys
// their elements.
var sourceLists = []struct{ list, key string }{
	{"ipRanges", "cidrIp"}, {"ipv6Ranges", "cidrIpv6"}, {"prefixListIds", "prefixListId"}, {"userIdGroupPairs", "groupId"},
}

// alignSources aligns the source lists of a matched live permission.
func alignSources(l, d any) any {
	lm, lok := l.(map[string]any)
	dm, dok := d.(map[string]any)
	if !lok || !dok {
		return l
	}
	out := make(map[string]any, len(lm))
	for k, v := range lm {
		out[k] = v
	}
	for _, s := range sourceLists {
		keyField := s.key
		alignMember(out, dm, s.list, func(v any) string {
			m, _ := v.(map[string]any)
			return fmt.Sprint(m[keyField], "/", m["userId"])
		}, nil)
	}
	return out
}
