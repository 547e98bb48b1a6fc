package reconciler

import (
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/policy"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/writeback"
)

func TestBranchName(t *testing.T) {
	tests := []struct{ target, object, want string }{
		{"web", "Deployment.apps/web/web", "trueup/drift/web/Deployment.apps/web/web"},
		{"infra", "Namespace//team-a", "trueup/drift/infra/Namespace/_/team-a"},
		// A name Git refuses (".." and a trailing ".lock") becomes a digest.
		{"web", "ConfigMap/web/a..b.lock", "trueup/drift/"},
	}
	for _, tt := range tests {
		got := branchName("trueup/drift", tt.target, tt.object)
		if !strings.HasPrefix(got, tt.want) || (tt.want == "trueup/drift/" && strings.Contains(got, "..")) {
			t.Errorf("branchName(%q, %q) = %q, want %q...", tt.target, tt.object, got, tt.want)
		}
	}
	if a, b := branchName("p", "web", "ConfigMap/web/a..b"), branchName("p", "web", "ConfigMap/web/a..c"); a == b {
		t.Errorf("two objects share branch %q", a)
	}
}

func TestPRNumber(t *testing.T) {
	for u, want := range map[string]int{
		"http://127.0.0.1:3000/org/app/pulls/7": 7,
		"https://github.com/org/app/pull/12":    12,
		"https://github.com/org/app/pull/12/":   12,
		"https://github.com/org/app/pull/zero":  0,
		"https://github.com/org/app/pull/-3":    0,
		"::not a url":                           0,
	} {
		got, err := prNumber(u)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("prNumber(%q) = %d, %v; want %d", u, got, err, want)
		}
	}
}

// TestPRBodyMasksAndEscapes: masked values never reach the body, and
// Markdown in values or actors cannot break the table or mention anyone.
func TestPRBodyMasksAndEscapes(t *testing.T) {
	cfg := &config.Config{Server: config.Server{PublicURL: "https://trueup.example/"}}
	tgt := &config.Target{Name: "web", Cluster: "prod"}
	ep := &state.Episode{ID: "web/Deployment.apps/web/web/1", Object: "Deployment.apps/web/web", Opened: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC),
		Actor: &drift.Actor{Manager: "@channel"},
		Fields: []drift.FieldDiff{
			{Path: "/spec/replicas", Desired: 2, Live: 5, Actor: &drift.Actor{Manager: "kubectl-scale"}},
			{Path: "/data/password", Desired: "hunter2", Live: "s3cret", Masked: true},
			{Path: "/metadata/annotations/note", Desired: "a", Live: "x | `y`"},
		}}
	body := prBody(cfg, tgt, ep, []writeback.Applied{{Path: "/spec/replicas", File: "apps/web/deployment.yaml", Line: 12, Action: writeback.SetInFile}})
	for _, leak := range []string{"hunter2", "s3cret", "@channel"} {
		if strings.Contains(body, leak) {
			t.Errorf("body carries %q:\n%s", leak, body)
		}
	}
	for _, want := range []string{"| `/spec/replicas` | `2` | `5` | kubectl-scale |", "`<masked>`", "`\"x \\| 'y'\"`",
		"`apps/web/deployment.yaml` line 12: set in the file that defines it",
		"(https://trueup.example/episodes/web%2FDeployment.apps%2Fweb%2Fweb%2F1)"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if msg := commitMessage(tgt, ep); strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cret") || !strings.Contains(msg, "/spec/replicas: git: 2  live: 5") {
		t.Errorf("commit message:\n%s", msg)
	}
}

func TestPreviewComment(t *testing.T) {
	ref := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web"}
	gone := drift.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "old"}
	pv := &Preview{Number: 3, Head: sources.Revision{Commit: "0123456789abcdef0123456789abcdef01234567"}, Targets: []TargetPreview{{
		Target: "web", Destination: "cluster prod",
		Changes: []drift.ObjectReport{{Ref: ref, Status: drift.Drifted, Fields: []drift.FieldDiff{
			{Path: "/spec/replicas", Live: 6, Desired: 7},
			{Path: "/data/token", Live: "a", Desired: "b", Masked: true},
		}}},
		Apply:  &kube.Result{Entries: []kube.Entry{{Ref: ref, Action: kube.ActionConfigured}, {Ref: gone, Action: kube.ActionDeleted}}},
		Policy: []policy.Finding{{Policy: "require-owner", Object: ref, Message: "needs an owner label", Severity: "warning", Action: "warn"}},
	}}}
	body := previewComment(pv)
	for _, want := range []string{previewMarker, "`0123456789ab`", "| web | cluster prod | 0 | 1 | 1 | 0 enforced, 1 warn | ok |",
		"    /spec/replicas: git: 7  live: 6\n", "<masked>", "- `ConfigMap/web/old`", "require-owner"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, ": a\n") || strings.Contains(body, ": b\n") {
		t.Errorf("comment carries a masked value:\n%s", body)
	}
	if pv.Targets[0].failed() {
		t.Error("a warning fails the preview")
	}
	pv.Targets[0].Policy[0].Action = "enforce"
	if !pv.Targets[0].failed() {
		t.Error("an enforced violation does not fail the preview")
	}
}
