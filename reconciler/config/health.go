package config

import "github.com/trueup-dev/trueup/reconciler/health"

// HealthCheck judges the objects of one kind with CEL expressions instead
// of kstatus (like Flux's healthCheckExprs). The expressions see the
// object's apiVersion, kind, metadata, spec, status (and data) as
// variables; they are tried in the order inProgress, failed, current, and
// the first that is true decides (none: in progress).
type HealthCheck struct {
	// APIVersion is group/version (the group selects; the check applies to
	// every version of the kind).
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Current is true when the object is healthy (required).
	Current string `json:"current"`
	// Failed is true when the object will not become healthy.
	Failed string `json:"failed,omitempty"`
	// InProgress is true while the object is still getting there.
	InProgress string `json:"inProgress,omitempty"`
}

// Rule is the check as the health package compiles it.
func (h HealthCheck) Rule() health.Rule {
	return health.Rule{APIVersion: h.APIVersion, Kind: h.Kind, Current: h.Current, Failed: h.Failed, InProgress: h.InProgress}
}
