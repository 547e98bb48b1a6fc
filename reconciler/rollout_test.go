package reconciler_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// markDeploymentHealthy writes the status a deployment controller would
// write once every replica is available (envtest runs no controllers, so a
// Deployment never becomes healthy on its own).
func (s *scenario) markDeploymentHealthy(name string, replicas int) {
	s.t.Helper()
	gen := s.kubectl("get", "deployment", name, "-o", "jsonpath={.metadata.generation}")
	status := fmt.Sprintf(`{"status":{"observedGeneration":%s,"replicas":%d,"updatedReplicas":%[2]d,"readyReplicas":%[2]d,"availableReplicas":%[2]d,`+
		`"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable"},`+
		`{"type":"Progressing","status":"True","reason":"NewReplicaSetAvailable"}]}}`, gen, replicas)
	s.kubectl("patch", "deployment", name, "--subresource=status", "--type=merge", "-p", status)
}

// inventory reads the target's inventory from the cluster.
func (s *scenario) inventory() kube.Inventory {
	s.t.Helper()
	plan, err := s.rec.Plan(s.t.Context(), s.ns)
	if err != nil {
		s.t.Fatalf("plan: %v", err)
	}
	return plan.Inventory
}

// A rollout whose health wait fails must not be recorded as applied: the
// next reconcile re-checks its health (and fails again) instead of reporting
// the target in sync, and the prune its commit implies runs only once the
// objects are healthy.
func TestFailedRolloutIsNotReportedInSync(t *testing.T) {
	s := newScenario(t, "wait: true\ntimeout: 3s\nprune: {enabled: true}")
	s.commit(map[string]string{"old.yaml": configMap("old", "x")}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	first := s.inventory().Revision

	// The second commit adds a Deployment that never becomes ready and drops
	// the ConfigMap "old".
	s.commit(map[string]string{"deploy.yaml": deployment}, "add web, drop old")
	wantUnhealthy := func(what string, out *reconciler.Outcome) {
		t.Helper()
		if !errors.Is(out.Err, kube.ErrUnhealthy) || out.Action != reconciler.ActionFailed {
			t.Fatalf("%s: action %s, err %v; want failed with an unhealthy error", what, out.Action, out.Err)
		}
		if !s.exists("configmap", "old") {
			t.Fatalf("%s: configmap old pruned although the rollout is not healthy", what)
		}
		inv := s.inventory()
		if inv.Revision != first || inv.Attempted != out.Revision.Commit || inv.Attempted == first {
			t.Fatalf("%s: inventory revision %q attempted %q; want revision %q (last healthy) and attempted %q",
				what, inv.Revision, inv.Attempted, first, out.Revision.Commit)
		}
		var names []string
		for _, r := range inv.Objects {
			names = append(names, r.Name)
		}
		if got := strings.Join(names, ","); got != "old,web" {
			t.Fatalf("%s: inventory lists %s, want old,web (everything applied)", what, got)
		}
	}
	wantUnhealthy("first attempt", s.reconcile(reconciler.TriggerInterval))
	wantUnhealthy("next reconcile", s.reconcile(reconciler.TriggerInterval))

	s.markDeploymentHealthy("web", 2)
	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	if s.exists("configmap", "old") {
		t.Fatal("configmap old not pruned once the rollout became healthy")
	}
	if inv := s.inventory(); inv.Revision != out.Revision.Commit || inv.Attempted != "" {
		t.Fatalf("inventory revision %q attempted %q; want %q and no attempt", inv.Revision, inv.Attempted, out.Revision.Commit)
	}
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionInSync)
}
