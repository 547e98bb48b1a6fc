package config

import (
	"fmt"
	"regexp"
	"sync"
)

var (
	// roleARNRE matches an IAM role ARN (optionally with a path) and
	// captures its account id.
	roleARNRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:iam::([0-9]{12}):role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$`)
	})
	// sessionNameRE is what STS accepts as a role session name.
	sessionNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{2,64}$`) })
)

// validateAssumeRoles checks every assumeRole of accounts, targets and
// tenants: its shape, that only account targets carry one, and that each
// role is in the account it acts in (trueup refuses another account's
// credentials at run time; this says so before anything runs).
func validateAssumeRoles(e *errs, c *Config) {
	for i := range c.Accounts {
		a := &c.Accounts[i]
		p := field(index("accounts", i), "assumeRole")
		if assumeRoleShape(e, p, a.AssumeRole) {
			roleInAccount(e, p, a.AssumeRole, a, "", "the account's accountID is %[3]s: name a role of account %[3]s, or correct accountID")
		}
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		p := field(index("targets", i), "assumeRole")
		if t.AssumeRole == nil {
			continue
		}
		if t.Account == "" {
			e.add(p, "only an account target assumes an IAM role: remove it (a tenant's cluster target acts as the tenant's serviceAccounts)")
			continue
		}
		if !assumeRoleShape(e, p, t.AssumeRole) {
			continue
		}
		if a, ok := c.accountNamed(t.Account); ok {
			roleInAccount(e, p, t.AssumeRole, a, "", "the target acts in account %[2]q (accountID %[3]s): name a role of account %[3]s")
		}
	}
	for j := range c.Tenants {
		tn := &c.Tenants[j]
		p := field(index("tenants", j), "assumeRole")
		if !assumeRoleShape(e, p, tn.AssumeRole) {
			continue
		}
		for i := range c.Targets {
			t := &c.Targets[i]
			if t.Account == "" || t.AssumeRole != nil || c.TenantOf(t.Name) != tn {
				continue
			}
			if a, ok := c.accountNamed(t.Account); ok {
				roleInAccount(e, p, tn.AssumeRole, a, t.Name, "the tenant's target %[4]q acts in account %[2]q (accountID %[3]s): name a role of account %[3]s, or give the target its own assumeRole there")
			}
		}
	}
}

// assumeRoleShape checks one assumeRole's fields and reports whether its
// roleARN is well formed (false for nil).
func assumeRoleShape(e *errs, p string, r *AssumeRole) bool {
	if r == nil {
		return false
	}
	ok := true
	switch {
	case r.RoleARN == "":
		e.add(field(p, "roleARN"), "required: the ARN of an IAM role, like arn:aws:iam::123456789012:role/trueup")
		ok = false
	case !roleARNRE().MatchString(r.RoleARN):
		e.add(field(p, "roleARN"), "%q is not an IAM role ARN: want arn:aws:iam::<12-digit account id>:role/<name>", truncate(r.RoleARN, 120))
		ok = false
	}
	if r.SessionName != "" && !sessionNameRE().MatchString(r.SessionName) {
		e.add(field(p, "sessionName"), "%q is not a valid session name: use 2 to 64 letters, digits or any of +=,.@_-", truncate(r.SessionName, 80))
	}
	secretRef(e, field(p, "externalIDFrom"), r.ExternalIDFrom)
	return ok
}

// roleInAccount reports at p.roleARN a role outside account a. fix is a
// format taking the role's account id, the account's name, its id and
// target.
func roleInAccount(e *errs, p string, r *AssumeRole, a *Account, target, fix string) {
	got := RoleAccountID(r.RoleARN)
	if got == "" || !accountIDRE().MatchString(a.AccountID) || got == a.AccountID {
		return
	}
	e.add(field(p, "roleARN"), "role %s is in account %s, but %s (trueup refuses credentials of another account)",
		r.RoleARN, got, fmt.Sprintf(fix, got, a.Name, a.AccountID, target))
}
