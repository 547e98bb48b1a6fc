package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources/git"
)

// crdScenario is two targets of one repo: <ns>-crds applies a
// CustomResourceDefinition (group <ns>.example.com, kind Widget, no status
// subresource, so Git may carry a status), <ns> the Widgets, in the
// namespace.
type crdScenario struct {
	t     *testing.T
	env   *kubeenv.Env
	ns    string
	group string
	repo  *gitrepo.Repo
	rec   *reconciler.Reconciler
	state *state.Store
	// build makes another reconciler of the config (another process), with
	// its own state store.
	build func(opts ...reconciler.Option) *reconciler.Reconciler
}

// widgetsExtra adds fields to the Widget target's flow mapping ({ns} is
// the namespace); top adds top-level config.
func newCRDScenario(t *testing.T, widgetsExtra, top string) *crdScenario {
	t.Helper()
	env := kubeenv.Shared(t)
	s := &crdScenario{t: t, env: env, ns: env.Namespace(t)}
	s.group = s.ns + ".example.com"
	dir := t.TempDir()
	s.repo = gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	yaml := fmt.Sprintf(`apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources:
  - name: repo
    url: %s
clusters:
  - name: test
    kubeconfig: {path: %s}
targets:
  - {name: %s-crds, source: repo, path: crds, cluster: test, timeout: 30s, interval: 1h}
  - {name: %s, source: repo, path: app, cluster: test, namespace: %s, timeout: 20s, interval: 1h%s}
%s`, filepath.Join(dir, "data"), s.repo.URL(), env.Kubeconfig, s.ns, s.ns, s.ns, strings.ReplaceAll(widgetsExtra, "{ns}", s.ns), strings.ReplaceAll(top, "{ns}", s.ns))
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	var opts []kube.Option
	hc, err := reconciler.HealthCheckOption(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if hc != nil {
		opts = append(opts, hc)
	}
	s.build = func(ropts ...reconciler.Option) *reconciler.Reconciler {
		t.Helper()
		srcs := map[string]git.Source{"repo": {Name: "repo", URL: s.repo.URL(), Ref: git.RefSpec{Branch: "main"}}}
		loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "data", "sources")), srcs)
		cluster, err := kube.NewCluster("test", env.Config, opts...)
		if err != nil {
			t.Fatal(err)
		}
		dests := map[string]*reconciler.Destination{"test": reconciler.NewDestination(cluster, "trueup-system")}
		r, err := reconciler.New(cfg, loader, dests, append([]reconciler.Option{reconciler.WithLogger(slog.New(slog.DiscardHandler))}, ropts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if s.state, err = state.New(); err != nil {
		t.Fatal(err)
	}
	s.rec = s.build(reconciler.WithState(s.state))
	t.Cleanup(func() {
		exec.Command("kubectl", "--kubeconfig", env.Kubeconfig, "delete", "crd", "widgets."+s.group, "--wait=false").Run()
	})
	return s
}

func (s *crdScenario) crd() string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`, s.group)
}

// widget is a Widget with a status (trueup compares specs, not statuses:
// a new status reaches the cluster with a new size).
func (s *crdScenario) widget(name string, size int, phase string) string {
	return fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata:\n  name: %s\nspec:\n  size: %d\nstatus:\n  phase: %s\n", s.group, name, size, phase)
}

func (s *crdScenario) commit(files map[string]string, msg string) {
	s.t.Helper()
	entries := map[string]gitrepo.Entry{}
	for p, c := range files {
		entries[p] = gitrepo.File(c)
	}
	s.repo.Commit(s.t, entries, gitrepo.CommitOptions{Message: msg})
}

func (s *crdScenario) widgetExists(name string) bool {
	return exec.Command("kubectl", "--kubeconfig", s.env.Kubeconfig, "-n", s.ns, "get", "widgets."+s.group, name).Run() == nil
}

// dependsOn orders a CRD target before the target of its custom
// resources: without the order the Widget target fails (its kind does not
// exist); with it, the Widget target waits (state waiting, naming the CRD
// target) and applies as soon as the CRD target is ready, woken by it, not
// at its next interval (an hour away).
func TestDependsOnAppliesTheCRDTargetFirst(t *testing.T) {
	s := newCRDScenario(t, ", wait: false, dependsOn: [{ns}-crds]", "")
	s.commit(map[string]string{"crds/widget.yaml": s.crd(), "app/widget.yaml": s.widget("w1", 3, "Ready")}, "widgets")

	t.Run("without the order the Widget target fails", func(t *testing.T) {
		out := s.rec.Reconcile(t.Context(), s.ns, reconciler.TriggerManual, reconciler.ReconcileOptions{IgnoreDependsOn: true})
		if out.Err == nil {
			t.Fatalf("the Widgets applied before their CRD: %s", out.Action)
		}
		if !strings.Contains(out.Err.Error(), "Widget") {
			t.Fatalf("error %v does not name the missing kind", out.Err)
		}
	})

	t.Run("the Widget target waits for the CRD target", func(t *testing.T) {
		out := s.rec.Reconcile(t.Context(), s.ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
		mustAction(t, out, reconciler.ActionWaiting)
		want := fmt.Sprintf("waiting for target %q (not reconciled yet)", s.ns+"-crds")
		if out.Held != want {
			t.Fatalf("held %q, want %q", out.Held, want)
		}
		st, err := s.state.Target(nil, s.ns)
		if err != nil || st == nil || st.Status != state.TargetWaiting || st.Held != want {
			t.Fatalf("state %+v (%v), want waiting: %s", st, err, want)
		}
	})

	t.Run("the CRD target's apply wakes the Widget target", func(t *testing.T) {
		mustAction(t, s.rec.Reconcile(t.Context(), s.ns+"-crds", reconciler.TriggerInterval, reconciler.ReconcileOptions{}), reconciler.ActionApplied)
		// The daemon's loops (interval 1h): the Widget target's runs on
		// the wake the CRD target's apply left it, before its first timer.
		done := make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			defer close(done)
			s.rec.Run(ctx, reconciler.RunOptions{ResyncPeriod: time.Hour})
		}()
		defer func() { cancel(); <-done }()
		var last *reconciler.Outcome
		deadline := time.Now().Add(90 * time.Second)
		for last == nil || last.Action == reconciler.ActionWaiting {
			if time.Now().After(deadline) {
				t.Fatalf("the Widget target did not reconcile again within 90s (interval 1h): %+v", last)
			}
			time.Sleep(100 * time.Millisecond)
			for _, o := range s.rec.Status() {
				if o.Target == s.ns {
					last = o
				}
			}
		}
		mustAction(t, last, reconciler.ActionApplied)
		if last.Trigger != reconciler.TriggerDependency {
			t.Fatalf("the Widget target ran on trigger %s, want %s", last.Trigger, reconciler.TriggerDependency)
		}
		if !s.widgetExists("w1") {
			t.Fatal("the Widget is not in the cluster")
		}
		if st, err := s.state.Target(nil, s.ns); err != nil || st == nil || st.Status != state.TargetReady {
			t.Fatalf("Widget target state %+v (%v), want ready", st, err)
		}
	})
}

// A CEL health check judges Widgets: a Widget whose status.phase is Ready
// is healthy; one whose phase is Broken fails the apply's health wait at
// once, as Failed (kstatus alone calls both Current: they have no
// conditions).
func TestHealthCheckCELJudgesCustomResources(t *testing.T) {
	s := newCRDScenario(t, ", wait: true, dependsOn: [{ns}-crds]", `healthChecks:
  - apiVersion: {ns}.example.com/v1
    kind: Widget
    current: "has(status.phase) && status.phase == 'Ready'"
    failed: "has(status.phase) && status.phase == 'Broken'"
`)
	s.commit(map[string]string{"crds/widget.yaml": s.crd(), "app/widget.yaml": s.widget("w1", 3, "Ready")}, "a ready widget")
	mustAction(t, s.rec.Reconcile(t.Context(), s.ns+"-crds", reconciler.TriggerInterval, reconciler.ReconcileOptions{}), reconciler.ActionApplied)

	t.Run("current", func(t *testing.T) {
		mustAction(t, s.rec.Reconcile(t.Context(), s.ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{}), reconciler.ActionApplied)
	})

	t.Run("in progress until current", func(t *testing.T) {
		s.commit(map[string]string{"app/widget.yaml": s.widget("w1", 5, "Starting")}, "a starting widget")
		patchedAt := make(chan time.Time, 1)
		go func() {
			// Once the Widget is live as Starting, its controller (this
			// goroutine) makes it Ready.
			for range 100 {
				out, _ := exec.Command("kubectl", "--kubeconfig", s.env.Kubeconfig, "-n", s.ns, "get", "widgets."+s.group, "w1", "-o", "jsonpath={.status.phase}").Output()
				if string(out) == "Starting" {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(time.Second)
			exec.Command("kubectl", "--kubeconfig", s.env.Kubeconfig, "-n", s.ns, "patch", "widgets."+s.group, "w1", "--type=merge", "-p", `{"status":{"phase":"Ready"}}`).Run()
			patchedAt <- time.Now()
		}()
		out := s.rec.Reconcile(t.Context(), s.ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
		returned := time.Now()
		mustAction(t, out, reconciler.ActionApplied)
		if patched := <-patchedAt; returned.Before(patched) {
			t.Fatal("the apply came out healthy before the Widget was Ready")
		}
	})

	t.Run("failed", func(t *testing.T) {
		s.commit(map[string]string{"app/widget.yaml": s.widget("w1", 4, "Broken")}, "a broken widget")
		out := s.rec.Reconcile(t.Context(), s.ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
		if out.Err == nil {
			t.Fatalf("a Broken Widget came out healthy: %s", out.Action)
		}
		if !errors.Is(out.Err, kube.ErrUnhealthy) || !strings.Contains(out.Err.Error(), "status: 'Failed'") || !strings.Contains(out.Err.Error(), "w1") {
			t.Fatalf("error %v: want the Widget unhealthy, Failed", out.Err)
		}
		if strings.Contains(out.Err.Error(), "timeout") {
			t.Fatalf("error %v: the failed expression should end the wait, not its timeout", out.Err)
		}
	})
}

// A dependency this process has not reconciled (another replica runs it, or
// the daemon restarted) is judged by its last reconcile in the history.
func TestDependsOnReadsTheHistoryOfAnotherProcess(t *testing.T) {
	s := newCRDScenario(t, ", wait: false, dependsOn: [{ns}-crds]", "")
	h := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	one, two := s.build(reconciler.WithHistory(h)), s.build(reconciler.WithHistory(h))
	s.commit(map[string]string{"crds/widget.yaml": s.crd(), "app/widget.yaml": s.widget("w1", 3, "Ready")}, "widgets")

	// A dry run of the CRD target is no reason to go ahead.
	dry := one.Reconcile(t.Context(), s.ns+"-crds", reconciler.TriggerInterval, reconciler.ReconcileOptions{DryRun: true})
	if dry.Err != nil {
		t.Fatal(dry.Err)
	}
	waitFor(t, "the dry run in the history", func() bool {
		recs, err := h.Query(t.Context(), history.Filter{Target: s.ns + "-crds"})
		return err == nil && len(recs) == 1
	})
	out := two.Reconcile(t.Context(), s.ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{})
	mustAction(t, out, reconciler.ActionWaiting)
	if want := fmt.Sprintf("waiting for target %q (not reconciled yet)", s.ns+"-crds"); out.Held != want {
		t.Fatalf("held %q, want %q", out.Held, want)
	}

	mustAction(t, one.Reconcile(t.Context(), s.ns+"-crds", reconciler.TriggerInterval, reconciler.ReconcileOptions{}), reconciler.ActionApplied)
	waitFor(t, "the CRD target's apply in the history", func() bool {
		recs, err := h.Query(t.Context(), history.Filter{Target: s.ns + "-crds", Types: []string{history.TypeReconcile}})
		return err == nil && len(recs) == 2
	})
	mustAction(t, two.Reconcile(t.Context(), s.ns, reconciler.TriggerInterval, reconciler.ReconcileOptions{}), reconciler.ActionApplied)
	if !s.widgetExists("w1") {
		t.Fatal("the Widget is not in the cluster")
	}
}
