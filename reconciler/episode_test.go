package reconciler_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/notifications/slack"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// openHistory opens the SQLite history at path, as one process does.
func openHistory(t *testing.T, path string) history.Store {
	t.Helper()
	h, err := history.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// driftRecords are the history's drift records of a target's object, in
// order.
func driftRecords(t *testing.T, h history.Store, target, object string, types ...string) []history.Record {
	t.Helper()
	recs, err := h.Query(context.Background(), history.Filter{Target: target, Object: object, Types: types})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func episodeID(t *testing.T, r history.Record) string {
	t.Helper()
	var e state.Episode
	if err := json.Unmarshal(r.Data, &e); err != nil {
		t.Fatalf("record %d: %v", r.Seq, err)
	}
	return e.ID
}

// TestApplyBesideDaemonResolvesEpisodeOnce: the daemon (alert mode) opens a
// drift episode for a live edit; `trueup apply`, a second process with its
// own state rebuilt from the shared history, heals it; the daemon then sees
// the object in sync. The episode has exactly one resolution, the CLI's.
func TestApplyBesideDaemonResolvesEpisodeOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	daemonHistory := openHistory(t, path)
	daemonState, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	s := newScenarioFull(t, "remediation: {drift: alert}", "", nil,
		reconciler.WithHistory(daemonHistory), reconciler.WithState(daemonState))
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)

	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"z"}}`)
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionDetected)
	object := "ConfigMap/" + s.ns + "/settings"
	opened := driftRecords(t, daemonHistory, s.ns, object, history.TypeDriftOpened)
	if len(opened) != 1 {
		t.Fatalf("%d drift-opened records, want 1", len(opened))
	}

	// trueup apply: its own connection and a state rebuilt from the history.
	cliHistory := openHistory(t, path)
	cliState, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := reconciler.RebuildState(t.Context(), cliHistory, cliState); err != nil || n != 1 {
		t.Fatalf("the CLI rebuilt %d open episodes (%v), want the daemon's one", n, err)
	}
	cli := s.another(reconciler.WithHistory(cliHistory), reconciler.WithState(cliState))
	out := cli.Reconcile(t.Context(), s.ns, reconciler.TriggerManual, reconciler.ReconcileOptions{Actor: "cli:test"})
	mustAction(t, out, reconciler.ActionHealed)

	// The daemon, which still holds the episode open, sees it in sync.
	s.reconcile(reconciler.TriggerInterval)

	resolved := driftRecords(t, daemonHistory, s.ns, object, history.TypeDriftResolved)
	if len(resolved) != 1 {
		var outcomes []string
		for _, r := range resolved {
			outcomes = append(outcomes, r.Outcome)
		}
		t.Fatalf("%d drift-resolved records %v for one episode, want exactly 1", len(resolved), outcomes)
	}
	if resolved[0].Outcome != string(state.EpisodeHealed) || episodeID(t, resolved[0]) != episodeID(t, opened[0]) {
		t.Fatalf("resolution %s of %s, want healed of %s", resolved[0].Outcome, episodeID(t, resolved[0]), episodeID(t, opened[0]))
	}
	if res, err := daemonHistory.Verify(t.Context()); err != nil || !res.OK {
		t.Fatalf("verify: %+v, %v", res, err)
	}
}

// slackCalls is a slacktest server that keeps every chat.postMessage and
// chat.update request's blocks.
type slackCalls struct {
	*slacktest.Server
	mu     sync.Mutex
	blocks []string
}

func newSlackCalls(t *testing.T) *slackCalls {
	t.Helper()
	s := &slackCalls{}
	keep := func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.blocks = append(s.blocks, r.FormValue("text")+"\n"+r.FormValue("blocks"))
		n := len(s.blocks)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0ALERTS", "ts": fmt.Sprintf("1700000000.%06d", n)})
	}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", keep)
		c.Handle("/chat.update", keep)
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *slackCalls) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.blocks)
}

// TestSecretChangedAgainByAnotherActorIsDriftUpdated: a Secret edited out
// of band opens an episode; a second edit by another field manager, and a
// third by the same manager with a new value, are each a drift-updated
// record and a Slack update, though the masked markers are the same every
// time. No value reaches Slack or the history.
func TestSecretChangedAgainByAnotherActorIsDriftUpdated(t *testing.T) {
	h := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	st, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	slackSrv := newSlackCalls(t)
	bot, err := slack.NewBot("oncall", "xoxb-test-token", slack.WithChannel("#alerts"), slack.WithAPIURL(slackSrv.GetAPIURL()))
	if err != nil {
		t.Fatal(err)
	}
	dispatcher, err := notifications.NewDispatcher([]notifications.Notifier{bot},
		notifications.Options{Router: notifications.Router{Default: []string{"oncall"}}, Threads: reconciler.NewThreads(st)})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- dispatcher.Run(context.Background()) }()
	s := newScenarioFull(t, "remediation: {drift: alert}", "", nil,
		reconciler.WithHistory(h), reconciler.WithState(st), reconciler.WithPublisher(dispatcher))
	s.commit(map[string]string{"secret.yaml": secret}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)

	object := "Secret/" + s.ns + "/creds"
	edits := []struct{ manager, password, want string }{
		{"alice-edit", "hunter3-alice", history.TypeDriftOpened},
		{"bob-edit", "hunter4-bob", history.TypeDriftUpdated},       // another actor
		{"bob-edit", "hunter5-bob-again", history.TypeDriftUpdated}, // the same actor, another value
	}
	for i, e := range edits {
		value := base64.StdEncoding.EncodeToString([]byte(e.password))
		s.kubectl("patch", "secret", "creds", "--field-manager="+e.manager, "-p", `{"data":{"password":"`+value+`"}}`)
		mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionDetected)
		recs := driftRecords(t, h, s.ns, object, history.TypeDriftOpened, history.TypeDriftUpdated)
		if len(recs) != i+1 || recs[i].Type != e.want || recs[i].Actor != e.manager {
			var got []string
			for _, r := range recs {
				got = append(got, r.Type+" by "+r.Actor)
			}
			t.Fatalf("edit %d by %s: drift records %v, want the last a %s by %s", i+1, e.manager, got, e.want, e.manager)
		}
	}
	dispatcher.Close()
	<-ran

	calls := slackSrv.all()
	updates := 0
	for _, c := range calls {
		if strings.Contains(c, "bob-edit") {
			updates++
		}
	}
	if len(calls) < 3 || updates < 2 {
		t.Fatalf("%d Slack calls, %d naming bob-edit; want the opening and two updates:\n%s", len(calls), updates, strings.Join(calls, "\n---\n"))
	}
	var exported strings.Builder
	if err := h.Export(t.Context(), &exported, history.Filter{}); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"hunter", "aHVudGVy"} {
		for _, c := range calls {
			if strings.Contains(c, leak) {
				t.Fatalf("a Secret value (%q) reached Slack:\n%s", leak, c)
			}
		}
		if strings.Contains(exported.String(), leak) || strings.Contains(s.logs.String(), leak) {
			t.Fatalf("a Secret value (%q) reached the history or the log", leak)
		}
	}
}
