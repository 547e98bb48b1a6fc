package reconciler_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/policies"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
)

// events keeps what the reconciler published.
type events struct {
	mu  sync.Mutex
	evs []notifications.Event
}

func (e *events) Publish(ev notifications.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

// take returns and forgets the events of a kind.
func (e *events) take(kind notifications.Kind) []notifications.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out, rest []notifications.Event
	for _, ev := range e.evs {
		if ev.Kind == kind {
			out = append(out, ev)
		} else {
			rest = append(rest, ev)
		}
	}
	e.evs = rest
	return out
}

// policyDir writes the starter library and one policy with a CEL syntax
// error into a folder.
func policyDir(t *testing.T) string {
	t.Helper()
	dir := policies.WriteDir(t)
	broken := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: broken
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE", "UPDATE"]}
  validations:
    - expression: "object.data.size( > 0"
`
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const (
	compliantDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {owner: team-web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
          resources: {limits: {cpu: 100m, memory: 64Mi}}
`
	privilegedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: priv
  labels: {owner: team-web}
spec:
  replicas: 1
  selector: {matchLabels: {app: priv}}
  template:
    metadata: {labels: {app: priv}}
    spec:
      containers:
        - name: priv
          image: registry.example.com/priv:1.0.0
          resources: {limits: {cpu: 100m, memory: 64Mi}}
          securityContext: {privileged: true}
`
	noLimitsDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nolimits
  labels: {owner: team-web}
spec:
  replicas: 1
  selector: {matchLabels: {app: nolimits}}
  template:
    metadata: {labels: {app: nolimits}}
    spec:
      containers:
        - name: nolimits
          image: registry.example.com/nolimits:1.0.0
`
)

// TestPoliciesGuardAndWatchCompliance: an enforced policy keeps a
// privileged Deployment out while its compliant neighbours apply; a warn
// policy applies and alerts; a live change that violates a policy raises
// one alert and reverting it resolves it; a policy with a CEL syntax error
// is reported with its file and position and the others keep working.
func TestPoliciesGuardAndWatchCompliance(t *testing.T) {
	pub := &events{}
	s := newScenarioFull(t, "prune: {enabled: true}", "policies:\n  - dir: "+policyDir(t), nil, reconciler.WithPublisher(pub))
	s.commit(map[string]string{"web.yaml": compliantDeployment, "priv.yaml": privilegedDeployment, "nolimits.yaml": noLimitsDeployment}, "three deployments")

	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	if !s.exists("deployment", "web") || !s.exists("deployment", "nolimits") || s.exists("deployment", "priv") {
		t.Fatalf("want web and nolimits applied and priv kept out; apply: %+v", out.Apply.Entries)
	}
	if len(out.Blocked) != 1 || out.Blocked[0].Policy != "no-privileged-containers" || out.Blocked[0].Object.Name != "priv" {
		t.Fatalf("blocked = %+v, want priv by no-privileged-containers", out.Blocked)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "policy not loaded") || !strings.Contains(logs, "broken.yaml") || !strings.Contains(logs, "spec.validations[0].expression") {
		t.Errorf("the broken policy is not reported with its file and field:\n%s", logs)
	}
	opened := pub.take(notifications.KindComplianceViolation)
	var names []string
	for _, ev := range opened {
		names = append(names, ev.Policy+" "+ev.Object)
	}
	slices.Sort(names)
	want := []string{
		"no-privileged-containers Deployment.apps/" + s.ns + "/priv",
		"require-resource-limits Deployment.apps/" + s.ns + "/nolimits",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("compliance alerts = %v, want %v", names, want)
	}

	// Nothing changed: no new alert.
	s.reconcile(reconciler.TriggerInterval)
	if again := pub.take(notifications.KindComplianceViolation); len(again) != 0 {
		t.Fatalf("an unchanged violation alerted again: %+v", again)
	}

	// Someone makes web privileged by hand: Git does not set the field, so
	// it is not drift, but it is a compliance finding on live state.
	s.kubectl("patch", "deployment", "web", "--type=json", "-p",
		`[{"op":"add","path":"/spec/template/spec/containers/0/securityContext","value":{"privileged":true}}]`)
	out = s.reconcile(reconciler.TriggerInterval)
	live := pub.take(notifications.KindComplianceViolation)
	if len(live) != 1 || live[0].Policy != "no-privileged-containers" || !strings.HasSuffix(live[0].Object, "/web") || live[0].Severity != notifications.SeverityCritical {
		t.Fatalf("live violation alerts = %+v (action %s)", live, out.Action)
	}
	s.kubectl("patch", "deployment", "web", "--type=json", "-p", `[{"op":"remove","path":"/spec/template/spec/containers/0/securityContext"}]`)
	s.reconcile(reconciler.TriggerInterval)
	resolved := pub.take(notifications.KindComplianceResolved)
	if len(resolved) != 1 || resolved[0].Episode != live[0].Episode {
		t.Fatalf("resolved alerts = %+v, want the web episode %s", resolved, live[0].Episode)
	}

	// Git fixes priv: it applies and its violation resolves.
	s.commit(map[string]string{"web.yaml": compliantDeployment, "priv.yaml": strings.Replace(privilegedDeployment, "privileged: true", "privileged: false", 1),
		"nolimits.yaml": noLimitsDeployment}, "priv no longer privileged")
	out = s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	if !s.exists("deployment", "priv") || len(out.Blocked) != 0 {
		t.Fatalf("priv not applied after the fix: blocked %+v", out.Blocked)
	}
	if r := pub.take(notifications.KindComplianceResolved); len(r) != 1 || !strings.HasSuffix(r[0].Object, "/priv") {
		t.Fatalf("resolved alerts after the fix = %+v", r)
	}
}

// TestBlockTargetAppliesNothing: with onViolation: block-target one
// violating object stops the whole apply.
func TestBlockTargetAppliesNothing(t *testing.T) {
	s := newScenarioFull(t, "policies: {onViolation: block-target}", "policies:\n  - dir: "+policyDir(t), nil)
	s.commit(map[string]string{"web.yaml": compliantDeployment, "priv.yaml": privilegedDeployment}, "one bad apple")
	out := s.reconcile(reconciler.TriggerInterval)
	if out.Err == nil || out.FailedStage() != reconciler.StagePolicy || !strings.Contains(out.Error(), "no-privileged-containers") {
		t.Fatalf("outcome %s, %v; want a policy failure naming the policy", out.Action, out.Err)
	}
	if s.exists("deployment", "web") || s.exists("deployment", "priv") {
		t.Fatal("a blocked target applied objects")
	}
}

// TestPolicySourceReadsOnlyItsPath: a policy source in Git is its path, not
// the repository: a ValidatingAdmissionPolicy elsewhere (another folder, a
// folder whose name only starts like the path) is not a policy.
func TestPolicySourceReadsOnlyItsPath(t *testing.T) {
	s := newScenarioFull(t, "", "policies:\n  - source: repo\n    path: guard", nil)
	decoy := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: %s
  annotations: {policy.trueup.dev/severity: critical, policy.trueup.dev/action: enforce}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE", "UPDATE"]}
  validations:
    - expression: "false"
      message: a decoy outside the policy path
`
	s.repo.Commit(t, map[string]gitrepo.Entry{
		"guard/no-privileged-containers.yaml": gitrepo.File(string(policies.Files()["no-privileged-containers.yaml"])),
		"elsewhere/decoy.yaml":                gitrepo.File(fmt.Sprintf(decoy, "decoy-elsewhere")),
		"guard-old/decoy.yaml":                gitrepo.File(fmt.Sprintf(decoy, "decoy-guard-old")),
		// Larger than a file may be (4Mi), outside the policy path: never read.
		"docs/diagram.png": gitrepo.File(strings.Repeat("\x89PNG", 5<<20/4+1)),
		"app/priv.yaml":    gitrepo.File(privilegedDeployment),
		"app/cm.yaml":      gitrepo.File(configMap("settings", "a")),
	}, gitrepo.CommitOptions{Message: "policies, decoys and an app"})

	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	if len(out.Blocked) != 1 || out.Blocked[0].Policy != "no-privileged-containers" {
		t.Fatalf("blocked = %+v, want priv by the configured no-privileged-containers only", out.Blocked)
	}
	if !s.exists("configmap", "settings") || s.exists("deployment", "priv") {
		t.Fatalf("want the ConfigMap applied (no decoy loaded) and priv kept out; apply: %+v", out.Apply.Entries)
	}
	if logs := s.logs.String(); strings.Contains(logs, "decoy") {
		t.Fatalf("a decoy outside the policy path was read:\n%s", logs)
	}
}

// TestUnreadablePolicySourceAppliesNothing: the config names a policy
// source whose path is not in Git (a typo, a moved folder). No policy was
// ever read, so the target must not apply unguarded: it fails at stage
// policy, saying what to fix, and the privileged Deployment stays out.
func TestUnreadablePolicySourceAppliesNothing(t *testing.T) {
	s := newScenarioFull(t, "", "policies:\n  - source: repo\n    path: guard", nil)
	s.repo.Commit(t, map[string]gitrepo.Entry{
		"app/priv.yaml": gitrepo.File(privilegedDeployment),
	}, gitrepo.CommitOptions{Message: "an app, no policy folder"})
	out := s.reconcile(reconciler.TriggerInterval)
	if out.Err == nil || out.FailedStage() != reconciler.StagePolicy || !strings.Contains(out.Error(), "nothing is applied without the policies") {
		t.Fatalf("reconcile with an unreadable policy source: action %s, stage %q, error %v; want a policy failure", out.Action, out.FailedStage(), out.Err)
	}
	if s.exists("deployment", "priv") {
		t.Fatal("the Deployment was applied without the policies")
	}
}
