package config

import (
	"regexp"
	"slices"
	"time"
)

// HA runs several `trueup serve` replicas that share the PostgreSQL
// history and divide the targets between them with Kubernetes Leases
// (coordination.k8s.io/v1): a target is reconciled by exactly one replica,
// the one holding its Lease.
type HA struct {
	Enabled bool `json:"enabled,omitempty"`
	// LeaseNamespace holds the Leases (default trueup-system).
	LeaseNamespace string `json:"leaseNamespace,omitempty"`
	// LeaseCluster names the clusters[] entry whose API server holds the
	// Leases (default: the first cluster).
	LeaseCluster string `json:"leaseCluster,omitempty"`
	// LeaseDuration is how long a Lease that is not renewed keeps others
	// out (default 15s): a replica that dies gives its targets up after it.
	LeaseDuration Duration `json:"leaseDuration,omitempty"`
	// RenewDeadline: a replica that could not renew a Lease for this long
	// stops reconciling its target (default 10s; renewDeadline plus
	// retryPeriod must be less than leaseDuration).
	RenewDeadline Duration `json:"renewDeadline,omitempty"`
	// RetryPeriod is how often Leases are renewed and looked at (default
	// 2s, less than renewDeadline).
	RetryPeriod Duration `json:"retryPeriod,omitempty"`
	// ReplicaID names this replica in the Leases (default: $POD_NAME, else
	// the host name). Every replica needs its own.
	ReplicaID string `json:"replicaID,omitempty"`
}

// HA defaults.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

func (h *HA) setDefaults(c *Config) {
	if !h.Enabled {
		return
	}
	if h.LeaseNamespace == "" {
		h.LeaseNamespace = DefaultInventoryNamespace
	}
	if h.LeaseCluster == "" && len(c.Clusters) > 0 {
		h.LeaseCluster = c.Clusters[0].Name
	}
	orDuration(&h.LeaseDuration, DefaultLeaseDuration)
	orDuration(&h.RenewDeadline, DefaultRenewDeadline)
	orDuration(&h.RetryPeriod, DefaultRetryPeriod)
}

// replicaIDPattern is what a Lease's holderIdentity may say here: a pod
// name or a host name.
var replicaIDPattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)

func validateHA(e *errs, p string, c *Config, idx nameIndex) {
	h := &c.HA
	if !h.Enabled {
		if *h != (HA{}) {
			e.add(field(p, "enabled"), "the ha settings are used only with enabled: true")
		}
		return
	}
	if c.History.Backend != "postgres" {
		e.add(field(p, "enabled"), "needs history.backend postgres: the replicas share one history (and its hash chain), which a per-process sqlite file cannot be")
	}
	if h.LeaseNamespace != "" && !dnsLabel(h.LeaseNamespace) {
		e.add(field(p, "leaseNamespace"), "%q is not a namespace name (lowercase letters, digits and '-', at most 63)", h.LeaseNamespace)
	}
	switch {
	case h.LeaseCluster != "":
		if !slices.Contains(idx.clusters, h.LeaseCluster) {
			e.add(field(p, "leaseCluster"), "unknown cluster %q%s", h.LeaseCluster, suggest(h.LeaseCluster, idx.clusters))
		}
	case len(c.Clusters) == 0:
		e.add(field(p, "leaseCluster"), "the Leases need a cluster: add one to clusters")
	}
	if h.ReplicaID != "" && !replicaIDPattern.MatchString(h.ReplicaID) {
		e.add(field(p, "replicaID"), "%q: use letters, digits, '-', '_' and '.', at most 63 (a pod or host name)", h.ReplicaID)
	}
	ld, rd, rp := or(h.LeaseDuration.Duration, DefaultLeaseDuration), or(h.RenewDeadline.Duration, DefaultRenewDeadline), or(h.RetryPeriod.Duration, DefaultRetryPeriod)
	if ld < time.Second {
		e.add(field(p, "leaseDuration"), "%s is shorter than 1s", FormatDuration(ld))
	}
	if rd+rp >= ld {
		e.add(field(p, "renewDeadline"), "%s plus retryPeriod %s must be shorter than leaseDuration %s, so a replica stops before another may take its targets",
			FormatDuration(rd), FormatDuration(rp), FormatDuration(ld))
	}
	if rp >= rd || rp < 100*time.Millisecond {
		e.add(field(p, "retryPeriod"), "%s must be at least 100ms and shorter than renewDeadline %s", FormatDuration(rp), FormatDuration(rd))
	}
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
