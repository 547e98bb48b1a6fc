package reconciler

import (
	"context"
	"strings"
	"testing"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// TestActingAccount: each account target gets the client of the role it
// resolves to, and New refuses a target whose role has no client rather
// than let it act with the account's identity.
func TestActingAccount(t *testing.T) {
	roleA := &config.AssumeRole{RoleARN: "arn:aws:iam::111111111111:role/team-a"}
	roleT := &config.AssumeRole{RoleARN: "arn:aws:iam::111111111111:role/tenant"}
	cfg := &config.Config{
		Accounts: []config.Account{{Name: "shop", AccountID: "111111111111", AssumeRole: &config.AssumeRole{RoleARN: "arn:aws:iam::111111111111:role/trueup"}}},
		Targets: []config.Target{
			{Name: "own", Account: "shop", AssumeRole: roleA},
			{Name: "by-tenant", Account: "shop"},
			{Name: "plain", Account: "shop"},
		},
		Tenants: []config.Tenant{{Name: "team", Targets: []string{"by-tenant"}, AssumeRole: roleT}},
	}
	client := func(arn string) *driftaws.Account {
		a, err := driftaws.NewAccount(context.Background(), driftaws.Config{AccountID: "111111111111", Region: "eu-west-1",
			Static: &driftaws.StaticCredentials{AccessKeyID: "k", SecretAccessKey: "s"}, AssumeRole: &driftaws.AssumeRole{RoleARN: arn}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	base, a, tenant := client("arn:aws:iam::111111111111:role/trueup"), client(roleA.RoleARN), client(roleT.RoleARN)
	dest := &AccountDestination{Account: base, Roles: map[string]*driftaws.Account{roleA.Key(): a, roleT.Key(): tenant}}
	r, err := New(cfg, nil, nil, WithAccounts(map[string]*AccountDestination{"shop": dest}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		target string
		want   *driftaws.Account
	}{{"own", a}, {"by-tenant", tenant}, {"plain", base}} {
		tg, _ := cfg.Target(tt.target)
		if got := r.actingAccount(tg, dest); got != tt.want {
			t.Errorf("%s acts as %s, want %s", tt.target, got, tt.want)
		}
	}

	delete(dest.Roles, roleT.Key())
	_, err = New(cfg, nil, nil, WithAccounts(map[string]*AccountDestination{"shop": dest}))
	want := `target "by-tenant": no client for role arn:aws:iam::111111111111:role/tenant (the assumeRole of tenant "team") in account "shop"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("New without the tenant role's client: %v, want %s", err, want)
	}
}
