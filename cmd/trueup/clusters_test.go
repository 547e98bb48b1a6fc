package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// TestClusterRateLimit: clusters[].rateLimit reaches the cluster's client
// (burst defaulting to twice qps); without it there is no client-side
// limit (qps -1), as before.
func TestClusterRateLimit(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		limit string
		qps   float32
		burst int
	}{
		{"none", "", -1, 0},
		{"qps only", "    rateLimit: {qps: 20}\n", 20, 40},
		{"qps and burst", "    rateLimit: {qps: 5, burst: 7}\n", 5, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: ` + dir + `
sources: [{name: s, url: https://git.example.com/s.git}]
clusters:
  - name: prod
    kubeconfig: {path: ` + kubeconfig + `}
` + tt.limit + `targets: [{name: web, source: s, cluster: prod}]
`))
			if err != nil {
				t.Fatal(err)
			}
			dests, err := newDestinations(cfg, []*config.Target{&cfg.Targets[0]})
			if err != nil {
				t.Fatal(err)
			}
			qps, burst := dests["prod"].Cluster.RateLimit()
			if qps != tt.qps || (tt.qps > 0 && burst != tt.burst) {
				t.Errorf("rate limit qps %v burst %d, want %v %d", qps, burst, tt.qps, tt.burst)
			}
		})
	}
}
