package kube

import (
	"fmt"
	"regexp"
	"time"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/trueup-dev/trueup/drift"
)

// DefaultInventoryNamespace holds the inventories when ApplyOptions names none.
const DefaultInventoryNamespace = "trueup-system"

// ApplyOptions are the per-call knobs of Apply. Start from
// DefaultApplyOptions.
type ApplyOptions struct {
	// InventoryNamespace holds the target's inventory ConfigMap; it is
	// created when missing. Default trueup-system.
	InventoryNamespace string
	// Timeout bounds each wait: a definitions stage becoming established,
	// and the health wait after the last stage. Default 5m.
	Timeout time.Duration
	// WaitInterval is how often a wait polls the objects' status. Default 2s.
	WaitInterval time.Duration
	// Wait waits for every applied object to be healthy (kstatus Current)
	// before pruning and recording the inventory. Default true.
	Wait bool
	// RecordUnhealthy records the inventory even when the health wait fails,
	// as the previous inventory plus everything applied (nothing is pruned),
	// with Revision kept at the last healthy one and this run's Revision as
	// Inventory.Attempted. Without it an unhealthy apply leaves the previous
	// inventory untouched.
	RecordUnhealthy bool
	// Concurrency bounds parallel object operations. Default 4.
	Concurrency int
	// Force lets Apply delete and recreate any object whose change touches
	// an immutable field. Per object: annotate it trueup.dev/force=enabled.
	Force bool
	// DryRun runs every request as a server-side dry-run: nothing is
	// written, not even the inventory; the Result tells what would happen.
	DryRun bool
	// Ignore lists fields that Apply leaves as they are live (for example
	// /spec/replicas of a Deployment scaled by an HPA).
	Ignore []drift.IgnoreRule
	// AdoptAnnotatedOnly refuses to take over a live object that has no
	// trueup.dev/target label unless it is annotated trueup.dev/adopt:
	// <target> (the target's adopt: false). Default false: such objects are
	// adopted. An object labelled for another target is always refused.
	AdoptAnnotatedOnly bool
	// Retain lists objects that are still desired but not applied in this
	// run (a policy blocked them): they are never pruned and stay in the
	// inventory.
	Retain []drift.ObjectRef
	// Prune says whether and how much to delete of what left the render.
	Prune PruneOptions
	// Revision, when set, is recorded on the inventory.
	Revision string
	// Progress, when set, is called as the apply advances. It runs on the
	// calling goroutine and must not block.
	Progress func(Event)
	// Journal, when set, hears of every change right before it is sent and
	// right after the cluster accepted it, so the caller can keep a
	// write-ahead log that survives a crash between the two (see Journal).
	Journal Journal
}

// DefaultApplyOptions returns the defaults: wait for health, 5m timeout,
// concurrency 4, no force, pruning off.
func DefaultApplyOptions() ApplyOptions {
	return ApplyOptions{
		InventoryNamespace: DefaultInventoryNamespace,
		Timeout:            5 * time.Minute,
		WaitInterval:       2 * time.Second,
		Wait:               true,
		Concurrency:        4,
	}
}

// complete fills zero values with defaults.
func (o ApplyOptions) complete() ApplyOptions {
	d := DefaultApplyOptions()
	if o.InventoryNamespace == "" {
		o.InventoryNamespace = d.InventoryNamespace
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.WaitInterval <= 0 {
		o.WaitInterval = d.WaitInterval
	}
	if o.Concurrency < 1 {
		o.Concurrency = d.Concurrency
	}
	return o
}

func (o ApplyOptions) emit(e Event) {
	if o.Progress != nil {
		o.Progress(e)
	}
}

// PruneOptions are the safety limits of pruning.
type PruneOptions struct {
	// Enabled deletes objects that left the render. When false they stay
	// in the inventory, so enabling pruning later deletes them.
	Enabled bool
	// AllowEmpty allows pruning when the render is empty (deleting
	// everything). Without it an empty render prunes nothing.
	AllowEmpty bool
	// Max caps deletions per run as a count; 0 is no limit.
	Max int
	// MaxPercent caps deletions per run as a percentage of the inventory
	// (rounded down, at least 1); 0 is no limit. With Max, the lower wins.
	MaxPercent int
	// Protected lists inventory objects whose live copy is annotated
	// trueup.dev/prune: disabled. Apply fills it from the cluster; callers of
	// PlanPrune pass what they read.
	Protected []drift.ObjectRef
}

// ssaIgnoreRules converts ignore rules to ssa's form. drift.Selector fields
// match exactly; ssa's are anchored regular expressions, so they are quoted.
func ssaIgnoreRules(rules []drift.IgnoreRule) ([]jsondiff.IgnoreRule, error) {
	out := make([]jsondiff.IgnoreRule, 0, len(rules))
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("ignore[%d]: %w", i, err)
		}
		sel, err := ssaSelector(r.Selector)
		if err != nil {
			return nil, fmt.Errorf("ignore[%d]: selector: %w", i, err)
		}
		out = append(out, jsondiff.IgnoreRule{Paths: r.Paths, Selector: sel})
	}
	if _, err := jsondiff.CompileIgnoreRules(out); err != nil {
		return nil, fmt.Errorf("ignore: %w", err)
	}
	return out, nil
}

func ssaSelector(s drift.Selector) (*jsondiff.Selector, error) {
	if s.Group == "" && s.Kind == "" && s.Name == "" && s.Namespace == "" && len(s.Labels) == 0 {
		return nil, nil
	}
	sel := &jsondiff.Selector{
		Group:     regexp.QuoteMeta(s.Group),
		Kind:      regexp.QuoteMeta(s.Kind),
		Name:      regexp.QuoteMeta(s.Name),
		Namespace: regexp.QuoteMeta(s.Namespace),
	}
	if len(s.Labels) > 0 {
		ls, err := labels.ValidatedSelectorFromSet(s.Labels)
		if err != nil {
			return nil, err
		}
		sel.LabelSelector = ls.String()
	}
	return sel, nil
}
