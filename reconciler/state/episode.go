package state

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/trueup-dev/trueup/drift"
)

// EpisodeStatus is where a drift episode stands.
type EpisodeStatus string

const (
	// EpisodeOpen: the object differs from Git and no one has acted yet.
	EpisodeOpen EpisodeStatus = "open"
	// EpisodeAcknowledged: still differs; someone said they are on it.
	EpisodeAcknowledged EpisodeStatus = "acknowledged"
	// EpisodeHealed: trueup re-applied Git.
	EpisodeHealed EpisodeStatus = "healed"
	// EpisodeAdopted: Git took the live value (a pull request merged).
	EpisodeAdopted EpisodeStatus = "adopted"
	// EpisodeAccepted: someone accepted the drift for a while.
	EpisodeAccepted EpisodeStatus = "accepted"
	// EpisodeResolved: the object came back in sync by other means.
	EpisodeResolved EpisodeStatus = "resolved"
	// EpisodeGone: the object was deleted or pruned, or left Git.
	EpisodeGone EpisodeStatus = "gone"
)

// IsOpen reports whether the episode is open or acknowledged.
func (s EpisodeStatus) IsOpen() bool { return s == EpisodeOpen || s == EpisodeAcknowledged }

// IsClosed reports whether s is one of the statuses that end an episode.
func (s EpisodeStatus) IsClosed() bool {
	switch s {
	case EpisodeHealed, EpisodeAdopted, EpisodeAccepted, EpisodeResolved, EpisodeGone:
		return true
	}
	return false
}

func (s EpisodeStatus) valid() bool { return s.IsOpen() || s.IsClosed() }

// Episode is one drift episode: one stretch of time during which one object
// of a target differs from Git.
type Episode struct {
	// ID is target/ref/opened-unix-nanos (see EpisodeID).
	ID     string
	Target string
	// Object is the object's ref string (drift.ObjectRef.String).
	Object string
	// Drift is drift.Drifted or drift.Missing.
	Drift drift.Status
	// Fields are the drifted fields as the detector reported them, masked.
	Fields []drift.FieldDiff
	// Actor is who last wrote a drifted field, when it can be told.
	Actor    *drift.Actor
	Opened   time.Time
	LastSeen time.Time
	// Closed is when the episode closed; zero while it is open.
	Closed time.Time
	Status EpisodeStatus
	// Threads maps a notifier (slack, ...) to the episode's thread there.
	Threads map[string]string
	// PullRequest is the URL of the pull request that adopts the drift.
	PullRequest string
}

// EpisodeID is the id of the episode of a target's object opened at a time.
// It is unique as long as the clock moves between two openings of an
// object's episodes (a frozen test clock must be advanced).
func EpisodeID(target, object string, opened time.Time) string {
	return target + "/" + object + "/" + strconv.FormatInt(opened.UnixNano(), 10)
}

// TransitionKind says how NextEpisode changed an episode.
type TransitionKind int

const (
	// TransitionNone: nothing to tell (at most LastSeen moved).
	TransitionNone TransitionKind = iota
	// TransitionOpened: a new episode opened.
	TransitionOpened
	// TransitionUpdated: the drifted fields (or drifted/missing) changed.
	TransitionUpdated
	// TransitionResolved: the episode closed; Transition.How says how.
	TransitionResolved
)

func (k TransitionKind) String() string {
	switch k {
	case TransitionOpened:
		return "opened"
	case TransitionUpdated:
		return "updated"
	case TransitionResolved:
		return "resolved"
	}
	return "none"
}

// Transition is what NextEpisode did.
type Transition struct {
	Kind TransitionKind
	// How is the closed status, for TransitionResolved.
	How EpisodeStatus
}

func (t Transition) String() string {
	if t.Kind == TransitionResolved {
		return "resolved(" + string(t.How) + ")"
	}
	return t.Kind.String()
}

// NextEpisode decides what one comparison report means for a target's
// object, given its open episode (nil when it has none; a closed episode or
// one of another object counts as none). It never changes open.
//
//   - drifted or missing, no open episode: a new episode (opened);
//   - drifted or missing, same fields as open: LastSeen moves (none);
//   - drifted or missing, other fields: fields, actor and LastSeen (updated);
//     an acknowledged episode stays acknowledged;
//   - in sync or pending prune, an open episode: closed (resolved) with how,
//     which the caller knows: EpisodeHealed when trueup re-applied the object,
//     EpisodeGone when it deleted or pruned it, EpisodeAdopted when Git took
//     the live value. An empty or open how means EpisodeResolved, or
//     EpisodeGone for pending prune (the object left Git);
//   - unknown or unmanaged: nothing can be told; open comes back as it was.
//
// Fields are compared by path, masked flag and JSON value (so 3 and 3.0
// match, as they do after a round trip through the history); actors are not
// compared, but for masked (Secret) fields, whose markers are equal
// whatever the value: a new live value (LiveDigest) or a new actor of one
// is an update.
func NextEpisode(open *Episode, target string, report drift.ObjectReport, how EpisodeStatus, now time.Time) (*Episode, Transition) {
	object := report.Ref.String()
	if open != nil && (!open.Status.IsOpen() || open.Target != target || open.Object != object) {
		open = nil
	}
	switch report.Status {
	case drift.Drifted, drift.Missing:
		if open == nil {
			return newEpisode(target, object, report, now), Transition{Kind: TransitionOpened}
		}
		return observeDrift(open, report, now)
	case drift.InSync, drift.PendingPrune:
		if open == nil {
			return nil, Transition{}
		}
		how = resolution(report.Status, how)
		next := open.clone()
		next.Status, next.Closed = how, now
		return &next, Transition{Kind: TransitionResolved, How: how}
	}
	if open == nil {
		return nil, Transition{}
	}
	next := open.clone()
	return &next, Transition{}
}

func newEpisode(target, object string, report drift.ObjectReport, now time.Time) *Episode {
	fields := cloneFields(report.Fields)
	return &Episode{
		ID:       EpisodeID(target, object, now),
		Target:   target,
		Object:   object,
		Drift:    report.Status,
		Fields:   fields,
		Actor:    latestActor(fields),
		Opened:   now,
		LastSeen: now,
		Status:   EpisodeOpen,
	}
}

func observeDrift(open *Episode, report drift.ObjectReport, now time.Time) (*Episode, Transition) {
	next := open.clone()
	next.LastSeen = now
	if open.Drift == report.Status && sameFields(open.Fields, report.Fields) {
		learnDigests(next.Fields, report.Fields)
		return &next, Transition{}
	}
	next.Drift = report.Status
	next.Fields = cloneFields(report.Fields)
	next.Actor = latestActor(next.Fields)
	return &next, Transition{Kind: TransitionUpdated}
}

func resolution(status drift.Status, how EpisodeStatus) EpisodeStatus {
	switch {
	case how.IsClosed():
		return how
	case status == drift.PendingPrune:
		return EpisodeGone
	}
	return EpisodeResolved
}

// latestActor is the actor of the most recently written field, the first
// one when times tie or are unknown.
func latestActor(fields []drift.FieldDiff) *drift.Actor {
	var best *drift.Actor
	for _, f := range fields {
		if f.Actor != nil && (best == nil || f.Actor.Time.After(best.Time)) {
			best = f.Actor
		}
	}
	return best
}

// sameFields compares two field lists as sets keyed by path.
func sameFields(a, b []drift.FieldDiff) bool {
	if len(a) != len(b) {
		return false
	}
	byPath := make(map[string]drift.FieldDiff, len(a))
	for _, f := range a {
		byPath[f.Path] = f
	}
	for _, f := range b {
		g, ok := byPath[f.Path]
		if !ok || g.Masked != f.Masked || !sameValue(g.Live, f.Live) || !sameValue(g.Desired, f.Desired) || !sameMasked(g, f) {
			return false
		}
	}
	return true
}

// learnDigests fills in the live digests fields lack (read back from the
// history, which never holds them) from the same paths of seen, so the
// next change of a masked value is told.
func learnDigests(fields, seen []drift.FieldDiff) {
	for i := range fields {
		if fields[i].LiveDigest != "" {
			continue
		}
		for _, f := range seen {
			if f.Path == fields[i].Path {
				fields[i].LiveDigest = f.LiveDigest
			}
		}
	}
}

// sameMasked tells two masked fields apart, whose markers compare equal
// whatever the values: by the live value's fingerprint and by who wrote
// it, each when both sides know it (a field read back from the history has
// no fingerprint). Unmasked fields compare by value only.
func sameMasked(a, b drift.FieldDiff) bool {
	if !a.Masked {
		return true
	}
	if a.LiveDigest != "" && b.LiveDigest != "" && a.LiveDigest != b.LiveDigest {
		return false
	}
	return a.Actor == nil || b.Actor == nil || a.Actor.Name() == b.Actor.Name()
}

// sameValue compares two JSON values by their encoding, so numbers of
// different Go types with the same value match.
func sameValue(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return string(ja) == string(jb)
}

// clone copies the episode's slices, maps and actor, so the copy can be
// stored or changed without touching e. Field values are JSON values and
// are copied deeply.
func (e *Episode) clone() Episode {
	c := *e
	c.Fields = cloneFields(e.Fields)
	c.Actor = cloneActor(e.Actor)
	c.Threads = maps.Clone(e.Threads)
	return c
}

// view is the copy a read returns: its own slice and map; field values and
// actors are shared with the store and must be treated as read-only.
func (e *Episode) view() Episode {
	c := *e
	c.Fields = slices.Clone(e.Fields)
	c.Threads = maps.Clone(e.Threads)
	return c
}

func cloneFields(fields []drift.FieldDiff) []drift.FieldDiff {
	if fields == nil {
		return nil
	}
	out := make([]drift.FieldDiff, len(fields))
	for i, f := range fields {
		f.Live = cloneValue(f.Live)
		f.Desired = cloneValue(f.Desired)
		f.Actor = cloneActor(f.Actor)
		out[i] = f
	}
	return out
}

func cloneActor(a *drift.Actor) *drift.Actor {
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// cloneValue deep-copies a JSON value (maps, slices, scalars).
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneValue(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = cloneValue(x)
		}
		return s
	}
	return v
}
