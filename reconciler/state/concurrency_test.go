package state

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

// TestConcurrentReadsAndWrites runs writers (reconciles of two targets, a
// notifier) against readers (a web page, a watcher) under -race, and checks
// that every reader saw consistent snapshots and the watcher woke up.
func TestConcurrentReadsAndWrites(t *testing.T) {
	s := newStore(t)
	const rounds = 200
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	report := func(err error) {
		if err != nil {
			select {
			case errs <- err:
			default:
			}
		}
	}

	// The watcher registers before any write, so it must wake.
	ws := memdb.NewWatchSet()
	_, err := s.Targets(ws)
	must(t, err)
	woke := make(chan struct{})
	go func() {
		defer close(woke)
		if timedOut := ws.Watch(time.After(10 * time.Second)); timedOut {
			report(fmt.Errorf("the watch on targets never fired"))
		}
	}()

	for _, target := range []string{"shop", "billing"} {
		wg.Go(func() { report(reconcileRounds(s, target, rounds)) })
	}
	wg.Go(func() {
		for i := range rounds {
			eps, err := s.Episodes(nil, EpisodeFilter{Open: true})
			report(err)
			for _, e := range eps {
				err := s.SetThread(e.ID, "slack", fmt.Sprint(i))
				if err != nil && !errors.Is(err, ErrNotFound) {
					report(err)
				}
			}
		}
	})
	wg.Go(func() {
		for range rounds {
			objs, err := s.Objects(nil, "shop")
			report(err)
			// One batch per round: a snapshot holds all of it or none.
			if n := len(objs); n != 0 && n != 10 {
				report(fmt.Errorf("read %d objects of shop, want 0 or 10", n))
			}
			_, err = s.ObjectsByStatus(nil, drift.Drifted)
			report(err)
		}
	})
	wg.Wait()
	<-woke
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tg, err := s.Target(nil, "shop")
	must(t, err)
	if tg == nil || tg.Revision != fmt.Sprint(rounds-1) {
		t.Fatalf("target after the rounds = %+v", tg)
	}
}

// reconcileRounds plays a reconciler: each round stores the target, its ten
// objects, and opens or closes the episode of one object.
func reconcileRounds(s *Store, target string, rounds int) error {
	for i := range rounds {
		now := t0.Add(time.Duration(i) * time.Second)
		if err := s.UpsertTarget(Target{Name: target, Status: TargetReady, Revision: fmt.Sprint(i), LastReconcile: now}); err != nil {
			return err
		}
		objs := make([]Object, 10)
		status := drift.InSync
		if i%2 == 0 {
			status = drift.Drifted
		}
		for j := range objs {
			objs[j] = Object{Ref: deployment(fmt.Sprint("web-", j)), Status: status, ResourceVersion: fmt.Sprint(i), Updated: now}
		}
		if err := s.UpsertObjects(target, objs); err != nil {
			return err
		}
		open, err := s.OpenEpisode(nil, target, objs[0].Ref)
		if err != nil {
			return err
		}
		rep := drift.ObjectReport{Ref: objs[0].Ref, Status: status, Fields: []drift.FieldDiff{replicas(int64(i), int64(3), nil)}}
		next, tr := NextEpisode(open, target, rep, EpisodeHealed, now)
		if tr.Kind != TransitionNone {
			if err := s.UpsertEpisode(*next); err != nil {
				return err
			}
		}
	}
	return nil
}
