package reconciler

import (
	"errors"
	"fmt"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/policy"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

// Stage names the pipeline step that failed.
type Stage string

const (
	StageSource  Stage = "source"  // fetch, verify, read the files
	StageRender  Stage = "render"  // render the files to objects
	StagePrepare Stage = "prepare" // preparing objects for the cluster
	StageCluster Stage = "cluster" // reading from the cluster
	StageApply   Stage = "apply"   // applying, waiting, pruning
)

// StageError is a pipeline failure with the step it happened in.
type StageError struct {
	Stage Stage
	// Revision is the revision the step worked on, when one was fetched.
	Revision sources.Revision
	Err      error
}

func (e *StageError) Error() string { return e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// IsRetryable reports whether a reconcile error may clear on its own (an
// unreachable remote or cluster); terminal errors need a change in Git or
// the config.
func IsRetryable(err error) bool {
	return git.IsRetryable(err) || kube.IsRetryable(err)
}

// Action is what a reconcile did.
type Action string

const (
	ActionInSync   Action = "in-sync"  // nothing to do
	ActionApplied  Action = "applied"  // a new revision was applied
	ActionHealed   Action = "healed"   // live drift was reverted
	ActionDetected Action = "detected" // drift reported, left in place (alert mode)
	ActionPending  Action = "pending"  // a new revision waits for a manual apply
	ActionFailed   Action = "failed"
	// ActionUnknown: nothing that could be read drifted, but some live state
	// could not be read (a throttled or timed-out call, a failed listing):
	// never reported as in sync.
	ActionUnknown Action = "unknown"
)

// Outcome is the result of one reconcile.
type Outcome struct {
	Target   string           `json:"target"`
	Trigger  Trigger          `json:"trigger"`
	Revision sources.Revision `json:"revision"`
	Start    time.Time        `json:"start"`
	Duration time.Duration    `json:"duration"`
	Action   Action           `json:"action"`
	// Report is the comparison before any action.
	Report drift.Report `json:"report"`
	// Apply is the apply or heal result, when one ran.
	Apply *kube.Result `json:"apply,omitempty"`
	// DryRun: nothing was written.
	DryRun bool `json:"dryRun,omitempty"`
	// PruneBlocked explains why objects that left Git were kept.
	PruneBlocked string `json:"pruneBlocked,omitempty"`
	// Blocked are the enforced policy findings that kept objects from
	// being applied.
	Blocked []policy.Finding `json:"blocked,omitempty"`
	// Warnings are problems that did not fail the reconcile, such as kinds
	// read from the API server because they could not be watched (and why).
	Warnings []string `json:"warnings,omitempty"`
	// Held says why a frozen or waiting reconcile held the revision (the
	// freeze window, the dependencies not ready).
	Held string `json:"held,omitempty"`
	// heldFirst: the freeze window holds this revision for the first time
	// (recorded and told once).
	heldFirst bool
	// Compliance are the policy findings on live state (and on desired
	// objects not live yet), when policies are configured.
	Compliance []policy.Finding `json:"compliance,omitempty"`
	// complianceChecked: policies were evaluated (Compliance is the whole
	// set, possibly empty); complianceChanges are its changes since the
	// previous reconcile.
	complianceChecked bool
	complianceChanges []complianceChange
	// plan is what the reconcile compared, for the pull-request step.
	plan *Plan
	// accepted are the drifted objects whose drift an operator accepted:
	// neither healed nor given an episode. pullRequests: an operator asked
	// for the drift's pull requests (RequestPullRequest).
	accepted     map[drift.ObjectRef]bool
	pullRequests bool
	// attempt and journal: the apply journal, removed once the batch is
	// durable (journal.go).
	attempt string
	journal *applyJournal
	// attempted is what a failed reconcile was doing (applied, healed).
	attempted Action
	Err       error `json:"-"`
}

// Error returns the failure message, or "".
func (o *Outcome) Error() string {
	if o.Err == nil {
		return ""
	}
	return o.Err.Error()
}

// failedRevision is the revision a planning failure worked on, when known.
func failedRevision(err error) sources.Revision {
	var se *StageError
	if errors.As(err, &se) {
		return se.Revision
	}
	return sources.Revision{}
}

// FailedStage returns the stage of a failure, or "".
func (o *Outcome) FailedStage() Stage {
	var se *StageError
	if errors.As(o.Err, &se) {
		return se.Stage
	}
	if o.Err != nil {
		return StageApply
	}
	return ""
}

// Changed reports whether the reconcile changed the cluster.
func (o *Outcome) Changed() bool { return o.Apply != nil && o.Apply.Changed() }

// driftedObjects lists the objects that are drifted or missing.
func driftedObjects(r drift.Report) []drift.ObjectReport {
	var out []drift.ObjectReport
	for _, o := range r.Objects {
		if o.Status == drift.Drifted || o.Status == drift.Missing {
			out = append(out, o)
		}
	}
	return out
}

// summary is a one-line description for logs.
func (o *Outcome) summary() string {
	c := o.Report.Counts()
	s := fmt.Sprintf("%d in sync, %d drifted, %d missing, %d pending prune", c[drift.InSync], c[drift.Drifted], c[drift.Missing], c[drift.PendingPrune])
	if c[drift.Unknown] > 0 {
		s += fmt.Sprintf(", %d unknown", c[drift.Unknown])
	}
	if o.Apply != nil {
		s += "; " + o.Apply.Summary()
	}
	if o.Held != "" {
		s += "; " + o.Held
	}
	return s
}
