package main

import (
	"fmt"
	"log/slog"
	"os"

	"k8s.io/client-go/kubernetes"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/lease"
)

var _ reconciler.Ownership = (*lease.Manager)(nil)

// startHA shares the targets with the other replicas when ha.enabled:
// r then reconciles only the targets whose Leases this replica holds.
// Call it before r.Run. metrics are the process's, shared by the Lease
// managers of successive configs.
func startHA(cfg *config.Config, r *reconciler.Reconciler, metrics *lease.Metrics, log *slog.Logger) error {
	h := cfg.HA
	if !h.Enabled {
		return nil
	}
	id, err := replicaID(h)
	if err != nil {
		return &exitCodeError{code: exitError, err: err}
	}
	c, path, ok := clusterNamed(cfg, h.LeaseCluster)
	if !ok {
		return &exitCodeError{code: exitError, err: fmt.Errorf("ha.leaseCluster: unknown cluster %q", h.LeaseCluster)}
	}
	rc, err := restConfig(path, c)
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("ha: %w", err)}
	}
	opts := lease.Options{Namespace: h.LeaseNamespace, Identity: id, LeaseDuration: h.LeaseDuration.Duration,
		RenewDeadline: h.RenewDeadline.Duration, RetryPeriod: h.RetryPeriod.Duration, Logger: log, Metrics: metrics}
	rc.UserAgent = "trueup/" + version + " (leases)"
	// Targets and sources bound the Leases (previews are one per source).
	rc.QPS, rc.Burst = lease.ClientRateLimit(len(cfg.Targets)+len(cfg.Sources), opts)
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("ha: client of cluster %q: %w", c.Name, err)}
	}
	m, err := lease.New(cs, opts)
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("ha: %w", err)}
	}
	r.ShareTargets(m)
	log.Info("ha: sharing targets with the other replicas", "replica", id, "cluster", c.Name, "namespace", h.LeaseNamespace,
		"leaseDuration", h.LeaseDuration.Duration.String())
	return nil
}

// replicaID is ha.replicaID, else $POD_NAME, else the host name.
func replicaID(h config.HA) (string, error) {
	if h.ReplicaID != "" {
		return h.ReplicaID, nil
	}
	if p := os.Getenv("POD_NAME"); p != "" {
		return p, nil
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "", fmt.Errorf("ha.replicaID: not set, POD_NAME is empty and the host name is unknown (%v): set ha.replicaID", err)
	}
	return host, nil
}

func clusterNamed(cfg *config.Config, name string) (config.Cluster, string, bool) {
	for i, c := range cfg.Clusters {
		if c.Name == name {
			return c, fmt.Sprintf("clusters[%d]", i), true
		}
	}
	return config.Cluster{}, "", false
}
