package cloudtrail

import (
	"context"
	"sync"
	"time"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
)

// ActorNoEvent is what drifted fields say when the account's queue
// brought no event for the resource and no fallback is configured.
const ActorNoEvent = "actor unknown (no CloudTrail event for it on the queue)"

// Store keeps, per resource of one account, the newest write event seen
// on its event queue, and attributes drift with it: it is the account's
// driftaws.ActorResolver. A resource it has no event for is asked of the
// fallback resolver (a CloudTrail lookup or log reader), if any.
//
// Events are idempotent: a re-delivered event, or one older than the
// newest the Store holds for a resource, changes nothing (Record returns
// false). Of two events with the same eventTime, the one recorded last
// wins.
type Store struct {
	mu       sync.Mutex
	byName   map[storeKey]entry
	byID     map[storeKey]entry
	settled  map[storeKey]time.Time // by name: in sync at that time
	fallback driftaws.ActorResolver
}

type storeKey struct{ kind, name string }

type entry struct {
	eventID string
	time    time.Time
	actor   drift.Actor
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{byName: map[storeKey]entry{}, byID: map[storeKey]entry{}, settled: map[storeKey]time.Time{}}
}

// SetFallback sets the resolver asked for resources no event names (nil:
// none, the actor stays unknown).
func (s *Store) SetFallback(r driftaws.ActorResolver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = r
}

// Record keeps ev as res's actor when it is newer than what the Store
// holds, and reports whether it was: false for a duplicate or an older
// event.
func (s *Store) Record(ev Record, res Resource) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := entry{eventID: ev.EventID, time: ev.EventTime, actor: ev.Actor()}
	newer := false
	if res.Name != "" {
		newer = put(s.byName, storeKey{res.Kind, res.Name}, e) || newer
	}
	if res.ID != "" {
		newer = put(s.byID, storeKey{res.Kind, res.ID}, e) || newer
	}
	return newer
}

// put stores e at k unless what is there is the same event or newer.
func put(m map[storeKey]entry, k storeKey, e entry) bool {
	old, ok := m[k]
	if ok && (e.time.Before(old.time) || (e.eventID != "" && e.eventID == old.eventID)) {
		return false
	}
	m[k] = e
	return true
}

// Settled says a comparison that began at `at` found the resource as Git
// wants it: events older than that explain no later drift, so a drift that
// no newer event explains is not pinned on an earlier writer. CloudTrail
// times have whole seconds, so an event of the same second as `at` still
// counts.
func (s *Store) Settled(kind, name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := storeKey{kind, name}
	at = at.Truncate(time.Second)
	if at.After(s.settled[k]) {
		s.settled[k] = at
	}
}

// Actor returns the actor of the newest event of a resource, by name or
// (for a security group) by id, unless the resource was settled after it.
func (s *Store) Actor(kind, name, id string) (drift.Actor, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	since := s.settled[storeKey{kind, name}]
	if e, ok := s.byName[storeKey{kind, name}]; ok && name != "" && !e.time.Before(since) {
		return e.actor, true
	}
	if e, ok := s.byID[storeKey{kind, id}]; ok && id != "" && !e.time.Before(since) {
		return e.actor, true
	}
	return drift.Actor{}, false
}

// The fallback's time limits: each lookup gets FallbackTimeout, and none
// starts when the caller's deadline is less than FallbackReserve away, so
// attributing many drifted resources never eats the time the rest of a
// read needs (the listings that follow a comparison).
const (
	FallbackTimeout = 5 * time.Second
	FallbackReserve = 30 * time.Second
)

// ActorNoTime is what drifted fields say when the fallback was skipped to
// keep the read within its deadline.
const ActorNoTime = "actor unknown (CloudTrail lookup skipped: the read's deadline is near)"

// ResolveActor attributes a drifted resource to its newest event, else
// asks the fallback within its time limits. arn is the resource's ARN (a
// security group's id).
func (s *Store) ResolveActor(ctx context.Context, ref drift.ObjectRef, arn string) (*drift.Actor, error) {
	if a, ok := s.Actor(ref.Kind, ref.Name, arn); ok {
		return &a, nil
	}
	s.mu.Lock()
	fb := s.fallback
	s.mu.Unlock()
	if fb == nil {
		return &drift.Actor{Unknown: ActorNoEvent}, nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < FallbackReserve {
		return &drift.Actor{Unknown: ActorNoTime}, nil
	}
	fctx, cancel := context.WithTimeout(ctx, FallbackTimeout)
	defer cancel()
	a, err := fb.ResolveActor(fctx, ref, arn)
	if err == nil && a != nil && a.Principal != "" && s.settledAfter(ref.Kind, ref.Name, a.Time) {
		// The newest write CloudTrail knows of came before the resource was
		// last seen in sync: it does not explain this drift (log files
		// arrive minutes late).
		return &drift.Actor{Unknown: driftaws.ActorUnknown}, nil
	}
	return a, err
}

// settledAfter reports whether the resource was seen in sync after t.
func (s *Store) settledAfter(kind, name string, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.Before(s.settled[storeKey{kind, name}])
}

var _ driftaws.ActorResolver = (*Store)(nil)
