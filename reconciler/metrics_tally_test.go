package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources"
)

// tallyRecord is a reconcile record of target "t" at minute min.
func tallyRecord(min int, typ string, outcome Action, revision string, d reconcileData) history.Record {
	return history.Record{Type: typ, Target: "t", Revision: revision, Outcome: string(outcome),
		Time: time.Date(2026, 12, 1, 0, min, 0, 0, time.UTC), Data: mustJSON(d)}
}

// committed is reconcile data whose commit was made at minute min.
func committed(min int) reconcileData {
	return reconcileData{Commit: &commitData{Committer: sources.Person{When: time.Date(2026, 12, 1, 0, min, 0, 0, time.UTC)}}}
}

// factText is a fact as "kind[label/status]=value".
func factText(f fact) string {
	names := map[factKind]string{factLeadTime: "lead", factProvisioned: "provisioned", factApplyAttempt: "attempt",
		factApplyFailed: "failed", factHeal: "heal", factManualApply: "manual", factReconcileError: "error",
		factSuccess: "success", factDriftOpened: "opened", factDriftResolved: "resolved", factDelivery: "delivery", factQueueDrop: "drop"}
	s := names[f.Kind]
	if f.Label != "" || f.Status != "" {
		s += "[" + strings.Trim(f.Label+"/"+f.Status, "/") + "]"
	}
	if f.Value != 0 {
		s += fmt.Sprintf("=%g", f.Value)
	}
	return s
}

func TestTally(t *testing.T) {
	failedApply := reconcileData{Stage: StageApply, Attempted: ActionApplied}
	failedHeal := reconcileData{Stage: StageApply, Attempted: ActionHealed}
	opened := time.Date(2026, 12, 1, 0, 10, 0, 0, time.UTC)
	episode := state.Episode{ID: "t/x/1", Target: "t", Opened: opened, Closed: opened.Add(90 * time.Second), Status: state.EpisodeAccepted}
	tests := []struct {
		name    string
		existed bool
		records []history.Record
		want    [][]string // the facts of each record
	}{
		{name: "a revision failing twice, then applied: one attempt, one failure; lead time and provisioning once",
			records: []history.Record{
				tallyRecord(0, history.TypeReconcile, ActionFailed, "a", reconcileData{Stage: StageSource}),
				tallyRecord(5, history.TypeReconcile, ActionFailed, "a", failedApply),
				tallyRecord(10, history.TypeReconcile, ActionFailed, "a", failedApply),
				tallyRecord(15, history.TypeReconcile, ActionApplied, "a", committed(1)),
				tallyRecord(20, history.TypeManual, ActionApplied, "a", committed(1)),
			},
			want: [][]string{{"error[source]"}, {"error[apply]", "attempt", "failed"}, {"error[apply]"},
				{"success", "lead=840", "provisioned=900"}, {"success", "manual"}}},
		{name: "a failed heal is no change failure; a manual heal is a heal and a manual apply",
			existed: true,
			records: []history.Record{
				tallyRecord(0, history.TypeReconcile, ActionFailed, "a", failedHeal),
				tallyRecord(1, history.TypeManual, ActionHealed, "a", reconcileData{}),
				tallyRecord(2, history.TypeReconcile, ActionUnknown, "a", reconcileData{}),
				tallyRecord(3, history.TypeReconcile, ActionApplied, "b", reconcileData{DryRun: true}),
			},
			want: [][]string{{"error[apply]"}, {"success", "heal", "manual"}, nil, nil}},
		{name: "records older than the attempted field: an apply failure of another revision than the last applied",
			existed: true,
			records: []history.Record{
				tallyRecord(0, history.TypeReconcile, ActionApplied, "a", reconcileData{}),
				tallyRecord(1, history.TypeReconcile, ActionFailed, "a", reconcileData{Stage: StageApply}),
				tallyRecord(2, history.TypeReconcile, ActionFailed, "b", reconcileData{Stage: StageApply}),
			},
			want: [][]string{{"success", "attempt"}, {"error[apply]"}, {"error[apply]", "attempt", "failed"}}},
		{name: "drift episodes and deliveries",
			existed: true,
			records: []history.Record{
				{Type: history.TypeDriftOpened, Target: "t", Time: opened, Data: mustJSON(state.Episode{ID: "t/x/1", Target: "t", Opened: opened, Status: state.EpisodeOpen})},
				{Type: history.TypeDriftResolved, Target: "t", Time: opened.Add(time.Hour), Data: mustJSON(episode)},
				{Type: history.TypeNotification, Target: "t", Data: mustJSON(deliveryData{Delivery: notifications.Delivery{Notifier: "slack", Status: notifications.StatusSent}})},
				{Type: history.TypeNotification, Data: mustJSON(deliveryData{Delivery: notifications.Delivery{Notifier: "hook", Status: notifications.StatusDropped, Reason: notifications.ReasonShutdown}})},
				{Type: history.TypeApply, Target: "t", Data: mustJSON(objectData{})},
				// An operator's accept (trueup accept): its data is the closed episode, until and reason.
				{Type: history.TypeDriftAccepted, Target: "t", Time: opened.Add(time.Hour), Data: mustJSON(acceptData{Episode: episode, Until: opened.Add(5 * time.Hour), Reason: "load test"})},
			},
			want: [][]string{{"opened"}, {"resolved[accepted]=90"}, {"delivery[slack/sent]"}, {"delivery[hook/dropped]", "drop[hook/shutdown]=1"}, nil, {"resolved[accepted]=90"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTally()
			if tt.existed {
				tl.existed("t", time.Time{})
			}
			for i, r := range tt.records {
				var got []string
				for _, f := range tl.add(r) {
					got = append(got, factText(f))
				}
				if !slices.Equal(got, tt.want[i]) {
					t.Errorf("record %d (%s %s): facts %v, want %v", i, r.Type, r.Outcome, got, tt.want[i])
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	got := summarize([]float64{50, 10, 40, 30, 20, 60, 70, 80, 90, 100})
	want := Durations{Count: 10, MeanSeconds: 55, MedianSeconds: 50, P90Seconds: 90, MaxSeconds: 100}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (Durations{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
}

func TestDayRangeFillsGaps(t *testing.T) {
	got := dayRange(map[string]*DayFigures{"2026-11-30": {Day: "2026-11-30", Heals: 1}, "2026-12-02": {Day: "2026-12-02", Applies: 2}})
	want := []DayFigures{{Day: "2026-11-30", Heals: 1}, {Day: "2026-12-01"}, {Day: "2026-12-02", Applies: 2}}
	if !slices.Equal(got, want) {
		t.Errorf("dayRange = %+v, want %+v", got, want)
	}
	if got := dayRange(nil); got == nil || len(got) != 0 {
		t.Errorf("dayRange(nil) = %#v, want an empty list (JSON [])", got)
	}
}
