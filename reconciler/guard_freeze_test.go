package reconciler_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// testClock is the reconciler's clock, moved by the test.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// guardScenario is a scenario with a history, a state store and a clock.
type guardScenario struct {
	*scenario
	clock *testClock
	hist  history.Store
	state *state.Store
	// reconciles counts the reconciles, whose records the history must
	// have before it is read.
	reconciles int
}

func newGuardScenario(t *testing.T, targetExtra, top string, start time.Time) *guardScenario {
	t.Helper()
	g := &guardScenario{clock: &testClock{now: start}, hist: openHistory(t, filepath.Join(t.TempDir(), "history.db"))}
	var err error
	if g.state, err = state.New(); err != nil {
		t.Fatal(err)
	}
	g.scenario = newScenarioFull(t, targetExtra, top, nil,
		reconciler.WithClock(g.clock.Now), reconciler.WithHistory(g.hist), reconciler.WithState(g.state))
	return g
}

// records are the history's records of the target of the given types,
// once the history has every record of the reconciles so far.
func (g *guardScenario) records(types ...string) []history.Record {
	g.t.Helper()
	var recs []history.Record
	waitFor(g.t, "the reconcile records in the history", func() bool {
		all, err := g.hist.Query(context.Background(), history.Filter{Target: g.ns})
		if err != nil {
			g.t.Fatal(err)
		}
		recs = recs[:0]
		n := 0
		for _, r := range all {
			if r.Type == history.TypeReconcile || r.Type == history.TypeManual {
				n++
			}
			for _, typ := range types {
				if r.Type == typ {
					recs = append(recs, r)
				}
			}
		}
		return n >= g.reconciles
	})
	return recs
}

func (g *guardScenario) status() state.Target {
	g.t.Helper()
	st, err := g.state.Target(nil, g.ns)
	if err != nil || st == nil {
		g.t.Fatalf("target %s in the state store: %v, %v", g.ns, st, err)
	}
	return *st
}

func (g *guardScenario) mode() string {
	g.t.Helper()
	return strings.TrimSpace(g.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"))
}

// reconcileAt reconciles at the given time.
func (g *guardScenario) reconcileAt(at time.Time, trigger reconciler.Trigger) *reconciler.Outcome {
	g.t.Helper()
	g.clock.Set(at)
	g.reconciles++
	return g.reconcile(trigger)
}

// A weekend freeze (Friday 18:00 to Monday 08:00 in Berlin): a merge on
// Friday evening is held (state frozen, nothing applied, one freeze-held
// record however often it is reconciled), live drift is reported but not
// healed, and the merge is applied at the first reconcile after the window.
func TestFreezeWindowHoldsAMergeUntilItEnds(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	friday := time.Date(2026, 12, 4, 17, 0, 0, 0, berlin)
	g := newGuardScenario(t, "remediation: {drift: heal}", `freeze:
  - {name: weekend, cron: "0 18 * * 5", duration: 62h, timezone: Europe/Berlin}`, friday)

	g.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "before the weekend")
	mustAction(t, g.reconcileAt(friday, reconciler.TriggerInterval), reconciler.ActionApplied)

	saturday := time.Date(2026, 12, 5, 10, 0, 0, 0, berlin)
	t.Run("drift is reported, not healed", func(t *testing.T) {
		g.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"z"}}`)
		out := g.reconcileAt(saturday, reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionDetected)
		if g.mode() != "z" {
			t.Fatal("drift was healed during a freeze without allow: [heal]")
		}
		if len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], `freeze window "weekend": drift is reported, not healed`) {
			t.Fatalf("warnings %q", out.Warnings)
		}
	})

	g.commit(map[string]string{"cm.yaml": configMap("settings", "b")}, "the merge")
	t.Run("a merge is held", func(t *testing.T) {
		for i, at := range []time.Time{saturday.Add(time.Minute), saturday.Add(time.Hour), saturday.Add(20 * time.Hour)} {
			out := g.reconcileAt(at, reconciler.TriggerInterval)
			mustAction(t, out, reconciler.ActionFrozen)
			if !strings.Contains(out.Held, `freeze window "weekend" holds revision `+out.Revision.Commit[:12]+" until 2026-12-07T07:00:00Z") {
				t.Fatalf("reconcile %d: held %q", i, out.Held)
			}
			if out.Apply != nil {
				t.Fatalf("reconcile %d applied during the freeze: %s", i, out.Apply.Summary())
			}
		}
		if g.mode() != "z" {
			t.Fatalf("mode %q: something was applied during the freeze", g.mode())
		}
		if st := g.status(); st.Status != state.TargetFrozen || !strings.Contains(st.Held, `"weekend"`) {
			t.Fatalf("state %+v, want frozen naming the window", st)
		}
		if held := g.records(history.TypeFreezeHeld); len(held) != 1 {
			t.Fatalf("%d freeze-held records for three held reconciles, want 1", len(held))
		}
		// A restarted daemon finds the record in the history.
		g.rec = g.another(reconciler.WithClock(g.clock.Now), reconciler.WithHistory(g.hist), reconciler.WithState(g.state))
		mustAction(t, g.reconcileAt(saturday.Add(21*time.Hour), reconciler.TriggerStartup), reconciler.ActionFrozen)
		held := g.records(history.TypeFreezeHeld)
		if len(held) != 1 {
			t.Fatalf("%d freeze-held records after a restart, want 1", len(held))
		}
		if held[0].Outcome != "frozen" || !strings.Contains(held[0].Message, `freeze window "weekend"`) {
			t.Fatalf("record %+v", held[0])
		}
	})

	t.Run("the merge applies when the window ends", func(t *testing.T) {
		monday := time.Date(2026, 12, 7, 8, 0, 0, 0, berlin)
		mustAction(t, g.reconcileAt(monday, reconciler.TriggerFreezeEnd), reconciler.ActionApplied)
		if g.mode() != "b" {
			t.Fatalf("mode %q after the window, want the merged b", g.mode())
		}
		if st := g.status(); st.Status != state.TargetReady || st.Held != "" {
			t.Fatalf("state %+v, want ready", st)
		}
	})
}

// An operator lets a held revision through: it applies once, the history
// names the operator and the reason, and the next merge is held again.
func TestFreezeOverrideLetsTheHeldRevisionThroughOnce(t *testing.T) {
	start := time.Date(2026, 12, 24, 12, 0, 0, 0, time.UTC)
	g := newGuardScenario(t, "", `freeze:
  - {name: xmas, start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z", allow: [heal]}`, start)

	err := g.rec.OverrideFreeze(t.Context(), g.ns, "alice", "hotfix INC-42")
	if !errors.Is(err, reconciler.ErrNotHeld) {
		t.Fatalf("override with nothing held: %v, want ErrNotHeld", err)
	}

	g.commit(map[string]string{"cm.yaml": configMap("settings", "hotfix")}, "hotfix")
	held := g.reconcileAt(start, reconciler.TriggerInterval)
	mustAction(t, held, reconciler.ActionFrozen)
	if g.exists("configmap", "settings") {
		t.Fatal("applied during the freeze")
	}
	if err := g.rec.OverrideFreeze(t.Context(), g.ns, "alice", ""); err == nil {
		t.Fatal("an override without a reason was accepted")
	}
	if err := g.rec.OverrideFreeze(t.Context(), g.ns, "alice", "hotfix INC-42"); err != nil {
		t.Fatal(err)
	}
	out := g.reconcileAt(start.Add(time.Minute), reconciler.TriggerFreezeEnd)
	mustAction(t, out, reconciler.ActionApplied)
	if g.mode() != "hotfix" {
		t.Fatalf("mode %q: the override did not let the revision through", g.mode())
	}
	recs := g.records(history.TypeFreezeOverride)
	if len(recs) != 1 {
		t.Fatalf("%d freeze-override records, want 1", len(recs))
	}
	if r := recs[0]; r.Actor != "alice" || r.Revision != held.Revision.Commit || !strings.Contains(r.Message, "hotfix INC-42") || !strings.Contains(r.Message, `"xmas"`) {
		t.Fatalf("override record %+v", r)
	}

	t.Run("drift heals: allow heal", func(t *testing.T) {
		g.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"z"}}`)
		mustAction(t, g.reconcileAt(start.Add(2*time.Minute), reconciler.TriggerInterval), reconciler.ActionHealed)
		if g.mode() != "hotfix" {
			t.Fatalf("mode %q: not healed though the window allows heal", g.mode())
		}
	})

	t.Run("the next merge is held again", func(t *testing.T) {
		g.commit(map[string]string{"cm.yaml": configMap("settings", "feature")}, "feature")
		mustAction(t, g.reconcileAt(start.Add(3*time.Minute), reconciler.TriggerInterval), reconciler.ActionFrozen)
		if g.mode() != "hotfix" {
			t.Fatalf("mode %q: the override let a second revision through", g.mode())
		}
	})

	t.Run("an override survives a restart", func(t *testing.T) {
		if err := g.rec.OverrideFreeze(t.Context(), g.ns, "bob", "release train"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the override in the history before the restart", func() bool {
			recs, err := g.hist.Query(t.Context(), history.Filter{Target: g.ns, Types: []string{history.TypeFreezeOverride}})
			return err == nil && len(recs) == 2
		})
		g.rec = g.another(reconciler.WithClock(g.clock.Now), reconciler.WithHistory(g.hist), reconciler.WithState(g.state))
		out := g.reconcileAt(start.Add(4*time.Minute), reconciler.TriggerStartup)
		mustAction(t, out, reconciler.ActionApplied)
		if g.mode() != "feature" {
			t.Fatalf("mode %q: the override given before the restart was lost", g.mode())
		}
		if len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "let through by bob") {
			t.Fatalf("warnings %q", out.Warnings)
		}
	})
}
