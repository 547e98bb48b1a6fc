package aws

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// protocolNames are the protocol numbers EC2 reports by name.
var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

// canonicalProtocol returns the name EC2 reports for a protocol.
func canonicalProtocol(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if n, ok := protocolNames[p]; ok {
		return n
	}
	return p
}

// canonicalize puts the rules in EC2's form: protocol names, no ports for
// "all protocols", one permission per protocol and port range (in order of
// first appearance) holding each source once. A source listed twice with
// different descriptions is an error.
func (s *SecurityGroupSpec) canonicalize() error {
	var errs []error
	var err error
	if s.Ingress != nil {
		s.Ingress, err = mergePermissions("spec.ingress", s.Ingress)
		errs = append(errs, err)
	}
	if s.Egress != nil {
		s.Egress, err = mergePermissions("spec.egress", s.Egress)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func mergePermissions(path string, perms []IPPermission) ([]IPPermission, error) {
	out := []IPPermission{}
	at := map[string]int{}
	descs := map[string]string{}
	var errs []error
	for i, p := range perms {
		p.IPProtocol = canonicalProtocol(p.IPProtocol)
		if p.IPProtocol == "-1" {
			p.FromPort, p.ToPort = nil, nil
		}
		k := PermissionKey(p)
		j, ok := at[k]
		if !ok {
			j = len(out)
			at[k] = j
			out = append(out, IPPermission{IPProtocol: p.IPProtocol, FromPort: p.FromPort, ToPort: p.ToPort})
		}
		for _, r := range FlattenRules([]IPPermission{p}) {
			sk, d := k+" "+sourceKey(r), sourceDescription(r)
			if prev, dup := descs[sk]; dup {
				if prev != d {
					errs = append(errs, fmt.Errorf("%s[%d]: %s is listed twice with different descriptions", path, i, sk))
				}
				continue
			}
			descs[sk] = d
			addSources(&out[j], r)
		}
	}
	return out, errors.Join(errs...)
}

// PermissionKey identifies a permission by protocol and port range:
// "tcp 22-22", "-1".
func PermissionKey(p IPPermission) string {
	k := canonicalProtocol(p.IPProtocol)
	if p.FromPort != nil || p.ToPort != nil {
		k += " " + portText(p.FromPort) + "-" + portText(p.ToPort)
	}
	return k
}

func portText(p *int32) string {
	if p == nil {
		return "*"
	}
	return strconv.Itoa(int(*p))
}

// FlattenRules splits permissions into rules of exactly one source each.
func FlattenRules(perms []IPPermission) []IPPermission {
	var out []IPPermission
	for _, p := range perms {
		base := IPPermission{IPProtocol: p.IPProtocol, FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IPRanges {
			q := base
			q.IPRanges = []IPRange{r}
			out = append(out, q)
		}
		for _, r := range p.IPv6Ranges {
			q := base
			q.IPv6Ranges = []IPv6Range{r}
			out = append(out, q)
		}
		for _, r := range p.PrefixListIDs {
			q := base
			q.PrefixListIDs = []PrefixListID{r}
			out = append(out, q)
		}
		for _, r := range p.UserIDGroupPairs {
			q := base
			q.UserIDGroupPairs = []UserIDGroupPair{r}
			out = append(out, q)
		}
	}
	return out
}

// RuleKey identifies a one-source rule with its description:
// "tcp 22-22 0.0.0.0/0 (ssh)".
func RuleKey(r IPPermission) string {
	return PermissionKey(r) + " " + sourceKey(r) + " (" + sourceDescription(r) + ")"
}

// sourceKey names the single source of a flattened rule.
func sourceKey(r IPPermission) string {
	switch {
	case len(r.IPRanges) > 0:
		return r.IPRanges[0].CidrIP
	case len(r.IPv6Ranges) > 0:
		return r.IPv6Ranges[0].CidrIPv6
	case len(r.PrefixListIDs) > 0:
		return r.PrefixListIDs[0].PrefixListID
	case len(r.UserIDGroupPairs) > 0:
		u := r.UserIDGroupPairs[0]
		if u.UserID != "" {
			return u.UserID + "/" + u.GroupID
		}
		return u.GroupID
	}
	return ""
}

func sourceDescription(r IPPermission) string {
	switch {
	case len(r.IPRanges) > 0:
		return r.IPRanges[0].Description
	case len(r.IPv6Ranges) > 0:
		return r.IPv6Ranges[0].Description
	case len(r.PrefixListIDs) > 0:
		return r.PrefixListIDs[0].Description
	case len(r.UserIDGroupPairs) > 0:
		return r.UserIDGroupPairs[0].Description
	}
	return ""
}

func addSources(dst *IPPermission, r IPPermission) {
	dst.IPRanges = append(dst.IPRanges, r.IPRanges...)
	dst.IPv6Ranges = append(dst.IPv6Ranges, r.IPv6Ranges...)
	dst.PrefixListIDs = append(dst.PrefixListIDs, r.PrefixListIDs...)
	dst.UserIDGroupPairs = append(dst.UserIDGroupPairs, r.UserIDGroupPairs...)
}
