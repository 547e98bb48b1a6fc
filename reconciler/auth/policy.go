package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// Verb is what a user wants to do with a target.
type Verb string

const (
	// View reads a target: its page, its status and episodes in the API,
	// and its history records.
	View Verb = "view"
	// Act changes something about a target (the web console's actions:
	// reconcile now, revert, adopt, accept).
	Act Verb = "act"
)

// AllTenants in a binding's tenants stands for every tenant the config
// names (not for targets outside any tenant).
const AllTenants = "*"

// Policy maps users to their Access from the config's role bindings.
type Policy struct {
	bindings []config.RoleBinding
}

// NewPolicy is the policy of server.auth.roles.
func NewPolicy(bindings []config.RoleBinding) *Policy {
	return &Policy{bindings: bindings}
}

// Access returns what u may do: every binding that names the user or one
// of their groups.
func (p *Policy) Access(u User) *Access {
	a := &Access{User: u}
	for _, b := range p.bindings {
		if slices.Contains(b.Users, u.Name) || slices.ContainsFunc(b.Groups, func(g string) bool { return slices.Contains(u.Groups, g) }) {
			a.grants = append(a.grants, b)
		}
	}
	return a
}

// Unrestricted is the access of every request when authentication is off
// (server.auth.mode none, or no server.auth on a loopback listener):
// everything, nothing masked beyond Secrets.
func Unrestricted() *Access { return &Access{all: true} }

// Access is what one user may see and do.
type Access struct {
	User   User
	grants []config.RoleBinding
	all    bool
}

// Decision is the answer to one question of an Access.
type Decision struct {
	Allowed bool
	// Masked: every drifted value the user sees of that target is masked
	// (maskValues on every binding that allows it).
	Masked bool
	// Reason says, when not allowed, which role or tenant is missing and
	// how to grant it.
	Reason string
}

// Any reports whether the user has at least one role.
func (a *Access) Any() bool { return a.all || len(a.grants) > 0 }

// Roles lists the user's roles, sorted, without duplicates.
func (a *Access) Roles() []string {
	if a.all {
		return []string{config.RoleAdmin}
	}
	var out []string
	for _, g := range a.grants {
		out = append(out, g.Role)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Everything reports whether the user may view every target, those of
// every tenant and those outside any (auditors and admins).
func (a *Access) Everything() bool {
	return a.all || slices.ContainsFunc(a.grants, func(g config.RoleBinding) bool {
		return g.Role == config.RoleAdmin || g.Role == config.RoleAuditor
	})
}

// Allow decides whether the user may do v on a target of tenant ("" for
// a target outside any tenant, or one the config does not name).
//
// viewer: view the targets of its bound tenants. operator: view and act on
// them. auditor: view every target, of every tenant or none, and its
// history; never act. admin: everything. A binding's tenants "*" means
// every tenant the config names; targets outside any tenant are for
// auditors and admins only.
func (a *Access) Allow(v Verb, tenant string) Decision {
	if a.all {
		return Decision{Allowed: true}
	}
	d := Decision{Masked: true}
	for _, g := range a.grants {
		if grants(g, v, tenant) {
			d.Allowed = true
			d.Masked = d.Masked && g.MaskValues
		}
	}
	if !d.Allowed {
		return Decision{Reason: a.reason(v, tenant)}
	}
	return d
}

// grants reports whether binding g allows v on a target of tenant.
func grants(g config.RoleBinding, v Verb, tenant string) bool {
	switch g.Role {
	case config.RoleAdmin:
		return true
	case config.RoleAuditor:
		return v == View
	case config.RoleOperator, config.RoleViewer:
		if v == Act && g.Role == config.RoleViewer || tenant == "" {
			return false
		}
		return slices.Contains(g.Tenants, tenant) || slices.Contains(g.Tenants, AllTenants)
	}
	return false
}

// reason says what the user lacks to do v on tenant's target.
func (a *Access) reason(v Verb, tenant string) string {
	who := a.who()
	switch {
	case v == Act && tenant == "":
		return fmt.Sprintf("%s may not act on targets outside any tenant: only admins may (add them to a server.auth.roles entry with role admin)", who)
	case v == Act:
		return fmt.Sprintf("%s may not act on targets of tenant %q: add them to a server.auth.roles entry with role operator and tenants [%s] (or role admin)", who, tenant, tenant)
	case tenant == "":
		return fmt.Sprintf("%s may not view targets outside any tenant: only auditors and admins may (add them to a server.auth.roles entry with role auditor or admin)", who)
	}
	return fmt.Sprintf("%s may not view targets of tenant %q: add them to a server.auth.roles entry with role viewer or operator and tenants [%s] (or role auditor or admin)", who, tenant, tenant)
}

// who names the user, their groups and roles, for messages.
func (a *Access) who() string {
	s := fmt.Sprintf("user %q", a.User.Name)
	if len(a.User.Groups) > 0 {
		s += " (groups " + strings.Join(a.User.Groups, ", ") + ")"
	}
	if roles := a.Roles(); len(roles) > 0 {
		s += " with role " + strings.Join(roles, ", ")
	} else {
		s += " with no role"
	}
	return s
}
