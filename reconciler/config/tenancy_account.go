package config

import (
	"strings"
)

// ServiceAccountRef is a ServiceAccount trueup acts as.
type ServiceAccountRef struct {
	Namespace string
	Name      string
}

// String is namespace/name.
func (s ServiceAccountRef) String() string { return s.Namespace + "/" + s.Name }

// ServiceAccountFor returns the ServiceAccount a cluster target acts as:
// its tenant's serviceAccounts entry for the target's cluster, else
// tenancy.defaultServiceAccount in the tenant's first namespace without a
// glob. ok is false when the target acts with trueup's own identity: an
// account target, a target no tenant owns, or a tenant naming neither.
func (c *Config) ServiceAccountFor(target string) (ServiceAccountRef, bool) {
	t, ok := c.Target(target)
	if !ok || t.Cluster == "" {
		return ServiceAccountRef{}, false
	}
	ti := c.tenantIndex(t)
	if ti < 0 {
		return ServiceAccountRef{}, false
	}
	return c.serviceAccount(ti, t.Cluster)
}

// TenantIndex returns the index in Tenants of the tenant owning the named
// target, or -1.
func (c *Config) TenantIndex(target string) int {
	t, ok := c.Target(target)
	if !ok {
		return -1
	}
	return c.tenantIndex(t)
}

func (c *Config) tenantIndex(t *Target) int {
	for i := range c.Tenants {
		if c.Tenants[i].owns(t) {
			return i
		}
	}
	return -1
}

// serviceAccount is tenant ti's ServiceAccount on cluster.
func (c *Config) serviceAccount(ti int, cluster string) (ServiceAccountRef, bool) {
	tn := &c.Tenants[ti]
	for _, sa := range tn.ServiceAccounts {
		if sa.Cluster == cluster {
			return ServiceAccountRef{Namespace: sa.Namespace, Name: sa.Name}, true
		}
	}
	if name := c.Tenancy.DefaultServiceAccount; name != "" {
		if ns := tn.firstLiteralNamespace(); ns != "" {
			return ServiceAccountRef{Namespace: ns, Name: name}, true
		}
	}
	return ServiceAccountRef{}, false
}

// firstLiteralNamespace is the first of the tenant's namespaces that is not
// a glob, or "".
func (tn *Tenant) firstLiteralNamespace() string {
	for _, ns := range tn.Namespaces {
		if ns != "" && !strings.ContainsAny(ns, `*?[\`) {
			return ns
		}
	}
	return ""
}
