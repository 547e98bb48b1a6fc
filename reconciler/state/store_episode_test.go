package state

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

// TestEpisodeLifecycle follows one drift as the reconciler and the Slack
// notifier see it.
func TestEpisodeLifecycle(t *testing.T) {
	s := newStore(t)
	drifted := report(drift.Drifted, replicas(int64(5), int64(3), scaler))
	var id string

	t.Run("drift opens an episode", func(t *testing.T) {
		open, err := s.OpenEpisode(nil, "shop", webRef)
		must(t, err)
		next, tr := NextEpisode(open, "shop", drifted, "", t0)
		if tr.Kind != TransitionOpened {
			t.Fatalf("transition = %v, want opened", tr)
		}
		must(t, s.UpsertEpisode(*next))
		id = next.ID
	})
	t.Run("the notifier records its thread", func(t *testing.T) {
		must(t, s.SetThread(id, "slack", "1700000000.000100"))
		must(t, s.SetPullRequest(id, "https://git.example/shop/pulls/7"))
	})
	t.Run("same drift is no news", func(t *testing.T) {
		open, err := s.OpenEpisode(nil, "shop", webRef)
		must(t, err)
		if open == nil || open.ID != id || open.Threads["slack"] != "1700000000.000100" {
			t.Fatalf("OpenEpisode = %+v", open)
		}
		next, tr := NextEpisode(open, "shop", drifted, "", t0.Add(time.Minute))
		if tr.Kind != TransitionNone {
			t.Fatalf("transition = %v, want none", tr)
		}
		must(t, s.UpsertEpisode(*next))
	})
	t.Run("healed closes it", func(t *testing.T) {
		open, err := s.OpenEpisode(nil, "shop", webRef)
		must(t, err)
		next, tr := NextEpisode(open, "shop", report(drift.InSync), EpisodeHealed, t0.Add(2*time.Minute))
		if tr != (Transition{Kind: TransitionResolved, How: EpisodeHealed}) {
			t.Fatalf("transition = %v", tr)
		}
		must(t, s.UpsertEpisode(*next))
		if open, _ := s.OpenEpisode(nil, "shop", webRef); open != nil {
			t.Fatalf("closed episode still open: %+v", open)
		}
		e, err := s.Episode(nil, id)
		must(t, err)
		want := Episode{
			ID: id, Target: "shop", Object: webObject, Drift: drift.Drifted,
			Fields: []drift.FieldDiff{replicas(int64(5), int64(3), scaler)}, Actor: scaler,
			Opened: t0, LastSeen: t0.Add(time.Minute), Closed: t0.Add(2 * time.Minute), Status: EpisodeHealed,
			Threads:     map[string]string{"slack": "1700000000.000100"},
			PullRequest: "https://git.example/shop/pulls/7",
		}
		if e == nil || !reflect.DeepEqual(*e, want) {
			t.Fatalf("episode =\n%+v\nwant\n%+v", e, want)
		}
	})
	t.Run("drift again opens a second episode", func(t *testing.T) {
		next, tr := NextEpisode(nil, "shop", drifted, "", t0.Add(time.Hour))
		if tr.Kind != TransitionOpened {
			t.Fatalf("transition = %v", tr)
		}
		must(t, s.UpsertEpisode(*next))
		all, err := s.Episodes(nil, EpisodeFilter{Target: "shop", Object: webObject})
		must(t, err)
		if len(all) != 2 {
			t.Fatalf("episodes of web = %d, want 2", len(all))
		}
	})
}

func TestUpsertEpisodeSecondOpenConflicts(t *testing.T) {
	s := newStore(t)
	first := openWeb()
	must(t, s.UpsertEpisode(first))
	second := with(first, func(e *Episode) { e.ID = EpisodeID("shop", webObject, now) })
	if err := s.UpsertEpisode(*second); !errors.Is(err, ErrConflict) {
		t.Fatalf("second open episode: %v, want ErrConflict", err)
	}
	// The same object in another target is another object.
	other := with(first, func(e *Episode) { e.Target, e.ID = "billing", EpisodeID("billing", webObject, t0) })
	must(t, s.UpsertEpisode(*other))
	// Once the first closed, a new one may open.
	must(t, s.UpsertEpisode(*with(first, func(e *Episode) { e.Status, e.Closed = EpisodeResolved, now })))
	must(t, s.UpsertEpisode(*second))
	open, err := s.OpenEpisode(nil, "shop", webRef)
	must(t, err)
	if open == nil || open.ID != second.ID {
		t.Fatalf("OpenEpisode = %+v, want %s", open, second.ID)
	}
}

func TestUpsertEpisodeInvalid(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name string
		ep   *Episode
	}{
		{name: "no id", ep: with(openWeb(), func(e *Episode) { e.ID = "" })},
		{name: "no target", ep: with(openWeb(), func(e *Episode) { e.Target = "" })},
		{name: "no object", ep: with(openWeb(), func(e *Episode) { e.Object = "" })},
		{name: "unknown status", ep: with(openWeb(), func(e *Episode) { e.Status = "snoozed" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.UpsertEpisode(*tt.ep); !errors.Is(err, ErrInvalid) {
				t.Fatalf("UpsertEpisode = %v, want ErrInvalid", err)
			}
		})
	}
}

// The reconciler computes the next episode from one it read; meanwhile the
// notifier stores its thread and someone acknowledges. The reconciler's
// write keeps both.
func TestUpsertEpisodeKeepsConcurrentAdditions(t *testing.T) {
	s := newStore(t)
	ep := openWeb()
	ep.Threads = nil
	must(t, s.UpsertEpisode(ep))

	read, err := s.OpenEpisode(nil, "shop", webRef)
	must(t, err)
	must(t, s.SetThread(ep.ID, "slack", "1700000000.000100"))
	must(t, s.SetPullRequest(ep.ID, "https://git.example/shop/pulls/7"))
	must(t, s.UpsertEpisode(*with(*read, func(e *Episode) { e.Status = EpisodeAcknowledged })))

	next, tr := NextEpisode(read, "shop", report(drift.Drifted, replicas(int64(8), int64(3), scaler)), "", now)
	if tr.Kind != TransitionUpdated {
		t.Fatalf("transition = %v", tr)
	}
	must(t, s.UpsertEpisode(*next))

	got, err := s.Episode(nil, ep.ID)
	must(t, err)
	if got.Threads["slack"] != "1700000000.000100" || got.PullRequest == "" || got.Status != EpisodeAcknowledged {
		t.Fatalf("episode lost a concurrent addition: %+v", got)
	}
	if !sameFields(got.Fields, next.Fields) {
		t.Fatalf("fields = %+v, want the reconciler's", got.Fields)
	}
}

// Someone accepts the drift while the reconciler computes an update from
// the open episode it read: the episode stays accepted.
func TestUpsertEpisodeDoesNotReopen(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertEpisode(openWeb()))
	read, err := s.OpenEpisode(nil, "shop", webRef)
	must(t, err)
	must(t, s.UpsertEpisode(*with(*read, func(e *Episode) { e.Status, e.Closed = EpisodeAccepted, now })))

	next, _ := NextEpisode(read, "shop", report(drift.Drifted, replicas(int64(8), int64(3), scaler)), "", now.Add(time.Minute))
	must(t, s.UpsertEpisode(*next))

	got, err := s.Episode(nil, read.ID)
	must(t, err)
	if got.Status != EpisodeAccepted || !got.Closed.Equal(now) {
		t.Fatalf("episode = %s closed %v, want accepted at %v", got.Status, got.Closed, now)
	}
	if open, _ := s.OpenEpisode(nil, "shop", webRef); open != nil {
		t.Fatalf("OpenEpisode = %+v, want none", open)
	}
}

func TestSetThreadUnknownEpisode(t *testing.T) {
	s := newStore(t)
	if err := s.SetThread("shop/nope/1", "slack", "1.2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetThread = %v, want ErrNotFound", err)
	}
	must(t, s.UpsertEpisode(openWeb()))
	if err := s.SetThread(openWeb().ID, "slack", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SetThread with empty thread = %v, want ErrInvalid", err)
	}
}

// Episodes come out as copies: changing one changes nothing stored.
func TestEpisodeReadsAreCopies(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertEpisode(openWeb()))
	e, err := s.OpenEpisode(nil, "shop", webRef)
	must(t, err)
	e.Threads["slack"] = "changed"
	e.Fields[0] = password()
	again, err := s.OpenEpisode(nil, "shop", webRef)
	must(t, err)
	if !reflect.DeepEqual(*again, openWeb()) {
		t.Fatalf("stored episode changed through a read:\n%+v", again)
	}
}

func TestEpisodes(t *testing.T) {
	s := newStore(t)
	api := deployment("api").String()
	eps := []Episode{
		openWeb(),
		*with(openWeb(), func(e *Episode) {
			e.ID, e.Status, e.Closed = EpisodeID("shop", webObject, t0.Add(-time.Hour)), EpisodeHealed, t0
		}),
		*with(openWeb(), func(e *Episode) { e.ID, e.Object, e.Status = EpisodeID("shop", api, t0), api, EpisodeAcknowledged }),
		*with(openWeb(), func(e *Episode) { e.ID, e.Target = EpisodeID("billing", webObject, t0), "billing" }),
		*with(openWeb(), func(e *Episode) {
			e.ID, e.Target, e.Status, e.Closed = EpisodeID("billing", webObject, t0.Add(-time.Hour)), "billing", EpisodeAccepted, t0
		}),
	}
	for _, e := range eps {
		must(t, s.UpsertEpisode(e))
	}
	tests := []struct {
		name   string
		filter EpisodeFilter
		want   []int
	}{
		{name: "all", want: []int{4, 3, 2, 1, 0}},
		{name: "target", filter: EpisodeFilter{Target: "shop"}, want: []int{2, 1, 0}},
		{name: "object", filter: EpisodeFilter{Target: "shop", Object: webObject}, want: []int{1, 0}},
		{name: "status", filter: EpisodeFilter{Status: EpisodeOpen}, want: []int{3, 0}},
		{name: "target and status", filter: EpisodeFilter{Target: "billing", Status: EpisodeAccepted}, want: []int{4}},
		{name: "open", filter: EpisodeFilter{Open: true}, want: []int{3, 2, 0}},
		{name: "open in target", filter: EpisodeFilter{Target: "shop", Open: true}, want: []int{2, 0}},
		{name: "open of object", filter: EpisodeFilter{Target: "shop", Object: webObject, Open: true}, want: []int{0}},
		{name: "open and acknowledged", filter: EpisodeFilter{Open: true, Status: EpisodeAcknowledged}, want: []int{2}},
		{name: "none", filter: EpisodeFilter{Target: "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Episodes(nil, tt.filter)
			must(t, err)
			if !sameIDs(got, eps, tt.want) {
				t.Fatalf("Episodes(%+v) = %v, want %v", tt.filter, episodeIDs(got), tt.want)
			}
		})
	}
	if _, err := s.Episodes(nil, EpisodeFilter{Object: webObject}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("object filter without target: %v, want ErrInvalid", err)
	}
}

func TestEpisodeWatch(t *testing.T) {
	s := newStore(t)
	apiRef := deployment("api")
	api := with(openWeb(), func(e *Episode) { e.ID, e.Object = EpisodeID("shop", apiRef.String(), t0), apiRef.String() })
	billing := with(openWeb(), func(e *Episode) { e.ID, e.Target = EpisodeID("billing", webObject, t0), "billing" })
	must(t, s.UpsertEpisode(*api))
	must(t, s.UpsertEpisode(*billing))

	t.Run("opening fires the lookup that found none", func(t *testing.T) {
		ws := memdb.NewWatchSet()
		if e, err := s.OpenEpisode(ws, "shop", webRef); err != nil || e != nil {
			t.Fatalf("OpenEpisode = %+v, %v", e, err)
		}
		must(t, s.UpsertEpisode(openWeb()))
		if !fired(ws) {
			t.Error("opening web's episode did not fire the watch on it")
		}
	})
	t.Run("other objects and targets do not fire", func(t *testing.T) {
		web, inBilling := memdb.NewWatchSet(), memdb.NewWatchSet()
		_, err := s.OpenEpisode(web, "shop", webRef)
		must(t, err)
		_, err = s.Episodes(inBilling, EpisodeFilter{Target: "billing"})
		must(t, err)
		must(t, s.UpsertEpisode(*with(*api, func(e *Episode) { e.LastSeen = now })))
		if fired(web) {
			t.Error("a write to api's episode fired the watch on web's open episode")
		}
		if fired(inBilling) {
			t.Error("a write to a shop episode fired the watch on billing's episodes")
		}
	})
	t.Run("thread fires", func(t *testing.T) {
		ws := memdb.NewWatchSet()
		_, err := s.OpenEpisode(ws, "shop", webRef)
		must(t, err)
		must(t, s.SetThread(openWeb().ID, "slack", "1.2"))
		if !fired(ws) {
			t.Error("SetThread did not fire the watch on the episode")
		}
	})
	t.Run("closing fires", func(t *testing.T) {
		ws := memdb.NewWatchSet()
		_, err := s.OpenEpisode(ws, "shop", webRef)
		must(t, err)
		must(t, s.UpsertEpisode(*with(openWeb(), func(e *Episode) { e.Status, e.Closed = EpisodeHealed, now })))
		if !fired(ws) {
			t.Error("closing web's episode did not fire the watch on it")
		}
	})
}

func TestDeleteClosedEpisodes(t *testing.T) {
	s := newStore(t)
	old := with(openWeb(), func(e *Episode) { e.ID, e.Status, e.Closed = "shop/web/1", EpisodeHealed, t0 })
	recent := with(openWeb(), func(e *Episode) { e.ID, e.Status, e.Closed = "shop/web/2", EpisodeResolved, now })
	noClose := with(openWeb(), func(e *Episode) { e.ID, e.Status, e.LastSeen = "shop/web/3", EpisodeAccepted, t0 })
	for _, e := range []Episode{*old, *recent, *noClose, openWeb()} {
		must(t, s.UpsertEpisode(e))
	}
	n, err := s.DeleteClosedEpisodes(t0.Add(time.Minute))
	must(t, err)
	if n != 2 {
		t.Errorf("deleted %d, want 2", n)
	}
	got, err := s.Episodes(nil, EpisodeFilter{})
	must(t, err)
	if ids := episodeIDs(got); len(ids) != 2 || ids[0] != openWeb().ID || ids[1] != "shop/web/2" {
		t.Fatalf("left %v, want the open and the recent one", ids)
	}
}

func episodeIDs(eps []Episode) []string {
	out := make([]string, len(eps))
	for i := range eps {
		out[i] = eps[i].ID
	}
	return out
}

// sameIDs reports whether got holds the episodes of all at the indexes
// want, in that order.
func sameIDs(got, all []Episode, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if got[i].ID != all[w].ID {
			return false
		}
	}
	return true
}
