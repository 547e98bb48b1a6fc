package reconciler_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/reconciler"
)

// failureLog returns the attributes of the last "reconcile failed" log line.
func (s *scenario) failureLog() map[string]any {
	s.t.Helper()
	var last map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err == nil && m["msg"] == "reconcile failed" {
			last = m
		}
	}
	if last == nil {
		s.t.Fatalf("no reconcile failed log line in:\n%s", s.logs.String())
	}
	return last
}

// A failure logs its own stage (render apart from fetch) and the revision it
// worked on, or no revision at all when none was fetched, never "".
func TestFailureLogsItsStageAndRevision(t *testing.T) {
	s := newScenario(t, "")
	s.commit(map[string]string{"cm.yaml": "kind: ConfigMap\nmetadata: {name: [not, a, string]}\n"}, "broken yaml")

	out := s.reconcile(reconciler.TriggerInterval)
	if out.FailedStage() != reconciler.StageRender || out.Revision.Commit == "" {
		t.Fatalf("render failure: stage %q revision %q, err %v; want stage render and the commit", out.FailedStage(), out.Revision.Commit, out.Err)
	}
	log := s.failureLog()
	if log["stage"] != "render" || log["revision"] != out.Revision.Short() {
		t.Fatalf("render failure logged stage %v revision %v, want render and %s", log["stage"], log["revision"], out.Revision.Short())
	}

	if err := os.RemoveAll(strings.TrimPrefix(s.repo.URL(), "file://")); err != nil {
		t.Fatal(err)
	}
	out = s.reconcile(reconciler.TriggerInterval)
	if out.FailedStage() != reconciler.StageSource || out.Revision.Commit != "" {
		t.Fatalf("fetch failure: stage %q revision %q, err %v; want stage source and no revision", out.FailedStage(), out.Revision.Commit, out.Err)
	}
	log = s.failureLog()
	if rev, ok := log["revision"]; ok || log["stage"] != "source" {
		t.Fatalf("fetch failure logged stage %v revision %q (present %v); want source and no revision attribute", log["stage"], rev, ok)
	}
}

// An error names its target once, not "target "x": target "x": ...".
func TestErrorNamesTheTargetOnce(t *testing.T) {
	s := newScenario(t, "")
	s.commit(map[string]string{"w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"}, "unknown kind")
	out := s.reconcile(reconciler.TriggerInterval)
	if out.FailedStage() != reconciler.StagePrepare {
		t.Fatalf("stage %q, err %v; want prepare", out.FailedStage(), out.Err)
	}
	want := `target "` + s.ns + `": Widget.example.com//w: prepare: invalid object: kind example.com/v1, Kind=Widget is not served by the cluster`
	if msg := out.Error(); !strings.HasPrefix(msg, want) || strings.Count(msg, `target "`) != 1 {
		t.Fatalf("error %q\nwant it to start with %q and name the target once", msg, want)
	}
}
