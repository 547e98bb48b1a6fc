package reconciler

import (
	"sync"
	"time"

	"github.com/trueup-dev/trueup/drift"
)

// targetState is what the reconciler remembers about one target between
// reconciles. It is rebuilt from the cluster (inventory, live objects) after
// a restart; nothing in it is needed for safety.
type targetState struct {
	mu sync.Mutex
	// desired is the last render, packed (the loader's cache shares it).
	desired  *packedDesired
	reports  map[drift.ObjectRef]cachedReport
	failures int
	last     *Outcome
	// compliance are the policy findings of the last reconcile, by ID;
	// complianceLoaded says they were read back from the history.
	compliance       map[string]openFinding
	complianceLoaded bool
	// prFailures is the last pull-request failure recorded per episode,
	// so an unchanged failure is recorded once, not every reconcile.
	prFailures map[string]string
	// kick wakes the target's loop; buffered so triggers coalesce.
	kick chan Trigger
	// owned: this replica runs the target's loop (when targets are
	// shared between replicas, see Ownership).
	owned bool
	// suspended, accepted and requests are the operators' actions
	// (actions.go): a run-time suspension, accepted drift by object, and
	// reconciles asked for and not yet run.
	suspended *Suspension
	accepted  map[string]*acceptance
	requests  []*request
}

// cachedReport is a comparison result and the inputs it was computed from.
type cachedReport struct {
	desiredHash     string
	resourceVersion string
	report          drift.ObjectReport
}

func newTargetState() *targetState {
	return &targetState{reports: map[drift.ObjectRef]cachedReport{}, kick: make(chan Trigger, 1)}
}

func (s *targetState) lastDesired() *packedDesired {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.desired
}

func (s *targetState) setDesired(d *packedDesired) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.desired = d
}

// cachedReport returns the last report of an object when neither its
// desired content nor its live resourceVersion changed since.
func (s *targetState) cachedReport(ref drift.ObjectRef, hash, rv string) (drift.ObjectReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.reports[ref]
	if !ok || c.desiredHash != hash || c.resourceVersion != rv {
		return drift.ObjectReport{}, false
	}
	return c.report, true
}

func (s *targetState) storeReport(ref drift.ObjectRef, hash string, rep drift.ObjectReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports[ref] = cachedReport{desiredHash: hash, resourceVersion: rep.ResourceVersion, report: rep}
}

// forget drops cached comparisons, so the next reconcile compares afresh.
func (s *targetState) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.reports)
}

// takeOver readies the state for a loop that starts on this replica
// after another replica ran the target: what it remembers of the target
// is stale, and a trigger that came while it did not own it is dropped.
func (s *targetState) takeOver() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owned = true
	clear(s.reports)
	s.desired = nil
	s.last = nil
	s.failures = 0
	s.compliance, s.complianceLoaded = nil, false
	clear(s.prFailures)
	// Read back from the shared history by the new owner (restoreActions).
	s.suspended = nil
	for _, a := range s.accepted {
		a.timer.Stop()
	}
	clear(s.accepted)
	select {
	case <-s.kick:
	default:
	}
}

func (s *targetState) setOwned(owned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owned = owned
}

func (s *targetState) isOwned() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owned
}

func (s *targetState) record(o *Outcome) (failures int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = o
	if o.Err != nil {
		s.failures++
	} else {
		s.failures = 0
	}
	return s.failures
}

// lastOutcome returns the last reconcile's outcome, if any.
func (s *targetState) lastOutcome() *Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// trigger asks the loop to reconcile soon; it never blocks.
func (s *targetState) trigger(t Trigger) {
	select {
	case s.kick <- t:
	default:
	}
}

// nextDelay is the wait before the next interval reconcile: the interval
// with ±10% jitter, or after failures a capped exponential backoff (10s,
// 20s, 40s, ... up to the interval) with the same jitter. rnd is in [0,1).
func nextDelay(interval time.Duration, failures int, rnd float64) time.Duration {
	d := interval
	if failures > 0 {
		backoff := 10 * time.Second << min(failures-1, 10)
		d = min(backoff, interval)
	}
	jitter := time.Duration((rnd*0.2 - 0.1) * float64(d))
	return d + jitter
}

func (s *targetState) failuresCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}

// knows reports whether the object's comparison is cached at that version.
func (s *targetState) knows(ref drift.ObjectRef, rv string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.reports[ref]
	return ok && c.resourceVersion == rv
}

// notePRFailure records key as the episode's last pull-request failure and
// reports whether it differs from the one before; key "" forgets it.
func (s *targetState) notePRFailure(episode, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" {
		delete(s.prFailures, episode)
		return false
	}
	if s.prFailures == nil {
		s.prFailures = map[string]string{}
	}
	if s.prFailures[episode] == key {
		return false
	}
	s.prFailures[episode] = key
	return true
}
