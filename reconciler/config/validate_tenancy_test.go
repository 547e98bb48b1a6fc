package config

import "testing"

const tenancyBase = header + `sources:
  - name: platform
    url: https://git.example.com/platform.git
  - name: team-a
    url: https://git.example.com/team-a.git
clusters:
  - name: prod
    kubeconfig: {path: /etc/kubeconfig}
  - name: stage
    kubeconfig: {path: /etc/kubeconfig}
`

func TestValidateTenancy(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the errors; none: valid
	}{
		{
			name: "valid two tenants with enforce",
			yaml: tenancyBase + `targets:
  - {name: a-web, source: team-a, path: apps/web, cluster: prod}
  - {name: b-web, source: platform, cluster: prod, labels: {team: b}}
tenancy: {mode: enforce}
tenants:
  - name: team-a
    targets: [a-*]
    namespaces: [a-*]
    clusterKinds: [ClusterRole.rbac.authorization.k8s.io]
    deniedKinds: [Secret]
    sources: [{name: team-a, paths: [apps]}]
    serviceAccounts: [{cluster: prod, namespace: a-system, name: trueup}]
  - name: team-b
    targetLabels: {team: b}
    namespaces: [b-*]
    serviceAccounts: [{cluster: prod, namespace: b-system, name: trueup}]
`,
		},
		{
			name: "names, mode, globs and kinds",
			yaml: tenancyBase + `tenancy: {mode: strict, defaultServiceAccount: Bad_Name}
tenants:
  - name: Team_A
    targets: ["a-["]
    namespaces: ["[", ""]
    clusterKinds: [clusterrole, "ClusterRole.RBAC"]
    deniedKinds: ["Secret.", "Secret/v1"]
  - name: team-b
  - name: team-b
    targets: [b]
`,
			want: []string{
				`tenancy.mode: unknown value "strict": use one of off, enforce`,
				`tenancy.defaultServiceAccount: "Bad_Name" is not a valid ServiceAccount name`,
				`tenants[0].name: "Team_A" is not a valid name`,
				`tenants[0].targets[0]: "a-[" is not a valid glob`,
				`tenants[0].namespaces[0]: "[" is not a valid glob`,
				`tenants[0].namespaces[1]: empty glob`,
				`tenants[0].clusterKinds[0]: "clusterrole" is not a kind: write Kind (any API group) or Kind.group`,
				`tenants[0].clusterKinds[1]: "ClusterRole.RBAC" is not a kind`,
				`tenants[0].deniedKinds[0]: "Secret." is not a kind`,
				`tenants[0].deniedKinds[1]: "Secret/v1" is not a kind`,
				`tenants[1]: owns no target: set targets (name globs like shop-*) or targetLabels`,
				`tenants[2].name: duplicate name "team-b" (also tenants[1])`,
			},
		},
		{
			name: "sources and service accounts reference what exists",
			yaml: tenancyBase + `tenants:
  - name: team-a
    targets: [a-*]
    sources: [{name: team-x, paths: ["["]}]
    serviceAccounts:
      - {cluster: prd, namespace: a-system, name: trueup}
      - {cluster: prod, namespace: A, name: "x.y"}
      - {cluster: prod, namespace: a-system, name: other}
`,
			want: []string{
				`tenants[0].sources[0].name: unknown source "team-x"`,
				`tenants[0].sources[0].paths[0]: "[" is not a valid glob`,
				`tenants[0].serviceAccounts[0].cluster: unknown cluster "prd" (did you mean "prod"?)`,
				`tenants[0].serviceAccounts[1].namespace: "A" is not a valid namespace name`,
				`tenants[0].serviceAccounts[1].name: "x.y" is not a valid ServiceAccount name`,
				`tenants[0].serviceAccounts[2]: a second ServiceAccount for cluster "prod" (also tenants[0].serviceAccounts[1]): keep one per cluster`,
			},
		},
		{
			name: "enforce: a cluster target without a tenant",
			yaml: tenancyBase + `targets:
  - {name: a-web, source: team-a, cluster: prod}
  - {name: shared, source: platform, cluster: prod}
tenancy: {mode: enforce, defaultServiceAccount: trueup}
tenants:
  - {name: team-a, targets: [a-*], namespaces: [a-apps]}
`,
			want: []string{`targets[1]: tenancy.mode is enforce and no tenant owns target "shared": add its name (or a glob matching it) to the targets of one of tenants[0] (team-a), or set tenancy.mode: off`},
		},
		{
			name: "enforce without tenants",
			yaml: tenancyBase + `targets:
  - {name: shared, source: platform, cluster: prod}
tenancy: {mode: enforce}
`,
			want: []string{`targets[0]: tenancy.mode is enforce and no tenant owns target "shared": declare a tenant owning it (tenants[].targets), or set tenancy.mode: off`},
		},
		{
			name: "enforce: no ServiceAccount on the target's cluster",
			yaml: tenancyBase + `targets:
  - {name: a-web, source: team-a, cluster: stage}
tenancy: {mode: enforce}
tenants:
  - name: team-a
    targets: [a-*]
    serviceAccounts: [{cluster: prod, namespace: a-system, name: trueup}]
`,
			want: []string{`targets[0]: tenant "team-a" names no ServiceAccount for cluster "stage" to act as: add {cluster: stage, namespace: ..., name: ...} to tenants[0].serviceAccounts, or set tenancy.defaultServiceAccount`},
		},
		{
			name: "default ServiceAccount needs a literal namespace",
			yaml: tenancyBase + `targets:
  - {name: a-web, source: team-a, cluster: prod}
tenancy: {mode: enforce, defaultServiceAccount: trueup}
tenants:
  - {name: team-a, targets: [a-*], namespaces: [a-*]}
`,
			want: []string{`tenants[0].namespaces: tenancy.defaultServiceAccount lives in the tenant's first namespace without a glob, and tenant "team-a" has none`},
		},
		{
			name: "off: a target outside tenants is fine",
			yaml: tenancyBase + `targets:
  - {name: shared, source: platform, cluster: prod}
tenants:
  - {name: team-a, targets: [a-*], namespaces: [a-*]}
`,
		},
		{
			name: "target namespace outside its tenant's",
			yaml: tenancyBase + `targets:
  - {name: a-web, source: team-a, cluster: prod, namespace: b-web}
  - {name: a-api, source: team-a, cluster: prod, namespace: a-api}
tenants:
  - {name: team-a, targets: [a-*], namespaces: [a-*]}
`,
			want: []string{`targets[0].namespace: "b-web" is not one of tenant "team-a"'s namespaces (tenants[0].namespaces: a-*): objects without a namespace would be refused; use one of them, or add it there`},
		},
		{
			name: "tenant sources and paths",
			yaml: tenancyBase + `targets:
  - {name: a-web, source: team-a, path: apps/web/prod, cluster: prod}
  - {name: a-ops, source: team-a, path: ops, cluster: prod}
  - {name: a-plat, source: platform, path: apps, cluster: prod}
tenants:
  - name: team-a
    targets: [a-*]
    sources: [{name: team-a, paths: [apps/*]}]
`,
			want: []string{
				`targets[1].path: tenant "team-a" may read only paths apps/* of source "team-a" (tenants[0].sources[0].paths): move the target under one of them, or add its path there`,
				`targets[2].source: tenant "team-a" may read only sources team-a (tenants[0].sources): use one of them, or add source "platform" there`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParse(t, tt.yaml, tt.want) })
	}
}

func TestServiceAccountFor(t *testing.T) {
	cfg, err := Parse([]byte(tenancyBase + `targets:
  - {name: a-web, source: team-a, cluster: prod}
  - {name: a-stage, source: team-a, cluster: stage}
  - {name: b-web, source: platform, cluster: prod}
  - {name: shared, source: platform, cluster: prod}
tenancy: {defaultServiceAccount: deployer}
tenants:
  - name: team-a
    targets: [a-*]
    namespaces: [a-*, a-system]
    serviceAccounts: [{cluster: prod, namespace: a-system, name: trueup}]
  - {name: team-b, targets: [b-*], namespaces: [b-*, b-apps]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		want   string
		ok     bool
	}{
		{"a-web", "a-system/trueup", true},
		{"a-stage", "a-system/deployer", true}, // default, first literal namespace
		{"b-web", "b-apps/deployer", true},
		{"shared", "", false},
	}
	for _, tt := range tests {
		sa, ok := cfg.ServiceAccountFor(tt.target)
		if ok != tt.ok || (ok && sa.String() != tt.want) {
			t.Errorf("%s: got %v %v, want %q %v", tt.target, sa, ok, tt.want, tt.ok)
		}
	}
}
