package state

import (
	"reflect"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
)

var (
	webRef    = deployment("web")
	webObject = webRef.String()
	scaler    = &drift.Actor{Manager: "kubectl", Operation: "Update", Time: t0.Add(-2 * time.Hour)}
	editor    = &drift.Actor{Manager: "kubectl-edit", Operation: "Update", Time: t0.Add(-time.Hour)}
	now       = t0.Add(time.Hour)
)

func replicas(live, desired any, actor *drift.Actor) drift.FieldDiff {
	return drift.FieldDiff{Path: "/spec/replicas", Live: live, Desired: desired, Actor: actor}
}

func image(live string, actor *drift.Actor) drift.FieldDiff {
	return drift.FieldDiff{Path: "/spec/template/spec/containers/0/image", Live: live, Desired: "nginx:1.27", Actor: actor}
}

func password() drift.FieldDiff {
	return drift.FieldDiff{Path: "/data/password", Live: drift.MaskedChanged, Desired: drift.MaskedValue, Masked: true}
}

// secretField is a masked password field whose live value has digest and
// was written by actor.
func secretField(digest string, actor *drift.Actor) drift.FieldDiff {
	f := password()
	f.LiveDigest, f.Actor = digest, actor
	return f
}

// secretOpen is an open episode of a masked password field.
func secretOpen(digest string, actor *drift.Actor) *Episode {
	e := openWeb()
	e.Fields, e.Actor = []drift.FieldDiff{secretField(digest, actor)}, actor
	return &e
}

func report(status drift.Status, fields ...drift.FieldDiff) drift.ObjectReport {
	return drift.ObjectReport{Ref: webRef, Status: status, Fields: fields}
}

// openWeb is the open episode of shop's web Deployment, opened at t0.
func openWeb() Episode {
	return Episode{
		ID: EpisodeID("shop", webObject, t0), Target: "shop", Object: webObject,
		Drift:  drift.Drifted,
		Fields: []drift.FieldDiff{replicas(int64(5), int64(3), scaler), image("busybox", editor)},
		Actor:  editor, Opened: t0, LastSeen: t0, Status: EpisodeOpen,
		Threads: map[string]string{"slack": "1700000000.000100"},
	}
}

func with(e Episode, change func(*Episode)) *Episode {
	c := e.clone()
	change(&c)
	return &c
}

func TestNextEpisode(t *testing.T) {
	open := openWeb()
	tests := []struct {
		name   string
		open   *Episode
		report drift.ObjectReport
		how    EpisodeStatus
		want   *Episode
		wantTr Transition
	}{
		{
			name:   "drift appears",
			report: report(drift.Drifted, replicas(int64(5), int64(3), scaler), image("busybox", editor)),
			want: &Episode{
				ID: EpisodeID("shop", webObject, now), Target: "shop", Object: webObject, Drift: drift.Drifted,
				Fields: []drift.FieldDiff{replicas(int64(5), int64(3), scaler), image("busybox", editor)},
				Actor:  editor, Opened: now, LastSeen: now, Status: EpisodeOpen,
			},
			wantTr: Transition{Kind: TransitionOpened},
		},
		{
			name:   "object deleted out of band",
			report: report(drift.Missing),
			want: &Episode{
				ID: EpisodeID("shop", webObject, now), Target: "shop", Object: webObject, Drift: drift.Missing,
				Opened: now, LastSeen: now, Status: EpisodeOpen,
			},
			wantTr: Transition{Kind: TransitionOpened},
		},
		{
			name:   "secret drift stays masked",
			report: report(drift.Drifted, password()),
			want: &Episode{
				ID: EpisodeID("shop", webObject, now), Target: "shop", Object: webObject, Drift: drift.Drifted,
				Fields: []drift.FieldDiff{password()}, Opened: now, LastSeen: now, Status: EpisodeOpen,
			},
			wantTr: Transition{Kind: TransitionOpened},
		},
		{name: "in sync without episode", report: report(drift.InSync)},
		{name: "unknown without episode", report: report(drift.Unknown)},
		{name: "unmanaged without episode", report: report(drift.Unmanaged)},
		{
			name:   "same fields",
			open:   &open,
			report: report(drift.Drifted, replicas(int64(5), int64(3), scaler), image("busybox", editor)),
			want:   with(open, func(e *Episode) { e.LastSeen = now }),
		},
		{
			name:   "same fields after a trip through JSON",
			open:   &open,
			report: report(drift.Drifted, image("busybox", editor), replicas(float64(5), float64(3), nil)),
			want:   with(open, func(e *Episode) { e.LastSeen = now }),
		},
		{
			name:   "same fields, another actor",
			open:   &open,
			report: report(drift.Drifted, replicas(int64(5), int64(3), editor), image("busybox", scaler)),
			want:   with(open, func(e *Episode) { e.LastSeen = now }),
		},
		{
			name:   "a masked value changed again (another digest)",
			open:   secretOpen("one", editor),
			report: report(drift.Drifted, secretField("two", editor)),
			want:   with(*secretOpen("two", editor), func(e *Episode) { e.LastSeen = now }),
			wantTr: Transition{Kind: TransitionUpdated},
		},
		{
			name:   "a masked value changed again by another actor",
			open:   secretOpen("one", editor),
			report: report(drift.Drifted, secretField("one", scaler)),
			want:   with(*secretOpen("one", scaler), func(e *Episode) { e.LastSeen = now }),
			wantTr: Transition{Kind: TransitionUpdated},
		},
		{
			name:   "a masked value read back from the history (no digest): learnt, no update",
			open:   secretOpen("", editor),
			report: report(drift.Drifted, secretField("one", editor)),
			want:   with(*secretOpen("one", editor), func(e *Episode) { e.LastSeen = now }),
		},
		{
			name:   "a value changed",
			open:   &open,
			report: report(drift.Drifted, replicas(int64(7), int64(3), scaler), image("busybox", editor)),
			want: with(open, func(e *Episode) {
				e.Fields = []drift.FieldDiff{replicas(int64(7), int64(3), scaler), image("busybox", editor)}
				e.LastSeen = now
			}),
			wantTr: Transition{Kind: TransitionUpdated},
		},
		{
			name:   "a field healed, another remains",
			open:   &open,
			report: report(drift.Drifted, replicas(int64(5), int64(3), scaler)),
			want: with(open, func(e *Episode) {
				e.Fields = []drift.FieldDiff{replicas(int64(5), int64(3), scaler)}
				e.Actor = scaler
				e.LastSeen = now
			}),
			wantTr: Transition{Kind: TransitionUpdated},
		},
		{
			name:   "drifted object deleted",
			open:   &open,
			report: report(drift.Missing),
			want: with(open, func(e *Episode) {
				e.Drift, e.Fields, e.Actor, e.LastSeen = drift.Missing, nil, nil, now
			}),
			wantTr: Transition{Kind: TransitionUpdated},
		},
		{
			name:   "acknowledged stays acknowledged on update",
			open:   with(open, func(e *Episode) { e.Status = EpisodeAcknowledged }),
			report: report(drift.Drifted, replicas(int64(9), int64(3), scaler)),
			want: with(open, func(e *Episode) {
				e.Status = EpisodeAcknowledged
				e.Fields = []drift.FieldDiff{replicas(int64(9), int64(3), scaler)}
				e.Actor = scaler
				e.LastSeen = now
			}),
			wantTr: Transition{Kind: TransitionUpdated},
		},
		{
			name:   "healed by trueup",
			open:   &open,
			report: report(drift.InSync),
			how:    EpisodeHealed,
			want:   with(open, func(e *Episode) { e.Status, e.Closed = EpisodeHealed, now }),
			wantTr: Transition{Kind: TransitionResolved, How: EpisodeHealed},
		},
		{
			name:   "in sync by other means",
			open:   &open,
			report: report(drift.InSync),
			want:   with(open, func(e *Episode) { e.Status, e.Closed = EpisodeResolved, now }),
			wantTr: Transition{Kind: TransitionResolved, How: EpisodeResolved},
		},
		{
			name:   "pruned by trueup",
			open:   &open,
			report: report(drift.InSync),
			how:    EpisodeGone,
			want:   with(open, func(e *Episode) { e.Status, e.Closed = EpisodeGone, now }),
			wantTr: Transition{Kind: TransitionResolved, How: EpisodeGone},
		},
		{
			name:   "adopted into git",
			open:   with(open, func(e *Episode) { e.Status = EpisodeAcknowledged }),
			report: report(drift.InSync),
			how:    EpisodeAdopted,
			want:   with(open, func(e *Episode) { e.Status, e.Closed = EpisodeAdopted, now }),
			wantTr: Transition{Kind: TransitionResolved, How: EpisodeAdopted},
		},
		{
			name:   "left git",
			open:   &open,
			report: report(drift.PendingPrune),
			want:   with(open, func(e *Episode) { e.Status, e.Closed = EpisodeGone, now }),
			wantTr: Transition{Kind: TransitionResolved, How: EpisodeGone},
		},
		{
			name:   "an open status is no way to close",
			open:   &open,
			report: report(drift.InSync),
			how:    EpisodeAcknowledged,
			want:   with(open, func(e *Episode) { e.Status, e.Closed = EpisodeResolved, now }),
			wantTr: Transition{Kind: TransitionResolved, How: EpisodeResolved},
		},
		{
			name:   "unknown tells nothing",
			open:   &open,
			report: report(drift.Unknown),
			want:   with(open, func(*Episode) {}),
		},
		{
			name:   "drift after a closed episode opens a new one",
			open:   with(open, func(e *Episode) { e.Status, e.Closed = EpisodeHealed, t0.Add(time.Minute) }),
			report: report(drift.Drifted, replicas(int64(5), int64(3), scaler)),
			want: &Episode{
				ID: EpisodeID("shop", webObject, now), Target: "shop", Object: webObject, Drift: drift.Drifted,
				Fields: []drift.FieldDiff{replicas(int64(5), int64(3), scaler)},
				Actor:  scaler, Opened: now, LastSeen: now, Status: EpisodeOpen,
			},
			wantTr: Transition{Kind: TransitionOpened},
		},
		{
			name:   "in sync with a closed episode",
			open:   with(open, func(e *Episode) { e.Status = EpisodeHealed }),
			report: report(drift.InSync),
		},
		{
			name:   "episode of another object is ignored",
			open:   with(open, func(e *Episode) { e.Object = deployment("api").String() }),
			report: report(drift.InSync),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before *Episode
			if tt.open != nil {
				before = with(*tt.open, func(*Episode) {})
			}
			next, tr := NextEpisode(tt.open, "shop", tt.report, tt.how, now)
			if tr != tt.wantTr {
				t.Errorf("transition = %v, want %v", tr, tt.wantTr)
			}
			if !reflect.DeepEqual(next, tt.want) {
				t.Errorf("next =\n%+v\nwant\n%+v", next, tt.want)
			}
			if tt.open != nil && !reflect.DeepEqual(tt.open, before) {
				t.Errorf("NextEpisode changed its input:\n%+v\nwas\n%+v", tt.open, before)
			}
		})
	}
}

// The next episode shares no memory with the report: the detector's live
// object may change after the comparison.
func TestNextEpisodeCopiesReport(t *testing.T) {
	container := map[string]any{"name": "debug", "image": "busybox", "args": []any{"sleep"}}
	actor := &drift.Actor{Manager: "kubectl-edit"}
	rep := report(drift.Drifted, drift.FieldDiff{Path: "/spec/template/spec/containers/1", Live: container, Actor: actor})
	next, _ := NextEpisode(nil, "shop", rep, "", now)

	container["image"] = "changed"
	container["args"].([]any)[0] = "changed"
	actor.Manager = "changed"

	got := next.Fields[0].Live.(map[string]any)
	if got["image"] != "busybox" || got["args"].([]any)[0] != "sleep" {
		t.Errorf("episode field follows the report: %v", got)
	}
	if next.Fields[0].Actor.Manager != "kubectl-edit" || next.Actor.Manager != "kubectl-edit" {
		t.Errorf("episode actor follows the report: %+v", next.Actor)
	}
}

func TestTransitionString(t *testing.T) {
	tests := []struct {
		tr   Transition
		want string
	}{
		{Transition{}, "none"},
		{Transition{Kind: TransitionOpened}, "opened"},
		{Transition{Kind: TransitionUpdated}, "updated"},
		{Transition{Kind: TransitionResolved, How: EpisodeHealed}, "resolved(healed)"},
	}
	for _, tt := range tests {
		if got := tt.tr.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.tr, got, tt.want)
		}
	}
}
