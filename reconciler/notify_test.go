package reconciler

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources"
)

func TestOutcomeEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	ec := eventContext{
		target:      &config.Target{Name: "shop", Labels: map[string]string{"team": "payments"}, Remediation: config.Remediation{Drift: "heal"}},
		destination: notifications.Destination{Kind: notifications.DestinationCluster, Name: "prod"},
		commitURL:   "https://git.example.com/org/repo/commit/",
		publicURL:   "https://trueup.example.com/",
	}
	rev := sources.Revision{Commit: "4f2a9c0d1e7b8a6c5d4e3f2a1b0c9d8e7f6a5b4c"}
	ep := state.Episode{ID: "shop/Deployment.apps/prod/web/1", Target: "shop", Object: "Deployment.apps/prod/web", Drift: drift.Drifted,
		Opened: t0.Add(-time.Minute), Actor: &drift.Actor{Manager: "kubectl-edit"},
		Fields: []drift.FieldDiff{
			{Path: "/spec/replicas", Live: int64(5), Desired: int64(3), Actor: &drift.Actor{Manager: "kubectl-edit"}},
			{Path: "/data/password", Live: drift.MaskedChanged, Desired: drift.MaskedChanged, Masked: true},
		}}
	applied := &kube.Result{Entries: []kube.Entry{{Action: kube.ActionConfigured}}}
	unchanged := &kube.Result{Entries: []kube.Entry{{Action: kube.ActionUnchanged}}}
	fetchErr := &StageError{Stage: StageSource, Err: errors.New("fetch: remote unreachable")}
	applyErr := &StageError{Stage: StageApply, Err: errors.New("apply: admission webhook denied")}
	tests := []struct {
		name    string
		out     Outcome
		prev    *Outcome
		changes []episodeChange
		want    []notifications.Kind
	}{
		{name: "in sync says nothing", out: Outcome{Action: ActionInSync}},
		{name: "unchanged apply says nothing", out: Outcome{Action: ActionApplied, Apply: unchanged}},
		{name: "applied revision", out: Outcome{Action: ActionApplied, Apply: applied}, want: []notifications.Kind{notifications.KindApplySucceeded}},
		{name: "dry run says nothing", out: Outcome{Action: ActionApplied, Apply: applied, DryRun: true}},
		{name: "drift opened and healed in one reconcile",
			out: Outcome{Action: ActionHealed, Apply: applied},
			changes: []episodeChange{{Episode: ep, Transition: state.Transition{Kind: state.TransitionOpened}},
				{Episode: ep, Transition: state.Transition{Kind: state.TransitionResolved, How: state.EpisodeHealed}}},
			want: []notifications.Kind{notifications.KindDriftOpened, notifications.KindDriftResolved}},
		{name: "source failure told once", out: Outcome{Action: ActionFailed, Err: fetchErr}, want: []notifications.Kind{notifications.KindSourceFailed}},
		{name: "same failure again is quiet", out: Outcome{Action: ActionFailed, Err: fetchErr}, prev: &Outcome{Err: fetchErr}},
		{name: "another failure is told", out: Outcome{Action: ActionFailed, Err: applyErr}, prev: &Outcome{Err: fetchErr},
			want: []notifications.Kind{notifications.KindApplyFailed}},
		{name: "prune blocked", out: Outcome{Action: ActionApplied, Apply: unchanged, PruneBlocked: "would delete 5 of 6 objects, max 1"},
			want: []notifications.Kind{notifications.KindPruneBlocked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.out.Target, tt.out.Revision, tt.out.Start = "shop", rev, t0
			evs := outcomeEvents(ec, &tt.out, tt.prev, tt.changes)
			var kinds []notifications.Kind
			for _, ev := range evs {
				kinds = append(kinds, ev.Kind)
				if ev.Target != "shop" || ev.Destination.Name != "prod" || ev.TargetLabels["team"] != "payments" {
					t.Errorf("%s: target, destination or labels not set: %+v", ev.Kind, ev)
				}
				if ev.CommitURL != "https://git.example.com/org/repo/commit/"+rev.Commit || ev.DetailsURL != "https://trueup.example.com/targets/shop" {
					t.Errorf("%s: links %q %q", ev.Kind, ev.CommitURL, ev.DetailsURL)
				}
			}
			if !slices.Equal(kinds, tt.want) {
				t.Fatalf("kinds = %v, want %v", kinds, tt.want)
			}
		})
	}
	t.Run("drift event carries fields, actor, since and how", func(t *testing.T) {
		out := Outcome{Target: "shop", Revision: rev, Start: t0, Action: ActionHealed}
		evs := outcomeEvents(ec, &out, nil, []episodeChange{{Episode: ep, Transition: state.Transition{Kind: state.TransitionResolved, How: state.EpisodeHealed}}})
		ev := evs[0]
		if ev.Episode != ep.ID || ev.Object != ep.Object || ev.Actor != "kubectl-edit" || !ev.Since.Equal(ep.Opened) ||
			ev.Resolution != "healed" || ev.Mode != "heal" || ev.Severity != notifications.SeverityWarning {
			t.Errorf("event = %+v", ev)
		}
		if len(ev.Fields) != 2 || ev.Fields[0].Path != "/spec/replicas" || ev.Fields[0].Actor != "kubectl-edit" || !ev.Fields[1].Masked {
			t.Errorf("fields = %+v", ev.Fields)
		}
	})
}

func TestCommitURLPrefix(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"https://user:secret@git.example.com/org/repo.git", "https://git.example.com/org/repo/commit/"},
		{"http://127.0.0.1:3000/org/repo", "http://127.0.0.1:3000/org/repo/commit/"},
		{"ssh://git@git.example.com/org/repo.git", ""},
		{"/srv/git/repo.git", ""},
	} {
		if got := commitURLPrefix(&config.Source{URL: tt.url}); got != tt.want {
			t.Errorf("commitURLPrefix(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
