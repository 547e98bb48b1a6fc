package aws

import (
	"github.com/trueup-dev/trueup/drift"
)

// ApplyOptions are the per-call knobs of Apply. Start from
// DefaultApplyOptions.
type ApplyOptions struct {
	// DryRun computes the same Result without writing anything.
	DryRun bool
	// Prune says whether and how much to delete of what left Git.
	Prune PruneOptions
	// Retain lists resources that are still desired but not applied in
	// this run (a policy blocked them): they are never pruned.
	Retain []drift.ObjectRef
	// Ignore lists fields Apply leaves as they are live; they are not
	// drift either (see drift/aws Compare).
	Ignore []drift.IgnoreRule
	// Concurrency bounds the resources written at once. Default 4. The
	// Account's own limits (requests in flight, rate) apply underneath.
	Concurrency int
}

// PruneOptions are the safety limits of pruning, with the semantics of
// reconciler/kube: see kube.PlanPrune.
type PruneOptions struct {
	// Enabled deletes resources tagged for the target that left Git.
	Enabled bool
	// AllowEmpty allows pruning when the desired set is empty (deleting
	// everything the target tagged). Without it an empty set prunes nothing.
	AllowEmpty bool
	// Max caps deletions per run as a count; 0 is no limit.
	Max int
	// MaxPercent caps deletions per run as a percentage of the resources
	// tagged for the target (rounded down, at least 1); 0 is no limit.
	// With Max, the lower wins.
	MaxPercent int
}

// DefaultApplyOptions returns the defaults: write, concurrency 4, pruning
// off.
func DefaultApplyOptions() ApplyOptions {
	return ApplyOptions{Concurrency: 4}
}

func (o ApplyOptions) complete() ApplyOptions {
	if o.Concurrency < 1 {
		o.Concurrency = DefaultApplyOptions().Concurrency
	}
	return o
}
