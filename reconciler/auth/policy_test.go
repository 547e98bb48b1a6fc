package auth

import (
	"slices"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/reconciler/config"
)

func TestPolicyAccess(t *testing.T) {
	bindings := []config.RoleBinding{
		{Role: config.RoleViewer, Groups: []string{"team-a"}, Tenants: []string{"a"}},
		{Role: config.RoleViewer, Users: []string{"contractor"}, Tenants: []string{"b"}, MaskValues: true},
		{Role: config.RoleOperator, Groups: []string{"oncall"}, Tenants: []string{"*"}},
		{Role: config.RoleOperator, Users: []string{"lead-a"}, Tenants: []string{"a"}},
		{Role: config.RoleAuditor, Groups: []string{"audit"}},
		{Role: config.RoleAdmin, Users: []string{"root"}},
		{Role: config.RoleViewer, Users: []string{"alice"}, Tenants: []string{"b"}, MaskValues: true},
	}
	p := NewPolicy(bindings)
	tests := []struct {
		name   string
		user   User
		verb   Verb
		tenant string
		want   bool
		masked bool
		reason string // substring of the refusal
	}{
		{name: "viewer by group sees its tenant", user: User{Name: "alice", Groups: []string{"team-a"}}, verb: View, tenant: "a", want: true},
		{name: "viewer binding with maskValues masks", user: User{Name: "contractor"}, verb: View, tenant: "b", want: true, masked: true},
		{name: "an unmasked binding for the tenant wins", user: User{Name: "alice", Groups: []string{"team-a"}}, verb: View, tenant: "b", want: true, masked: true},
		{name: "viewer not of another tenant", user: User{Name: "bob", Groups: []string{"team-a"}}, verb: View, tenant: "b",
			reason: `user "bob" (groups team-a) with role viewer may not view targets of tenant "b": add them to a server.auth.roles entry with role viewer or operator and tenants [b]`},
		{name: "viewer may not act", user: User{Name: "bob", Groups: []string{"team-a"}}, verb: Act, tenant: "a",
			reason: `may not act on targets of tenant "a": add them to a server.auth.roles entry with role operator and tenants [a]`},
		{name: "viewer not outside tenants", user: User{Name: "bob", Groups: []string{"team-a"}}, verb: View, tenant: "",
			reason: "may not view targets outside any tenant: only auditors and admins may"},
		{name: "operator acts on its tenant", user: User{Name: "lead-a"}, verb: Act, tenant: "a", want: true},
		{name: "operator not on another tenant", user: User{Name: "lead-a"}, verb: Act, tenant: "b", reason: `tenant "b"`},
		{name: "operator * covers every tenant", user: User{Name: "x", Groups: []string{"oncall"}}, verb: Act, tenant: "b", want: true},
		{name: "operator * not outside tenants", user: User{Name: "x", Groups: []string{"oncall"}}, verb: View, tenant: "", reason: "outside any tenant"},
		{name: "auditor views every tenant", user: User{Name: "x", Groups: []string{"audit"}}, verb: View, tenant: "b", want: true},
		{name: "auditor views outside tenants", user: User{Name: "x", Groups: []string{"audit"}}, verb: View, tenant: "", want: true},
		{name: "auditor never acts", user: User{Name: "x", Groups: []string{"audit"}}, verb: Act, tenant: "a", reason: "with role auditor may not act"},
		{name: "admin acts outside tenants", user: User{Name: "root"}, verb: Act, tenant: "", want: true},
		{name: "unbound user", user: User{Name: "nobody", Groups: []string{"system:authenticated"}}, verb: View, tenant: "a", reason: "with no role"},
		{name: "user name is not a group", user: User{Name: "team-a"}, verb: View, tenant: "a", reason: "with no role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Access(tt.user).Allow(tt.verb, tt.tenant)
			if d.Allowed != tt.want || d.Masked != tt.masked {
				t.Fatalf("Allow(%s, %q) = %+v, want allowed %v masked %v", tt.verb, tt.tenant, d, tt.want, tt.masked)
			}
			if !tt.want && !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", d.Reason, tt.reason)
			}
		})
	}
}

func TestAccessRolesAndEverything(t *testing.T) {
	p := NewPolicy([]config.RoleBinding{
		{Role: config.RoleViewer, Groups: []string{"g"}, Tenants: []string{"a"}},
		{Role: config.RoleViewer, Users: []string{"u"}, Tenants: []string{"b"}},
		{Role: config.RoleAuditor, Users: []string{"aud"}},
	})
	if got := p.Access(User{Name: "u", Groups: []string{"g"}}).Roles(); !slices.Equal(got, []string{"viewer"}) {
		t.Errorf("roles = %v, want [viewer]", got)
	}
	if p.Access(User{Name: "u"}).Everything() || !p.Access(User{Name: "aud"}).Everything() || !Unrestricted().Everything() {
		t.Error("Everything: want only auditors, admins and unrestricted access")
	}
	if p.Access(User{Name: "x"}).Any() || FromContext(t.Context()).Any() {
		t.Error("an unbound user, or a request that did not pass the gate, has a role")
	}
}
