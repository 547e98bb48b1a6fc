package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
)

// kindRE matches a kind rule: "Kind" (any API group) or "Kind.group".
var kindRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Z][A-Za-z0-9]*(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$`)
})

// validateTenancy checks tenants and tenancy, and the tenant rules every
// target must follow (owner under mode enforce, ServiceAccount, sources).
func validateTenancy(e *errs, c *Config, idx nameIndex) {
	oneOf(e, field("tenancy", "mode"), c.Tenancy.Mode, TenancyOff, TenancyEnforce)
	if sa := c.Tenancy.DefaultServiceAccount; sa != "" && !dnsLabel(sa) {
		e.add(field("tenancy", "defaultServiceAccount"), "%q is not a valid ServiceAccount name: use lowercase letters, digits and '-', at most 63 characters", sa)
	}
	uniqueNames(e, "tenants", len(c.Tenants), func(i int) string { return c.Tenants[i].Name })
	for i := range c.Tenants {
		validateTenant(e, index("tenants", i), &c.Tenants[i], idx)
	}
	for i := range c.Targets {
		validateTargetTenancy(e, c, i)
	}
}

func validateTenant(e *errs, p string, tn *Tenant, idx nameIndex) {
	if len(tn.Targets) == 0 && len(tn.TargetLabels) == 0 {
		e.add(p, "owns no target: set targets (name globs like shop-*) or targetLabels")
	}
	globs(e, field(p, "targets"), tn.Targets)
	globs(e, field(p, "namespaces"), tn.Namespaces)
	kinds(e, field(p, "clusterKinds"), tn.ClusterKinds)
	kinds(e, field(p, "deniedKinds"), tn.DeniedKinds)
	for i, s := range tn.Sources {
		sp := index(field(p, "sources"), i)
		reference(e, field(sp, "name"), "source", s.Name, idx.sources)
		globs(e, field(sp, "paths"), s.Paths)
	}
	seen := map[string]int{}
	for i, sa := range tn.ServiceAccounts {
		sp := index(field(p, "serviceAccounts"), i)
		reference(e, field(sp, "cluster"), "cluster", sa.Cluster, idx.clusters)
		if !dnsLabel(sa.Namespace) {
			e.add(field(sp, "namespace"), "%q is not a valid namespace name", sa.Namespace)
		}
		if !dnsLabel(sa.Name) {
			e.add(field(sp, "name"), "%q is not a valid ServiceAccount name: use lowercase letters, digits and '-', at most 63 characters", sa.Name)
		}
		if j, dup := seen[sa.Cluster]; dup && sa.Cluster != "" {
			e.add(sp, "a second ServiceAccount for cluster %q (also %s[%d]): keep one per cluster", sa.Cluster, field(p, "serviceAccounts"), j)
			continue
		}
		seen[sa.Cluster] = i
	}
}

// validateTargetTenancy checks one target against the tenant owning it.
func validateTargetTenancy(e *errs, c *Config, i int) {
	t := &c.Targets[i]
	p := index("targets", i)
	ti := c.tenantIndex(t)
	if ti < 0 {
		if c.Tenancy.Mode == TenancyEnforce && t.Cluster != "" {
			e.add(p, "tenancy.mode is enforce and no tenant owns target %q: %s", t.Name, ownerHint(c))
		}
		return
	}
	tn := &c.Tenants[ti]
	tp := index("tenants", ti)
	if t.Cluster != "" {
		_, ok := c.serviceAccount(ti, t.Cluster)
		switch {
		case ok:
		case c.Tenancy.DefaultServiceAccount != "" && tn.firstLiteralNamespace() == "":
			e.add(field(tp, "namespaces"), "tenancy.defaultServiceAccount lives in the tenant's first namespace without a glob, and tenant %q has none: add one, or add {cluster: %s, namespace: ..., name: ...} to %s", tn.Name, t.Cluster, field(tp, "serviceAccounts"))
		case c.Tenancy.Mode == TenancyEnforce:
			e.add(p, "tenant %q names no ServiceAccount for cluster %q to act as: add {cluster: %s, namespace: ..., name: ...} to %s, or set tenancy.defaultServiceAccount", tn.Name, t.Cluster, t.Cluster, field(tp, "serviceAccounts"))
		}
	}
	if t.Cluster != "" && t.Namespace != "" && !matchAny(tn.Namespaces, t.Namespace) {
		e.add(field(p, "namespace"), "%q is not one of tenant %q's namespaces (%s.namespaces: %s): objects without a namespace would be refused; use one of them, or add it there", t.Namespace, tn.Name, tp, strings.Join(tn.Namespaces, ", "))
	}
	if len(tn.Sources) == 0 {
		return
	}
	var names []string
	for j, s := range tn.Sources {
		names = append(names, s.Name)
		if s.Name != t.Source {
			continue
		}
		if len(s.Paths) == 0 || pathAllowed(s.Paths, t.Path) {
			return
		}
		e.add(field(p, "path"), "tenant %q may read only paths %s of source %q (%s): move the target under one of them, or add its path there", tn.Name, strings.Join(s.Paths, ", "), s.Name, field(index(field(tp, "sources"), j), "paths"))
		return
	}
	e.add(field(p, "source"), "tenant %q may read only sources %s (%s): use one of them, or add source %q there", tn.Name, strings.Join(names, ", "), field(tp, "sources"), t.Source)
}

// ownerHint says how to give a target a tenant.
func ownerHint(c *Config) string {
	if len(c.Tenants) == 0 {
		return "declare a tenant owning it (tenants[].targets), or set tenancy.mode: off"
	}
	var ts []string
	for i, tn := range c.Tenants {
		ts = append(ts, fmt.Sprintf("%s (%s)", index("tenants", i), tn.Name))
	}
	return "add its name (or a glob matching it) to the targets of one of " + strings.Join(ts, ", ") + ", or set tenancy.mode: off"
}

// pathAllowed reports whether a target path matches one of globs, or lies
// under a folder that does.
func pathAllowed(globs []string, p string) bool {
	p = path.Clean("/" + p)[1:]
	for q := p; ; q = path.Dir(q) {
		for _, g := range globs {
			if ok, _ := path.Match(strings.Trim(path.Clean("/"+g), "/"), q); ok {
				return true
			}
		}
		if q == "." || q == "" || !strings.Contains(q, "/") {
			break
		}
	}
	return false
}

func globs(e *errs, p string, gs []string) {
	for i, g := range gs {
		if g == "" {
			e.add(index(p, i), "empty glob: remove it or write a pattern like team-a-*")
			continue
		}
		if _, err := path.Match(g, ""); err != nil {
			e.add(index(p, i), "%q is not a valid glob: %v", g, err)
		}
	}
}

func kinds(e *errs, p string, ks []string) {
	for i, k := range ks {
		if !kindRE().MatchString(k) {
			e.add(index(p, i), "%q is not a kind: write Kind (any API group) or Kind.group, like ClusterRole.rbac.authorization.k8s.io", k)
		}
	}
}

func matchAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

func dnsLabel(s string) bool { return len(s) <= 63 && nameRE().MatchString(s) }
