package kube

import (
	"fmt"

	"github.com/trueup-dev/trueup/drift"
)

// BlockedNote is the result message of each object a blocked prune kept;
// the reason is given once, in PrunePlan.BlockedReason.
const BlockedNote = "not deleted: the prune was blocked; kept in the inventory"

// PrunePlan says what to do with the objects that the inventory lists and
// the render lacks. Objects are matched by group, kind, namespace and name;
// the API version does not count.
type PrunePlan struct {
	// Delete are the objects to delete now.
	Delete []drift.ObjectRef
	// Blocked left the render but are not deleted because a safety limit
	// stopped the prune; they stay in the inventory.
	Blocked []drift.ObjectRef
	// BlockedReason says why Blocked is not empty and what to do about it,
	// without a "prune blocked" prefix (whoever shows it adds one).
	BlockedReason string
	// Kept left the render but pruning is off; they stay in the inventory.
	Kept []drift.ObjectRef
	// Released are protected (trueup.dev/prune: disabled): never deleted,
	// dropped from the inventory, so trueup stops managing them.
	Released []drift.ObjectRef
	// Inventory is the next inventory if every deletion succeeds: desired,
	// blocked and kept objects. Add the deletions that fail.
	Inventory []drift.ObjectRef
}

// PlanPrune computes the prune of one run: inventory minus desired, within
// the limits of opts. It is pure: the live facts it needs (which objects are
// protected) come in opts.Protected.
//
// The caller must pass the desired set of a render that succeeded: an empty
// desired set means "Git wants nothing", and is refused unless
// opts.AllowEmpty.
func PlanPrune(inventory, desired []drift.ObjectRef, opts PruneOptions) PrunePlan {
	inDesired := keySet(desired)
	protected := keySet(opts.Protected)
	var plan PrunePlan
	var candidates []drift.ObjectRef
	for _, ref := range sortRefs(inventory) {
		switch k := keyOf(ref); {
		case inDesired[k]:
		case protected[k]:
			plan.Released = append(plan.Released, ref)
		default:
			candidates = append(candidates, ref)
		}
	}

	switch {
	case len(candidates) == 0:
	case !opts.Enabled:
		plan.Kept = candidates
	case len(desired) == 0 && !opts.AllowEmpty:
		plan.Blocked = candidates
		plan.BlockedReason = fmt.Sprintf("render is empty: refusing to prune %d objects; set prune.allowEmpty: true if this is intended", len(candidates))
	default:
		limit, source := pruneLimit(opts, len(inventory))
		if limit > 0 && len(candidates) > limit {
			plan.Blocked = candidates
			plan.BlockedReason = fmt.Sprintf("would delete %d objects, limit %d (%s): raise prune.max and run trueup apply, or delete them by hand", len(candidates), limit, source)
		} else {
			plan.Delete = candidates
		}
	}

	next := append(append(append([]drift.ObjectRef{}, desired...), plan.Blocked...), plan.Kept...)
	plan.Inventory = sortRefs(next)
	return plan
}

// pruneLimit returns the deletion cap (0: none) and how it was set.
func pruneLimit(opts PruneOptions, inventorySize int) (int, string) {
	limit, source := opts.Max, "prune.max"
	if opts.MaxPercent > 0 {
		pct := inventorySize * opts.MaxPercent / 100
		if pct < 1 {
			pct = 1
		}
		if limit == 0 || pct < limit {
			limit = pct
			source = fmt.Sprintf("prune.max: %d%% of %d", opts.MaxPercent, inventorySize)
		}
	}
	return limit, source
}

func keySet(refs []drift.ObjectRef) map[objectKey]bool {
	set := make(map[objectKey]bool, len(refs))
	for _, r := range refs {
		set[keyOf(r)] = true
	}
	return set
}
