package kube

import "testing"

func TestSummary(t *testing.T) {
	add := func(r *Result, a Action, n int) {
		for range n {
			r.add(cm("app", "x"), a, "")
		}
	}
	r := &Result{}
	add(r, ActionUnchanged, 10)
	add(r, ActionDeleted, 1)
	add(r, ActionCreated, 2)
	add(r, ActionConfigured, 1)
	if got, want := r.Summary(), "2 created, 1 configured, 10 unchanged, 1 deleted"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	r.DryRun = true
	r.PruneBlocked = "would delete 6 objects, limit 5 (prune.max): raise prune.max and run trueup apply, or delete them by hand"
	if got, want := r.Summary(), "dry-run: 2 created, 1 configured, 10 unchanged, 1 deleted; prune blocked"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if got, want := (&Result{}).Summary(), "no objects"; got != want {
		t.Errorf("empty Summary() = %q, want %q", got, want)
	}
}
