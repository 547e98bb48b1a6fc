package config

import "strings"

// ActingRole is the IAM role an account target acts as, and where the
// config sets it.
type ActingRole struct {
	// Role is nil when the target acts with the account's own credentials
	// and the account assumes no role.
	Role *AssumeRole
	// From names the config entry the role comes from: `target "web"`,
	// `tenant "team-a"` or `account "prod"`; "" when Role is nil.
	From string
	// Own is true when the role is the target's or its tenant's, not the
	// account's: the target then needs a client of its own.
	Own bool
	// owner is the target's or tenant's name when Own.
	owner string
}

// SessionName is the role session name to use: the role's sessionName,
// else "trueup-<target or tenant>" for a target's or tenant's role (so
// CloudTrail tells who acted), else "" (the SDK's default).
func (a ActingRole) SessionName() string {
	switch {
	case a.Role == nil:
		return ""
	case a.Role.SessionName != "":
		return a.Role.SessionName
	case a.Own:
		s := "trueup-" + a.owner
		return s[:min(len(s), 64)]
	}
	return ""
}

// ActingRoleOf resolves the role account target t acts as: its own
// assumeRole, else its tenant's, else its account's (which may be none).
// A cluster target, or an account target naming an unknown account, gets
// the zero ActingRole.
func (c *Config) ActingRoleOf(t *Target) ActingRole {
	if t == nil || t.Account == "" {
		return ActingRole{}
	}
	if t.AssumeRole != nil {
		return ActingRole{Role: t.AssumeRole, From: `target "` + t.Name + `"`, Own: true, owner: t.Name}
	}
	if tn := c.TenantOf(t.Name); tn != nil && tn.AssumeRole != nil {
		return ActingRole{Role: tn.AssumeRole, From: `tenant "` + tn.Name + `"`, Own: true, owner: tn.Name}
	}
	a, ok := c.accountNamed(t.Account)
	if !ok || a.AssumeRole == nil {
		return ActingRole{}
	}
	return ActingRole{Role: a.AssumeRole, From: `account "` + a.Name + `"`}
}

// Key identifies the credentials a role gives: two targets whose roles
// have the same key share one client. It holds no secret (only where the
// external id is read from). "" for nil.
func (a *AssumeRole) Key() string {
	if a == nil {
		return ""
	}
	parts := []string{a.RoleARN, a.SessionName}
	if r := a.ExternalIDFrom; r != nil {
		parts = append(parts, "env="+r.Env, "file="+r.File)
	}
	return strings.Join(parts, "\x00")
}

// RoleAccountID returns the account id in a role ARN
// (arn:aws:iam::123456789012:role/name), or "" when arn is not one.
func RoleAccountID(arn string) string {
	m := roleARNRE().FindStringSubmatch(arn)
	if m == nil {
		return ""
	}
	return m[1]
}

// accountNamed returns the account with the given name.
func (c *Config) accountNamed(name string) (*Account, bool) {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			return &c.Accounts[i], true
		}
	}
	return nil, false
}
