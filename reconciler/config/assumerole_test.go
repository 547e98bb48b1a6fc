package config

import (
	"errors"
	"strings"
	"testing"
)

// roleBase has one account 111111111111 and one source; cases add targets
// and tenants.
const roleBase = header + `sources:
  - name: infra
    url: https://git.example.com/infra.git
clusters:
  - name: prod
    kubeconfig: {path: /etc/kubeconfig}
accounts:
  - name: shop
    provider: aws
    accountID: "111111111111"
    region: eu-west-1
  - name: data
    provider: aws
    accountID: "222222222222"
    region: eu-west-1
    assumeRole: {roleARN: "arn:aws:iam::222222222222:role/trueup-data"}
`

func TestValidateAssumeRole(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must be one error, "path: message" prefix; none: valid
	}{
		{
			name: "roles of the target's, the tenant's and the account's account are valid",
			yaml: roleBase + `targets:
  - {name: web, source: infra, account: shop, assumeRole: {roleARN: "arn:aws:iam::111111111111:role/team/web", sessionName: trueup-web, externalIDFrom: {env: WEB_EXTERNAL_ID}}}
  - {name: api, source: infra, account: shop}
  - {name: lake, source: infra, account: data}
tenants:
  - {name: team-a, targets: [web, api], assumeRole: {roleARN: "arn:aws-us-gov:iam::111111111111:role/team-a"}}
`,
		},
		{
			name: "target role shape",
			yaml: roleBase + `targets:
  - {name: a, source: infra, account: shop, assumeRole: {roleARN: "arn:aws:iam::111111111111:user/bob"}}
  - {name: b, source: infra, account: shop, assumeRole: {sessionName: x}}
  - {name: c, source: infra, account: shop, assumeRole: {roleARN: "arn:aws:iam::11111:role/r", sessionName: "has space"}}
  - {name: d, source: infra, account: shop, assumeRole: {roleARN: "arn:aws:iam::111111111111:role/r", externalIDFrom: {env: A, file: /b}}}
`,
			want: []string{
				`targets[0].assumeRole.roleARN: "arn:aws:iam::111111111111:user/bob" is not an IAM role ARN: want arn:aws:iam::<12-digit account id>:role/<name>`,
				`targets[1].assumeRole.roleARN: required: the ARN of an IAM role`,
				`targets[1].assumeRole.sessionName: "x" is not a valid session name: use 2 to 64`,
				`targets[2].assumeRole.roleARN: "arn:aws:iam::11111:role/r" is not an IAM role ARN`,
				`targets[2].assumeRole.sessionName: "has space" is not a valid session name`,
				`targets[3].assumeRole.externalIDFrom: set only one of env and file`,
			},
		},
		{
			name: "assumeRole on a cluster target",
			yaml: roleBase + `targets:
  - {name: a, source: infra, cluster: prod, assumeRole: {roleARN: "arn:aws:iam::111111111111:role/r"}}
`,
			want: []string{`targets[0].assumeRole: only an account target assumes an IAM role: remove it`},
		},
		{
			name: "target role in another account",
			yaml: roleBase + `targets:
  - {name: a, source: infra, account: shop, assumeRole: {roleARN: "arn:aws:iam::999999999999:role/r"}}
`,
			want: []string{`targets[0].assumeRole.roleARN: role arn:aws:iam::999999999999:role/r is in account 999999999999, but the target acts in account "shop" (accountID 111111111111): name a role of account 111111111111 (trueup refuses credentials of another account)`},
		},
		{
			name: "tenant role in another account than one of its targets",
			yaml: roleBase + `targets:
  - {name: web, source: infra, account: shop}
  - {name: lake, source: infra, account: data}
  - {name: own, source: infra, account: data, assumeRole: {roleARN: "arn:aws:iam::222222222222:role/own"}}
  - {name: k8s, source: infra, cluster: prod}
tenants:
  - {name: team-a, targets: [web, lake, own, k8s], assumeRole: {roleARN: "arn:aws:iam::111111111111:role/team-a"}}
`,
			want: []string{`tenants[0].assumeRole.roleARN: role arn:aws:iam::111111111111:role/team-a is in account 111111111111, but the tenant's target "lake" acts in account "data" (accountID 222222222222): name a role of account 222222222222, or give the target its own assumeRole there`},
		},
		{
			name: "tenant role shape is checked without targets",
			yaml: roleBase + `tenants:
  - {name: team-a, targets: [nothing-*], assumeRole: {roleARN: "role/team-a", externalIDFrom: {}}}
`,
			want: []string{
				`tenants[0].assumeRole.externalIDFrom: set env: NAME or file: PATH`,
				`tenants[0].assumeRole.roleARN: "role/team-a" is not an IAM role ARN`,
			},
		},
		{
			name: "account role in another account",
			yaml: header + `accounts:
  - {name: shop, provider: aws, accountID: "111111111111", region: r, assumeRole: {roleARN: "arn:aws:iam::222222222222:role/trueup"}}
`,
			want: []string{`accounts[0].assumeRole.roleARN: role arn:aws:iam::222222222222:role/trueup is in account 222222222222, but the account's accountID is 111111111111: name a role of account 111111111111, or correct accountID`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Parse error %T: %v", err, err)
			}
			var roleErrs []string
			for _, fe := range got {
				if strings.Contains(fe.Path, "assumeRole") {
					roleErrs = append(roleErrs, fe.Error())
				} else {
					t.Errorf("unexpected error outside assumeRole: %s", fe.Error())
				}
			}
			if len(roleErrs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(roleErrs), len(tt.want), strings.Join(roleErrs, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(roleErrs[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, roleErrs[i], w)
				}
			}
		})
	}
}

func TestActingRoleOf(t *testing.T) {
	cfg, err := Parse([]byte(roleBase + `targets:
  - {name: own, source: infra, account: shop, labels: {team: a}, assumeRole: {roleARN: "arn:aws:iam::111111111111:role/own"}}
  - {name: by-tenant, source: infra, account: shop, labels: {team: a}}
  - {name: by-label, source: infra, account: data, labels: {team: b}}
  - {name: bare, source: infra, account: shop}
  - {name: by-account, source: infra, account: data}
  - {name: kube, source: infra, cluster: prod, labels: {team: a}}
tenants:
  - {name: team-a, targets: [own, by-tenant, kube], assumeRole: {roleARN: "arn:aws:iam::111111111111:role/team-a"}}
  - {name: team-b, targetLabels: {team: b}, assumeRole: {roleARN: "arn:aws:iam::222222222222:role/team-b", sessionName: team-b}}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target  string
		wantARN string // "" for no role
		from    string
		own     bool
		session string
	}{
		{target: "own", wantARN: "arn:aws:iam::111111111111:role/own", from: `target "own"`, own: true, session: "trueup-own"},
		{target: "by-tenant", wantARN: "arn:aws:iam::111111111111:role/team-a", from: `tenant "team-a"`, own: true, session: "trueup-team-a"},
		{target: "by-label", wantARN: "arn:aws:iam::222222222222:role/team-b", from: `tenant "team-b"`, own: true, session: "team-b"},
		{target: "bare"},
		{target: "by-account", wantARN: "arn:aws:iam::222222222222:role/trueup-data", from: `account "data"`},
		{target: "kube"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			tg, _ := cfg.Target(tt.target)
			got := cfg.ActingRoleOf(tg)
			arn := ""
			if got.Role != nil {
				arn = got.Role.RoleARN
			}
			if arn != tt.wantARN || got.From != tt.from || got.Own != tt.own || got.SessionName() != tt.session {
				t.Errorf("ActingRoleOf(%s) = {%s %q own=%v session=%q}, want {%s %q own=%v session=%q}",
					tt.target, arn, got.From, got.Own, got.SessionName(), tt.wantARN, tt.from, tt.own, tt.session)
			}
		})
	}
}

func TestAssumeRoleKey(t *testing.T) {
	a := &AssumeRole{RoleARN: "arn:aws:iam::111111111111:role/r"}
	tests := []struct {
		name string
		b    *AssumeRole
		same bool
	}{
		{name: "same role", b: &AssumeRole{RoleARN: a.RoleARN}, same: true},
		{name: "other role", b: &AssumeRole{RoleARN: "arn:aws:iam::111111111111:role/s"}},
		{name: "other session", b: &AssumeRole{RoleARN: a.RoleARN, SessionName: "x1"}},
		{name: "external id", b: &AssumeRole{RoleARN: a.RoleARN, ExternalIDFrom: &SecretRef{Env: "X"}}},
		{name: "none", b: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Key() == tt.b.Key(); got != tt.same {
				t.Errorf("keys equal = %v, want %v (%q vs %q)", got, tt.same, a.Key(), tt.b.Key())
			}
		})
	}
	if (*AssumeRole)(nil).Key() != "" {
		t.Error("nil key not empty")
	}
}
