package kube

import (
	"fmt"
	"slices"
	"testing"

	"github.com/trueup-dev/trueup/drift"
)

func cm(ns, name string) drift.ObjectRef {
	return drift.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: name}
}

func cms(n int) []drift.ObjectRef {
	out := make([]drift.ObjectRef, n)
	for i := range out {
		out[i] = cm("app", fmt.Sprintf("cm-%02d", i))
	}
	return out
}

func TestPlanPrune(t *testing.T) {
	deploy := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "app", Name: "web"}
	deployV2 := deploy
	deployV2.Version = "v2"
	a, b, c := cm("app", "a"), cm("app", "b"), cm("app", "c")

	tests := []struct {
		name      string
		inventory []drift.ObjectRef
		desired   []drift.ObjectRef
		opts      PruneOptions
		delete    []drift.ObjectRef
		blocked   []drift.ObjectRef
		reason    string
		kept      []drift.ObjectRef
		released  []drift.ObjectRef
		next      []drift.ObjectRef
	}{
		{
			name:      "nothing left the render",
			inventory: []drift.ObjectRef{a, b},
			desired:   []drift.ObjectRef{b, a},
			opts:      PruneOptions{Enabled: true},
			next:      []drift.ObjectRef{a, b},
		},
		{
			name:      "removed object is deleted",
			inventory: []drift.ObjectRef{a, b, c},
			desired:   []drift.ObjectRef{a, c},
			opts:      PruneOptions{Enabled: true},
			delete:    []drift.ObjectRef{b},
			next:      []drift.ObjectRef{a, c},
		},
		{
			name:      "new objects join the inventory",
			inventory: []drift.ObjectRef{a},
			desired:   []drift.ObjectRef{a, b},
			opts:      PruneOptions{Enabled: true},
			next:      []drift.ObjectRef{a, b},
		},
		{
			name:      "a version change is not a prune",
			inventory: []drift.ObjectRef{deploy},
			desired:   []drift.ObjectRef{deployV2},
			opts:      PruneOptions{Enabled: true},
			next:      []drift.ObjectRef{deployV2},
		},
		{
			name:      "empty render prunes nothing and says why",
			inventory: []drift.ObjectRef{a, b, c},
			opts:      PruneOptions{Enabled: true, Max: 1},
			blocked:   []drift.ObjectRef{a, b, c},
			reason:    "render is empty: refusing to prune 3 objects; set prune.allowEmpty: true if this is intended",
			next:      []drift.ObjectRef{a, b, c},
		},
		{
			name:      "empty render with allowEmpty prunes all",
			inventory: []drift.ObjectRef{a, b, c},
			opts:      PruneOptions{Enabled: true, AllowEmpty: true},
			delete:    []drift.ObjectRef{a, b, c},
			next:      []drift.ObjectRef{},
		},
		{
			name:      "empty render and empty inventory is not blocked",
			inventory: nil,
			opts:      PruneOptions{Enabled: true},
			next:      []drift.ObjectRef{},
		},
		{
			name:      "max blocks a mass deletion",
			inventory: cms(10),
			desired:   cms(10)[:4],
			opts:      PruneOptions{Enabled: true, Max: 5},
			blocked:   cms(10)[4:],
			reason:    "would delete 6 objects, limit 5 (prune.max): raise prune.max and run trueup apply, or delete them by hand",
			next:      cms(10),
		},
		{
			name:      "deletions up to max go through",
			inventory: cms(10),
			desired:   cms(10)[:5],
			opts:      PruneOptions{Enabled: true, Max: 5},
			delete:    cms(10)[5:],
			next:      cms(10)[:5],
		},
		{
			name:      "percent of the inventory",
			inventory: cms(10),
			desired:   cms(10)[:7],
			opts:      PruneOptions{Enabled: true, MaxPercent: 20},
			blocked:   cms(10)[7:],
			reason:    "would delete 3 objects, limit 2 (prune.max: 20% of 10): raise prune.max and run trueup apply, or delete them by hand",
			next:      cms(10),
		},
		{
			name:      "percent rounds down but allows one",
			inventory: cms(3),
			desired:   cms(3)[:2],
			opts:      PruneOptions{Enabled: true, MaxPercent: 10},
			delete:    cms(3)[2:],
			next:      cms(3)[:2],
		},
		{
			name:      "the lower of max and percent wins",
			inventory: cms(10),
			desired:   cms(10)[:6],
			opts:      PruneOptions{Enabled: true, Max: 3, MaxPercent: 50},
			blocked:   cms(10)[6:],
			reason:    "would delete 4 objects, limit 3 (prune.max): raise prune.max and run trueup apply, or delete them by hand",
			next:      cms(10),
		},
		{
			name:      "protected objects are released, not deleted",
			inventory: []drift.ObjectRef{a, b, c},
			desired:   []drift.ObjectRef{a},
			opts:      PruneOptions{Enabled: true, Protected: []drift.ObjectRef{b}},
			delete:    []drift.ObjectRef{c},
			released:  []drift.ObjectRef{b},
			next:      []drift.ObjectRef{a},
		},
		{
			name:      "protected objects do not count against max",
			inventory: []drift.ObjectRef{a, b, c},
			desired:   []drift.ObjectRef{a},
			opts:      PruneOptions{Enabled: true, Max: 1, Protected: []drift.ObjectRef{b}},
			delete:    []drift.ObjectRef{c},
			released:  []drift.ObjectRef{b},
			next:      []drift.ObjectRef{a},
		},
		{
			name:      "protected and still desired stays",
			inventory: []drift.ObjectRef{a},
			desired:   []drift.ObjectRef{a},
			opts:      PruneOptions{Enabled: true, Protected: []drift.ObjectRef{a}},
			next:      []drift.ObjectRef{a},
		},
		{
			name:      "pruning off keeps what left the render",
			inventory: []drift.ObjectRef{a, b},
			desired:   []drift.ObjectRef{a},
			opts:      PruneOptions{},
			kept:      []drift.ObjectRef{b},
			next:      []drift.ObjectRef{a, b},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := PlanPrune(tt.inventory, tt.desired, tt.opts)
			check := func(what string, got, want []drift.ObjectRef) {
				t.Helper()
				if !slices.Equal(sortRefs(got), sortRefs(want)) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("Delete", plan.Delete, tt.delete)
			check("Blocked", plan.Blocked, tt.blocked)
			check("Kept", plan.Kept, tt.kept)
			check("Released", plan.Released, tt.released)
			check("Inventory", plan.Inventory, tt.next)
			if plan.BlockedReason != tt.reason {
				t.Errorf("BlockedReason = %q, want %q", plan.BlockedReason, tt.reason)
			}
		})
	}
}
