package reconciler

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// With several replicas, each reports the open episodes of the targets it
// owns, read from its state store (which it rebuilds on a takeover).
func TestOpenEpisodeGaugesOfOwnedTargets(t *testing.T) {
	st, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i, target := range []string{"mine", "mine", "theirs"} {
		opened := now.Add(-time.Duration(i+1) * time.Hour)
		obj := "ConfigMap/ns/cm" + string(rune('a'+i))
		e := state.Episode{ID: state.EpisodeID(target, obj, opened), Target: target, Object: obj, Drift: drift.Drifted,
			Opened: opened, LastSeen: opened, Status: state.EpisodeOpen}
		if err := st.UpsertEpisode(e); err != nil {
			t.Fatal(err)
		}
	}
	p := newPlatformMetrics()
	p.bind(nil, func() time.Time { return now }, st, func(target string) bool { return target == "mine" })
	reg := prometheus.NewRegistry()
	reg.MustRegister(p)
	want := `# HELP trueup_drift_oldest_open_episode_age_seconds Age of the oldest open drift episode, by target and team (absent when none is open).
# TYPE trueup_drift_oldest_open_episode_age_seconds gauge
trueup_drift_oldest_open_episode_age_seconds{target="mine",team=""} 7200
# HELP trueup_drift_open_episodes Drift episodes open now, by target and team.
# TYPE trueup_drift_open_episodes gauge
trueup_drift_open_episodes{target="mine",team=""} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
