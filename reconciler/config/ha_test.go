package config

import (
	"strings"
	"testing"
	"time"
)

const haBase = header + `sources: [{name: platform, url: https://git.example.com/p.git}]
clusters:
  - name: prod
    kubeconfig: {path: /k}
  - name: stage
    kubeconfig: {path: /k}
`

const haPostgres = "history:\n  backend: postgres\n  dsnFrom: {env: PG}\n"

func TestHAErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "ha needs the postgres history", yaml: haBase + "ha: {enabled: true}\n",
			want: []string{"ha.enabled: needs history.backend postgres"}},
		{name: "unknown lease cluster", yaml: haBase + haPostgres + "ha: {enabled: true, leaseCluster: prd}\n",
			want: []string{`ha.leaseCluster: unknown cluster "prd" (did you mean "prod"?)`}},
		{name: "timings out of order", yaml: haBase + haPostgres + "ha: {enabled: true, leaseDuration: 10s, renewDeadline: 10s, retryPeriod: 20s}\n",
			want: []string{"ha.renewDeadline: 10s plus retryPeriod 20s must be shorter than leaseDuration 10s", "ha.retryPeriod: 20s must be at least 100ms and shorter than renewDeadline 10s"}},
		{name: "no room between renewDeadline and leaseDuration", yaml: haBase + haPostgres + "ha: {enabled: true, leaseDuration: 10s, renewDeadline: 9s, retryPeriod: 2s}\n",
			want: []string{"ha.renewDeadline: 9s plus retryPeriod 2s must be shorter than leaseDuration 10s"}},
		{name: "bad namespace and replica", yaml: haBase + haPostgres + "ha: {enabled: true, leaseNamespace: Trueup_System, replicaID: 'a b'}\n",
			want: []string{`ha.leaseNamespace: "Trueup_System" is not a namespace name`, `ha.replicaID: "a b": use letters`}},
		{name: "settings without enabled", yaml: haBase + "ha: {leaseNamespace: x}\n",
			want: []string{"ha.enabled: the ha settings are used only with enabled: true"}},
		{name: "unknown field", yaml: haBase + haPostgres + "ha: {enabled: true, leaseDurations: 5s}\n",
			want: []string{`ha.leaseDurations: unknown field (did you mean "leaseDuration"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestHADefaults(t *testing.T) {
	c, err := Parse([]byte(haBase + haPostgres + "ha: {enabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := HA{Enabled: true, LeaseNamespace: "trueup-system", LeaseCluster: "prod",
		LeaseDuration: Duration{15 * time.Second}, RenewDeadline: Duration{10 * time.Second}, RetryPeriod: Duration{2 * time.Second}}
	if c.HA != want {
		t.Errorf("defaults %+v, want %+v", c.HA, want)
	}
	c, err = Parse([]byte(haBase + haPostgres + "ha: {enabled: true, leaseCluster: stage, leaseDuration: 6s, renewDeadline: 4s, retryPeriod: 1s, replicaID: trueup-0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HA.LeaseCluster != "stage" || c.HA.LeaseDuration.Duration != 6*time.Second || c.HA.ReplicaID != "trueup-0" {
		t.Errorf("settings not kept: %+v", c.HA)
	}
}
