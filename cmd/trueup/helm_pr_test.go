package main

import (
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/helm"
)

// TestHelmDriftPullRequestEditsValuesLine is issue 16's pull-request
// acceptance on a real Gitea and control plane: podinfo's chart (vendored
// in the repository) rendered with a production values file applies; a
// `kubectl scale` of its Deployment opens a pull request whose branch
// changes exactly the values file line that sets replicaCount, comment
// kept, and leaves the chart's own values.yaml alone.
func TestHelmDriftPullRequestEditsValuesLine(t *testing.T) {
	const valuesFile = "envs/prod/podinfo.yaml"
	files := map[string]gitrepo.Entry{
		valuesFile: gitrepo.File("# podinfo in production\nreplicaCount: 3 # one per zone\nui:\n  message: prod\n"),
		// The release's namespace, which the chart does not create.
		"charts/podinfo/templates/namespace.yaml": gitrepo.File("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Release.Namespace }}\n"),
	}
	for p, data := range helm.Files(helm.Podinfo) {
		files["charts/podinfo/"+p] = gitrepo.File(string(data))
	}
	g := startGiteaDemoWith(t, nil, demoExtra{files: files, targets: `  - name: podinfo
    source: demo
    cluster: local
    wait: false
    interval: 10s
    render:
      helm:
        chart: charts/podinfo
        releaseName: podinfo
        namespace: podinfo
        values:
          - path: ` + valuesFile + `
    remediation: {drift: pull-request}
`})
	waitUntil(t, "podinfo applied", func() bool { return g.daemon.applied(t, "podinfo", "", "") })
	if got := kubectl(t, g.env, "-n", "podinfo", "get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas}"); got != "3" {
		t.Fatalf("replicas = %s, want 3 from %s", got, valuesFile)
	}

	kubectl(t, g.env, "-n", "podinfo", "scale", "deployment", "podinfo", "--replicas=5")
	opened := g.waitPR(t, "podinfo", "opened")
	const branch = "trueup/drift/podinfo/Deployment.apps/podinfo/podinfo"
	if opened.Branch != branch || opened.Object != "Deployment.apps/podinfo/podinfo" {
		t.Fatalf("opened record = %+v", opened)
	}
	onlyLineChanged(t, g.gitea.File(t, g.repo, "main", valuesFile), g.gitea.File(t, g.repo, branch, valuesFile),
		"replicaCount: 3 # one per zone", "replicaCount: 5 # one per zone")
	if main, br := g.gitea.File(t, g.repo, "main", "charts/podinfo/values.yaml"), g.gitea.File(t, g.repo, branch, "charts/podinfo/values.yaml"); main != br {
		t.Errorf("the chart's defaults changed on the branch")
	}
	pr := g.gitea.PullRequest(t, g.repo, opened.Number)
	for _, want := range []string{"`/spec/replicas`", "`" + valuesFile + "` line 2", "set in the Helm values file that sets it"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("pull request body lacks %q:\n%s", want, pr.Body)
		}
	}
	// Still running in pull-request mode: the drift stays until the merge.
	if got := kubectl(t, g.env, "-n", "podinfo", "get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Errorf("replicas = %s after the pull request, want the live 5 (pull-request mode does not heal)", got)
	}
}
