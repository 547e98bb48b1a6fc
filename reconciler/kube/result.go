package kube

import (
	"fmt"
	"strings"

	"github.com/trueup-dev/trueup/drift"
)

// Action is what Apply did, or in a dry-run would do, to one object.
type Action string

const (
	ActionCreated    Action = "created"
	ActionConfigured Action = "configured"
	ActionUnchanged  Action = "unchanged"
	ActionDeleted    Action = "deleted"
	// ActionSkipped: not applied or not deleted on purpose (the message says
	// why: prune disabled, owned by another target, already gone).
	ActionSkipped Action = "skipped"
	ActionFailed  Action = "failed"
)

// actionOrder is the order of Summary.
var actionOrder = []Action{ActionCreated, ActionConfigured, ActionUnchanged, ActionDeleted, ActionSkipped, ActionFailed}

// Entry is the outcome for one object.
type Entry struct {
	Ref     drift.ObjectRef `json:"ref"`
	Action  Action          `json:"action"`
	Message string          `json:"message,omitempty"`
}

// Result is the outcome of one Apply. Apply returns it even with an error:
// then it tells what happened before the failure.
type Result struct {
	Target string `json:"target"`
	// DryRun: nothing was written; the actions are what would happen.
	DryRun  bool    `json:"dryRun,omitempty"`
	Entries []Entry `json:"entries"`
	// PruneBlocked is why objects that left the render were not deleted
	// (empty render, deletion limit) and what to do; empty when pruning was
	// not blocked. It has no "prune blocked" prefix.
	PruneBlocked string `json:"pruneBlocked,omitempty"`
	// Inventory is the inventory recorded by this run (in a dry-run: the one
	// that would be). Valid when InventoryWritten, or DryRun without error.
	Inventory Inventory `json:"inventory"`
	// InventoryWritten: the inventory ConfigMap was written by this run.
	InventoryWritten bool `json:"inventoryWritten,omitempty"`
}

func (r *Result) add(ref drift.ObjectRef, action Action, msg string) {
	r.Entries = append(r.Entries, Entry{Ref: ref, Action: action, Message: msg})
}

// Counts returns how many objects had each action.
func (r *Result) Counts() map[Action]int {
	out := map[Action]int{}
	for _, e := range r.Entries {
		out[e.Action]++
	}
	return out
}

// Changed reports whether anything was (or would be) created, configured or
// deleted.
func (r *Result) Changed() bool {
	c := r.Counts()
	return c[ActionCreated]+c[ActionConfigured]+c[ActionDeleted] > 0
}

// Summary renders the counts: "2 created, 1 configured, 10 unchanged, 1
// deleted", prefixed "dry-run: " for a dry-run and followed by "; prune
// blocked" when it was (PruneBlocked says why).
func (r *Result) Summary() string {
	counts := r.Counts()
	var parts []string
	for _, a := range actionOrder {
		if n := counts[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	s := strings.Join(parts, ", ")
	if s == "" {
		s = "no objects"
	}
	if r.DryRun {
		s = "dry-run: " + s
	}
	if r.PruneBlocked != "" {
		s += "; prune blocked"
	}
	return s
}

// EventType is a step of an apply.
type EventType string

const (
	// EventStageStarted: a stage's dry-run begins (Objects in the stage).
	EventStageStarted EventType = "stage-started"
	// EventStageApplied: a stage was applied (and, for definitions, is
	// established).
	EventStageApplied EventType = "stage-applied"
	// EventWaiting: waiting for Objects to become ready.
	EventWaiting EventType = "waiting"
	// EventDeleting: deleting Objects that left the render.
	EventDeleting EventType = "deleting"
	// EventInventory: the inventory was recorded (Objects in it).
	EventInventory EventType = "inventory"
)

// Event reports progress to ApplyOptions.Progress.
type Event struct {
	Target string
	Type   EventType
	// Stage is the stage's name for stage events: definitions, classes,
	// resources.
	Stage   string
	Objects int
}
