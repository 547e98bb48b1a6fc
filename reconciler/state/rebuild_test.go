package state

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

func TestRebuild(t *testing.T) {
	s := newStore(t)
	// What the daemon held before it restarted, and must forget.
	must(t, s.UpsertTarget(Target{Name: "removed", Status: TargetReady}))
	must(t, s.UpsertEpisode(*with(openWeb(), func(e *Episode) { e.ID, e.Target = "removed/x/1", "removed" })))
	must(t, s.UpsertObjects("shop", []Object{{Ref: webRef, Status: drift.Drifted}}))

	web := openWeb()
	web.Status = EpisodeAcknowledged
	web.PullRequest = "https://git.example/shop/pulls/7"
	healed := *with(openWeb(), func(e *Episode) {
		e.ID, e.Status, e.Closed, e.Threads = EpisodeID("shop", webObject, t0.Add(-time.Hour)), EpisodeHealed, t0, map[string]string{"slack": "1.1"}
	})
	shop := Target{Name: "shop", Destination: "prod-eu", Status: TargetFailed, Revision: "main@sha1:abc", LastReconcile: t0, LastError: "apply: denied", LastAction: "apply"}
	ws := memdb.NewWatchSet()
	_, err := s.Targets(ws)
	must(t, err)

	must(t, s.Rebuild([]Episode{web, healed}, []Target{shop}))

	t.Run("open episodes come back with their threads", func(t *testing.T) {
		open, err := s.OpenEpisode(nil, "shop", webRef)
		must(t, err)
		if open == nil {
			t.Fatal("no open episode after rebuild")
		}
		if open.ID != web.ID || open.Threads["slack"] != "1700000000.000100" || open.PullRequest != web.PullRequest || open.Status != EpisodeAcknowledged {
			t.Fatalf("open episode = %+v", open)
		}
		// The next report of the same drift is no news: no second Slack thread.
		_, tr := NextEpisode(open, "shop", report(drift.Drifted, replicas(float64(5), float64(3), nil), image("busybox", nil)), "", now)
		if tr.Kind != TransitionNone {
			t.Fatalf("transition after rebuild = %v, want none", tr)
		}
	})
	t.Run("closed episodes come back", func(t *testing.T) {
		e, err := s.Episode(nil, healed.ID)
		must(t, err)
		if e == nil || e.Status != EpisodeHealed || e.Threads["slack"] != "1.1" {
			t.Fatalf("closed episode = %+v", e)
		}
	})
	t.Run("targets are replaced", func(t *testing.T) {
		all, err := s.Targets(nil)
		must(t, err)
		if len(all) != 1 || all[0] != shop {
			t.Fatalf("targets = %+v, want %+v", all, shop)
		}
		eps, err := s.Episodes(nil, EpisodeFilter{Target: "removed"})
		must(t, err)
		if len(eps) != 0 {
			t.Fatalf("episodes of a removed target survived: %v", episodeIDs(eps))
		}
		if !fired(ws) {
			t.Error("rebuild did not fire the watch on targets")
		}
	})
	t.Run("objects are left alone", func(t *testing.T) {
		objs, err := s.Objects(nil, "shop")
		must(t, err)
		if len(objs) != 1 {
			t.Fatalf("objects = %+v", objs)
		}
	})
}

func TestRebuildRejectsInconsistentHistory(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertTarget(Target{Name: "shop", Status: TargetReady}))
	twice := *with(openWeb(), func(e *Episode) { e.ID = EpisodeID("shop", webObject, now) })
	tests := []struct {
		name     string
		episodes []Episode
		targets  []Target
		want     error
	}{
		{name: "two open episodes of one object", episodes: []Episode{openWeb(), twice}, want: ErrConflict},
		{name: "episode without status", episodes: []Episode{*with(openWeb(), func(e *Episode) { e.Status = "" })}, want: ErrInvalid},
		{name: "target without name", targets: []Target{{Status: TargetReady}}, want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Rebuild(tt.episodes, tt.targets); !errors.Is(err, tt.want) {
				t.Fatalf("Rebuild = %v, want %v", err, tt.want)
			}
			// Nothing changed.
			if got, _ := s.Target(nil, "shop"); got == nil {
				t.Fatal("a failed rebuild dropped the targets")
			}
		})
	}
}

func TestRebuildTarget(t *testing.T) {
	s := newStore(t)
	// This replica's view of shop before another replica owned it: an
	// episode that has since been resolved there, and its thread.
	stale := *with(openWeb(), func(e *Episode) { e.ID = "shop/old/1" })
	must(t, s.UpsertEpisode(stale))
	must(t, s.SaveThread(Thread{Notifier: "slack", Episode: stale.ID, Data: []byte(`{"ts":"1.1"}`)}))
	// Another target's episode and thread stay.
	other := *with(openWeb(), func(e *Episode) { e.ID, e.Target = "blog/x/1", "blog" })
	must(t, s.UpsertEpisode(other))
	must(t, s.SaveThread(Thread{Notifier: "slack", Episode: other.ID, Data: []byte(`{"ts":"2.2"}`)}))

	// What the shared history says now: one open episode, opened by the
	// other replica, with its thread.
	current := *with(openWeb(), func(e *Episode) { e.ID = "shop/new/2" })
	th := Thread{Notifier: "slack", Episode: current.ID, Data: []byte(`{"ts":"3.3"}`)}
	ws := memdb.NewWatchSet()
	_, err := s.Episodes(ws, EpisodeFilter{Target: "shop"})
	must(t, err)
	must(t, s.RebuildTarget("shop", []Episode{current}, []Thread{th}, func(ep string) bool { return strings.HasPrefix(ep, "shop/") }))
	if ws.Watch(time.After(time.Second)) {
		t.Error("rebuilding a target fired no watch")
	}

	open, err := s.OpenEpisode(nil, "shop", webRef)
	must(t, err)
	if open == nil || open.ID != current.ID {
		t.Fatalf("open episode of shop = %+v, want %s", open, current.ID)
	}
	if e, _ := s.Episode(nil, stale.ID); e != nil {
		t.Errorf("stale episode %s kept", stale.ID)
	}
	if got, _ := s.Thread(nil, "slack", stale.ID); got != nil {
		t.Errorf("stale thread kept: %+v", got)
	}
	if got, _ := s.Thread(nil, "slack", current.ID); got == nil || string(got.Data) != `{"ts":"3.3"}` {
		t.Errorf("thread of the current episode = %+v", got)
	}
	if e, _ := s.Episode(nil, other.ID); e == nil {
		t.Error("another target's episode went")
	}
	if got, _ := s.Thread(nil, "slack", other.ID); got == nil {
		t.Error("another target's thread went")
	}
	err = s.RebuildTarget("shop", []Episode{other}, nil, func(string) bool { return false })
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("an episode of another target = %v, want ErrInvalid", err)
	}
}
