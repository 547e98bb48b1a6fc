package config

import "path"

// Tenancy modes.
const (
	// TenancyOff keeps targets outside any tenant acting with the daemon's
	// own credentials (the default, and the behaviour before tenants).
	TenancyOff = "off"
	// TenancyEnforce makes every cluster target belong to a tenant and
	// impersonate its ServiceAccount.
	TenancyEnforce = "enforce"
)

// Tenancy says how strictly tenants are applied.
type Tenancy struct {
	// Mode is "off" (default) or "enforce".
	Mode string `json:"mode,omitempty"`
	// DefaultServiceAccount is impersonated by a tenant's target on a
	// cluster its tenant names no ServiceAccount for (name only; the
	// namespace is the tenant's first literal namespace). With mode
	// enforce and no default, every tenant must name one per cluster.
	DefaultServiceAccount string `json:"defaultServiceAccount,omitempty"`
}

// Tenant is a team's boundary: which targets it owns and what they may do.
type Tenant struct {
	Name string `json:"name"`
	// Targets are target name globs (shop-*) the tenant owns.
	Targets []string `json:"targets,omitempty"`
	// TargetLabels: a target carrying every one of these labels is owned.
	TargetLabels map[string]string `json:"targetLabels,omitempty"`
	// Namespaces are globs of the namespaces its objects may live in.
	Namespaces []string `json:"namespaces,omitempty"`
	// ClusterKinds are the cluster-scoped kinds it may manage ("Kind" or
	// "Kind.group"); none by default.
	ClusterKinds []string `json:"clusterKinds,omitempty"`
	// DeniedKinds are never applied, in any namespace ("Kind" or "Kind.group").
	DeniedKinds []string `json:"deniedKinds,omitempty"`
	// Sources limits the sources (and paths in them) its targets may read;
	// empty: any.
	Sources []TenantSource `json:"sources,omitempty"`
	// ServiceAccounts to impersonate, per cluster.
	ServiceAccounts []TenantServiceAccount `json:"serviceAccounts,omitempty"`
	// CreateNamespaces lets its targets create (and own) Namespaces
	// matching Namespaces.
	CreateNamespaces bool `json:"createNamespaces,omitempty"`
	// AssumeRole is the IAM role its account targets act as (unless the
	// target names its own).
	AssumeRole *AssumeRole `json:"assumeRole,omitempty"`
	// Decryption holds the keys that decrypt SOPS-encrypted files for the
	// tenant's targets; when set, it replaces the source's decryption for
	// them.
	Decryption *Decryption `json:"decryption,omitempty"`
}

// TenantSource is a source a tenant may read, optionally only under Paths
// (globs of target paths).
type TenantSource struct {
	Name  string   `json:"name"`
	Paths []string `json:"paths,omitempty"`
}

// TenantServiceAccount is the ServiceAccount a tenant's targets impersonate
// on one cluster.
type TenantServiceAccount struct {
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// TenantOf returns the tenant owning the named target (the first that
// matches, in config order), or nil.
func (c *Config) TenantOf(target string) *Tenant {
	t, ok := c.Target(target)
	if !ok {
		return nil
	}
	for i := range c.Tenants {
		if c.Tenants[i].owns(t) {
			return &c.Tenants[i]
		}
	}
	return nil
}

func (tn *Tenant) owns(t *Target) bool {
	for _, g := range tn.Targets {
		if ok, _ := path.Match(g, t.Name); ok {
			return true
		}
	}
	if len(tn.TargetLabels) == 0 {
		return false
	}
	for k, v := range tn.TargetLabels {
		if t.Labels[k] != v {
			return false
		}
	}
	return true
}
