package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// POST /api/v1/targets/{name}/pullrequest opens the drift's pull request
// on the real Gitea for a target in drift mode alert, which opens none on
// its own; the answer names it, and the history has the operator's
// reconcile and the pull request.
func TestPullRequestAction(t *testing.T) {
	g := startGiteaDemoWith(t, nil, demoExtra{
		files: map[string]gitrepo.Entry{
			"apps/alert/ns.yaml": gitrepo.File("apiVersion: v1\nkind: Namespace\nmetadata: {name: alert}\n"),
			"apps/alert/cm.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: alert}\ndata:\n  mode: git\n"),
		},
		targets: "  - {name: alert, source: demo, path: apps/alert, cluster: local, wait: false, remediation: {drift: alert}}\n",
	})
	waitUntil(t, "target alert applied", func() bool { return g.daemon.applied(t, "alert", "", "") })
	kubectl(t, g.env, "-n", "alert", "patch", "configmap", "settings", "-p", `{"data":{"mode":"live"}}`)
	waitUntil(t, "the drift episode of alert", func() bool {
		for _, r := range g.records(t, history.TypeDriftOpened) {
			if r.Target == "alert" {
				return true
			}
		}
		return false
	})
	if prs := g.pullRequests(t, "alert"); len(prs) != 0 {
		t.Fatalf("alert mode opened pull requests on its own: %+v", prs)
	}

	resp, err := http.Post("http://"+g.addr+"/api/v1/targets/alert/pullrequest", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ans reconcileAnswer
	if resp.StatusCode != 200 || json.Unmarshal(body, &ans) != nil || len(ans.PullRequests) != 1 {
		t.Fatalf("pullrequest: %d %s, want 200 naming one pull request", resp.StatusCode, body)
	}
	pr := g.waitPR(t, "alert", "opened")
	if pr.URL != ans.PullRequests[0].URL || pr.Object != "ConfigMap/alert/settings" {
		t.Errorf("pull request record %+v, answer %+v", pr, ans.PullRequests[0])
	}
	if got := g.gitea.File(t, g.repo, pr.Branch, "apps/alert/cm.yaml"); !strings.Contains(got, "mode: live") {
		t.Errorf("the pull request's cm.yaml:\n%s\nwant mode: live", got)
	}
	if got := kubectl(t, g.env, "-n", "alert", "get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "live" {
		t.Errorf("the action changed the live object: mode %q", got)
	}
	found := false
	for _, r := range g.daemon.records(t, "--target", "alert", "--type", history.TypeReconcile) {
		var d struct{ Trigger string }
		_ = json.Unmarshal(r.Data, &d)
		found = found || d.Trigger == "operator" && r.Actor == "anonymous"
	}
	if !found {
		t.Error("no reconcile record with trigger operator (auth off: actor anonymous)")
	}
}
