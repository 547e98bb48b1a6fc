package reconciler_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// runInBackground runs r's loops (no watches) until the test ends.
func runInBackground(t *testing.T, r *reconciler.Reconciler) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ro := reconciler.DefaultRunOptions()
		ro.Watch = false
		_ = r.Run(ctx, ro)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// An accepted drift survives a restart into heal mode and is not healed
// (nor given a new episode) until the acceptance ends; then it is healed.
// A suspension made before a restart is kept; a reconcile asked of a
// suspended target is refused; resume runs it again.
func TestAcceptedDriftIsNotHealedUntilItEnds(t *testing.T) {
	clock := &testClock{now: time.Now()}
	h := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	newState := func() *state.Store {
		st, err := state.New()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconciler.RebuildState(t.Context(), h, st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	opts := func(st *state.Store) []reconciler.Option {
		return []reconciler.Option{reconciler.WithHistory(h), reconciler.WithState(st), reconciler.WithClock(clock.Now)}
	}
	st := newState()
	s := newScenarioFull(t, "remediation: {drift: alert}", "", nil, opts(st)...)
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"live"}}`)
	clock.Set(clock.Now().Add(time.Second))
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionDetected)
	eps, err := st.Episodes(nil, state.EpisodeFilter{Target: s.ns, Open: true})
	if err != nil || len(eps) != 1 {
		t.Fatalf("open episodes: %v %v, want one", eps, err)
	}
	ep, until, err := s.rec.AcceptEpisode(t.Context(), eps[0].ID, time.Hour, reconciler.ActionBy{Actor: "alice", Reason: "load test"})
	if err != nil || ep.Status != state.EpisodeAccepted || !until.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("accept: %+v %v %v", ep, until, err)
	}
	if _, _, err := s.rec.AcceptEpisode(t.Context(), eps[0].ID, time.Hour, reconciler.ActionBy{Actor: "alice"}); !errors.Is(err, reconciler.ErrConflict) {
		t.Errorf("accepting it again: %v, want ErrConflict (closed)", err)
	}
	if _, err := s.rec.Suspend(t.Context(), s.ns, reconciler.ActionBy{Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.rec.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart, now in heal mode: the history gives back both actions.
	s.setup.TargetExtra = "remediation: {drift: heal}"
	st = newState()
	if got, _ := st.Episodes(nil, state.EpisodeFilter{Target: s.ns, Open: true}); len(got) != 0 {
		t.Errorf("after the restart the accepted episode is open again: %+v", got)
	}
	r := s.another(opts(st)...)
	t.Cleanup(func() { r.Close() })
	runInBackground(t, r)
	waitFor(t, "the suspension read back", func() bool { return r.Suspended(s.ns) != nil })
	if _, err := r.RequestReconcile(t.Context(), s.ns, "carol", true); !errors.Is(err, reconciler.ErrConflict) {
		t.Fatalf("reconcile of a suspended target: %v, want ErrConflict", err)
	}
	if err := r.Resume(t.Context(), s.ns, reconciler.ActionBy{Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	out, err := r.RequestReconcile(t.Context(), s.ns, "carol", true)
	if err != nil {
		t.Fatal(err)
	}
	mustAction(t, out, reconciler.ActionInSync)
	if got := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "live" {
		t.Errorf("accepted drift healed: mode %q, want live", got)
	}
	opened := len(driftRecords(t, h, s.ns, "", history.TypeDriftOpened))

	clock.Set(clock.Now().Add(time.Hour))
	out, err = r.RequestReconcile(t.Context(), s.ns, "carol", true)
	if err != nil {
		t.Fatal(err)
	}
	mustAction(t, out, reconciler.ActionHealed)
	if got := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "a" {
		t.Errorf("after the acceptance ended: mode %q, want a (healed)", got)
	}
	if n := len(driftRecords(t, h, s.ns, "", history.TypeDriftOpened)); n != opened+1 {
		t.Errorf("drift-opened records: %d, want %d (a new episode, healed)", n, opened+1)
	}
	for _, typ := range []string{history.TypeDriftAccepted, history.TypeSuspend, history.TypeResume} {
		if recs := driftRecords(t, h, s.ns, "", typ); len(recs) != 1 {
			t.Errorf("%s records: %d, want 1", typ, len(recs))
		}
	}
	var actors []string
	for _, rec := range driftRecords(t, h, s.ns, "", history.TypeReconcile) {
		actors = append(actors, rec.Actor)
	}
	if len(actors) < 2 || actors[len(actors)-1] != "carol" {
		t.Errorf("reconcile actors %v, want the operator's requests as carol", actors)
	}
}
