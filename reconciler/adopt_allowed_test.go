package reconciler

import (
	"testing"

	"github.com/trueup-dev/trueup/reconciler/config"
)

func TestAdoptAllowed(t *testing.T) {
	yes, no := true, false
	tenant := []config.Tenant{{Name: "team-a", Targets: []string{"a-*"}}}
	tests := []struct {
		name    string
		tenants []config.Tenant
		mode    string
		adopt   *bool
		target  string
		want    bool
	}{
		{name: "no tenant, tenancy off: today's behaviour", target: "web", want: true},
		{name: "no tenant, tenancy off explicitly", mode: config.TenancyOff, target: "web", want: true},
		{name: "no tenant, tenancy enforced", mode: config.TenancyEnforce, target: "web", want: false},
		{name: "in a tenant", tenants: tenant, target: "a-web", want: false},
		{name: "in a tenant, adopt: true", tenants: tenant, adopt: &yes, target: "a-web", want: true},
		{name: "no tenant, adopt: false", adopt: &no, target: "web", want: false},
		{name: "outside the tenant", tenants: tenant, target: "web", want: true},
		{name: "enforced, adopt: true", mode: config.TenancyEnforce, adopt: &yes, target: "web", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{Tenants: tt.tenants, Tenancy: config.Tenancy{Mode: tt.mode},
				Targets: []config.Target{{Name: tt.target, Adopt: tt.adopt}}}
			if got := adoptAllowed(cfg, &cfg.Targets[0]); got != tt.want {
				t.Errorf("adoptAllowed = %v, want %v", got, tt.want)
			}
		})
	}
}
