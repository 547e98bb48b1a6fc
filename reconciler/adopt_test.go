package reconciler_test

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// tenantScenario is a target owned by tenant team-a (so it may not adopt
// by default) that declares Namespace other, which exists unlabelled with a
// ConfigMap in it, as another team's namespace would.
func tenantScenario(t *testing.T, targetExtra string, opts ...reconciler.Option) (*scenario, string) {
	t.Helper()
	s := newScenarioFull(t, targetExtra, "", nil, opts...)
	other := s.ns + "-b"
	s.setup.Top = fmt.Sprintf(`tenants:
  - name: team-a
    targets: [%s]
    namespaces: [%s, %s, %s-own]
    clusterKinds: [Namespace]
    createNamespaces: true`, s.ns, s.ns, other, s.ns)
	s.rec = s.another(opts...)
	s.kubectlAll("create", "namespace", other)
	s.kubectlAll("create", "configmap", "-n", other, "their-data", "--from-literal=owner=team-b")
	s.commit(map[string]string{
		"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + other + "\n",
		"cm.yaml": configMap("settings", "a"),
	}, "declare team-b's namespace")
	return s, other
}

// kubectlAll runs kubectl without the scenario's namespace.
func (s *scenario) kubectlAll(args ...string) string {
	s.t.Helper()
	out, err := exec.CommandContext(s.t.Context(), "kubectl", append([]string{"--kubeconfig", s.env.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (s *scenario) namespaceLabel(name string) string {
	s.t.Helper()
	return s.kubectlAll("get", "namespace", name, "-o", `jsonpath={.metadata.labels.trueup\.dev/target}`)
}

// wantAdoptionRefused checks a reconcile refused at stage adopt, naming
// the namespace, who has it and both fixes, and applied nothing.
func wantAdoptionRefused(t *testing.T, s *scenario, out *reconciler.Outcome, other string) {
	t.Helper()
	if out.Err == nil || out.FailedStage() != reconciler.StageAdopt {
		t.Fatalf("want a failure at stage adopt, got %s (stage %q) %v", out.Action, out.FailedStage(), out.Err)
	}
	for _, want := range []string{
		"Namespace//" + other, "no trueup label",
		"kubectl annotate namespace " + other + " trueup.dev/adopt=" + s.ns,
		"targets[0].adopt: true", "nothing applied",
	} {
		if !strings.Contains(out.Error(), want) {
			t.Errorf("error does not say %q:\n%s", want, out.Error())
		}
	}
	if strings.Count(out.Error(), `target "`) != 1 || !errors.Is(out.Err, kube.ErrNotAdopted) || reconciler.IsRetryable(out.Err) {
		t.Errorf("error names the target more than once, or is not a terminal ErrNotAdopted:\n%s", out.Error())
	}
	if out.Apply != nil {
		t.Errorf("something was applied: %s", out.Apply.Summary())
	}
	if s.exists("configmap", "settings") {
		t.Error("configmap settings applied although the target was refused")
	}
	if got := s.namespaceLabel(other); got != "" {
		t.Errorf("namespace %s labelled %q: taken over", other, got)
	}
	if s.existsAll("configmap", "trueup-system", kube.InventoryName(s.ns)) {
		t.Error("inventory written although nothing was applied")
	}
}

func (s *scenario) existsAll(kind, ns, name string) bool {
	return exec.CommandContext(s.t.Context(), "kubectl", "--kubeconfig", s.env.Kubeconfig, "-n", ns, "get", kind, name).Run() == nil
}

// The fault of issue 15: a team's repository declared another team's
// existing Namespace, trueup took it over, and when the team removed it
// from Git, prune deleted it with everything in it.
func TestAdoptNamespaceThenPruneDeletesNothing(t *testing.T) {
	s, other := tenantScenario(t, "prune: {enabled: true}")

	t.Run("refused at plan: nothing applied", func(t *testing.T) {
		out := s.reconcile(reconciler.TriggerInterval)
		wantAdoptionRefused(t, s, out, other)
		t.Log(out.Error())
	})

	t.Run("a dry run says the same", func(t *testing.T) {
		out := s.rec.Reconcile(t.Context(), s.ns, reconciler.TriggerManual, reconciler.ReconcileOptions{DryRun: true})
		wantAdoptionRefused(t, s, out, other)
	})

	t.Run("annotated for the target, it is taken over", func(t *testing.T) {
		s.kubectlAll("annotate", "namespace", other, "trueup.dev/adopt="+s.ns)
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		if got := s.namespaceLabel(other); got != s.ns {
			t.Fatalf("namespace labelled %q, want %q", got, s.ns)
		}
		if !s.exists("configmap", "settings") {
			t.Fatal("configmap settings not applied")
		}
	})

	t.Run("removed from Git, prune keeps it and what is in it", func(t *testing.T) {
		s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "drop team-b's namespace")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		var msg string
		for _, e := range out.Apply.Entries {
			if e.Ref.Kind == "Namespace" && e.Ref.Name == other {
				msg = string(e.Action) + ": " + e.Message
			}
		}
		if !strings.Contains(msg, "skipped: not deleted: trueup did not create this namespace") || !strings.Contains(msg, "delete it by hand") {
			t.Errorf("the outcome does not say why the namespace stays: %q", msg)
		}
		if !s.existsAll("namespace", "", other) || s.kubectlAll("get", "namespace", other, "-o", "jsonpath={.metadata.deletionTimestamp}") != "" {
			t.Fatal("team-b's namespace deleted")
		}
		if !s.existsAll("configmap", other, "their-data") {
			t.Fatal("team-b's configmap deleted")
		}
		if got := s.namespaceLabel(other); got != "" {
			t.Errorf("released namespace still labelled %q", got)
		}
	})

	t.Run("later reconciles leave it alone", func(t *testing.T) {
		s.commit(map[string]string{"cm.yaml": configMap("settings", "b")}, "next")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		if o := findObject(out.Report, "Namespace", other); o != nil {
			t.Errorf("namespace still in the report: %+v", o)
		}
		if !s.existsAll("namespace", "", other) {
			t.Fatal("team-b's namespace deleted")
		}
	})
}

// adopt: true on the target takes over an unlabelled object without the
// annotation; another target's object is never taken over.
func TestAdoptTrueTakesOverUnlabelledOnly(t *testing.T) {
	s, other := tenantScenario(t, "adopt: true\nprune: {enabled: true}")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	if got := s.namespaceLabel(other); got != s.ns {
		t.Fatalf("namespace labelled %q, want %q", got, s.ns)
	}

	s.kubectlAll("label", "--overwrite", "namespace", other, "trueup.dev/target=someone-else")
	s.commit(map[string]string{"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + other + "\n", "cm.yaml": configMap("settings", "b")}, "next")
	out := s.reconcile(reconciler.TriggerInterval)
	if out.FailedStage() != reconciler.StageAdopt || !strings.Contains(out.Error(), "labelled trueup.dev/target=someone-else") {
		t.Fatalf("want a refusal naming the other target, got %s %v", out.Action, out.Err)
	}
	if got := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "a" {
		t.Errorf("settings mode %q: the refused revision was applied", got)
	}
}

// With the daemon's watch, the cache holds only labelled objects, so an
// unlabelled Namespace reads as missing there: the guard must still see it.
func TestAdoptionRefusedFromTheWatchCache(t *testing.T) {
	outcomes := make(chan *reconciler.Outcome, 16)
	s, other := tenantScenario(t, "", reconciler.WithObserver(func(o *reconciler.Outcome) { outcomes <- o }))
	nsDoc := func(name string) string { return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n" }
	// A first revision the target may apply, so Namespaces and ConfigMaps
	// are watched.
	s.commit(map[string]string{"ns.yaml": nsDoc(s.ns + "-own"), "cm.yaml": configMap("settings", "a")}, "own namespace")
	s.run(t)
	next := func() *reconciler.Outcome {
		t.Helper()
		select {
		case o := <-outcomes:
			return o
		case <-time.After(2 * time.Minute):
			t.Fatalf("no reconcile\n%s", s.logs.String())
			return nil
		}
	}
	mustAction(t, next(), reconciler.ActionApplied)

	s.commit(map[string]string{"ns.yaml": nsDoc(s.ns+"-own") + "---\n" + nsDoc(other), "cm.yaml": configMap("settings", "b")}, "declare team-b's namespace")
	s.rec.TriggerPush([]string{s.repo.URL()}, "refs/heads/main")
	out := next()
	if o := findObject(out.Report, "Namespace", other); o == nil || o.Status != drift.Missing {
		t.Fatalf("namespace not read from the watch cache (report %+v): the test does not cover the cache", o)
	}
	if out.FailedStage() != reconciler.StageAdopt || !strings.Contains(out.Error(), "Namespace//"+other) {
		t.Fatalf("want a refusal at stage adopt, got %s %v", out.Action, out.Err)
	}
	if got := s.namespaceLabel(other); got != "" {
		t.Errorf("namespace %s labelled %q: taken over", other, got)
	}
	if got := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "a" {
		t.Errorf("settings mode %q: the refused revision was applied", got)
	}
}
