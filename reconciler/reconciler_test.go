package reconciler_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/sources/git"
)

func TestMain(m *testing.M) { kubeenv.Main(m) }

// scenario is one target on the shared control plane, fed by a Git repo the
// test commits to.
type scenario struct {
	t    *testing.T
	env  *kubeenv.Env
	ns   string
	repo *gitrepo.Repo
	rec  *reconciler.Reconciler
	logs *syncBuffer
	// another builds one more reconciler of the same config, as a second
	// process (the CLI beside the daemon) would.
	another func(opts ...reconciler.Option) *reconciler.Reconciler
	// setup rebuilds the reconciler (a restart).
	setup scenarioSetup
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newScenario makes a repo and a reconciler whose one target, "app", has
// the given extra YAML lines (prune, remediation, ignore ...).
func newScenario(t *testing.T, targetExtra string) *scenario {
	t.Helper()
	return newScenarioWith(t, targetExtra, nil)
}

// newScenarioWith lets the test wrap the cluster client's transport.
func newScenarioWith(t *testing.T, targetExtra string, wrap func(http.RoundTripper) http.RoundTripper) *scenario {
	t.Helper()
	return newScenarioFull(t, targetExtra, "", wrap)
}

// newScenarioFull also adds top-level config (policies, ...) and reconciler
// options.
func newScenarioFull(t *testing.T, targetExtra, top string, wrap func(http.RoundTripper) http.RoundTripper, opts ...reconciler.Option) *scenario {
	t.Helper()
	env := kubeenv.Shared(t)
	s := &scenario{t: t, env: env, ns: env.Namespace(t), logs: &syncBuffer{}}
	dir := t.TempDir()
	s.repo = gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	s.setup = scenarioSetup{Dir: dir, RepoURL: s.repo.URL(), Kubeconfig: env.Kubeconfig, Namespace: s.ns, TargetExtra: targetExtra, Top: top}
	s.another = func(opts ...reconciler.Option) *reconciler.Reconciler {
		t.Helper()
		return newReconciler(t, s.setup, env.Config, wrap, s.logs, opts...)
	}
	s.rec = s.another(opts...)
	return s
}

// scenarioSetup is what a reconciler of a scenario is built from; a test
// that restarts it (or hands it to a helper process) builds it again.
type scenarioSetup struct {
	Dir, RepoURL, Kubeconfig, Namespace string
	TargetExtra, Top                    string
	// MoreNamespaces get a target each, like the first one.
	MoreNamespaces []string
}

// newReconciler builds the reconciler of a scenario: one target named
// after the namespace, its data in setup.Dir/data.
func newReconciler(t *testing.T, setup scenarioSetup, base *rest.Config, wrap func(http.RoundTripper) http.RoundTripper, logs io.Writer, opts ...reconciler.Option) *reconciler.Reconciler {
	t.Helper()
	dir := setup.Dir
	targetExtra := setup.TargetExtra
	// timeout and wait default to 30s and false unless targetExtra sets them.
	for _, d := range []string{"timeout: 30s", "wait: false"} {
		if key := d[:strings.Index(d, ":")+1]; !strings.HasPrefix(targetExtra, key) && !strings.Contains(targetExtra, "\n"+key) {
			targetExtra = d + "\n" + targetExtra
		}
	}
	target := strings.ReplaceAll(strings.TrimSpace(targetExtra), "\n", "\n    ")
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
  - name: %s
    source: repo
    path: app
    cluster: test
    namespace: %s
    %s
%s
`, filepath.Join(dir, "data"), setup.RepoURL, setup.Kubeconfig, setup.Namespace, setup.Namespace, target, setup.Top)
	if strings.Contains(targetExtra, "render:") {
		yaml = strings.Replace(yaml, "    path: app\n", "", 1) // the chart folder is render.helm.chart
	}
	for _, ns := range setup.MoreNamespaces {
		yaml = strings.Replace(yaml, "targets:\n", fmt.Sprintf("targets:\n  - {name: %s, source: repo, path: app, cluster: test, namespace: %s, timeout: 30s, wait: false}\n", ns, ns), 1)
	}
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	srcs := map[string]git.Source{"repo": {Name: "repo", URL: setup.RepoURL, Ref: git.RefSpec{Branch: "main"}}}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "data", "sources")), srcs)
	restCfg := rest.CopyConfig(base)
	restCfg.WrapTransport = wrap
	cluster, err := kube.NewCluster("test", restCfg)
	if err != nil {
		t.Fatal(err)
	}
	dests := map[string]*reconciler.Destination{"test": reconciler.NewDestination(cluster, "trueup-system")}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := reconciler.New(cfg, loader, dests, append([]reconciler.Option{reconciler.WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// commit writes files under app/ as the next commit on main.
func (s *scenario) commit(files map[string]string, msg string) {
	s.t.Helper()
	entries := map[string]gitrepo.Entry{}
	for p, c := range files {
		entries["app/"+p] = gitrepo.File(c)
	}
	if len(files) == 0 {
		entries["README.md"] = gitrepo.File("nothing here")
	}
	s.repo.Commit(s.t, entries, gitrepo.CommitOptions{Message: msg})
}

func (s *scenario) reconcile(trigger reconciler.Trigger) *reconciler.Outcome {
	s.t.Helper()
	out := s.rec.Reconcile(s.t.Context(), s.ns, trigger, reconciler.ReconcileOptions{})
	return out
}

func (s *scenario) kubectl(args ...string) string {
	s.t.Helper()
	cmd := exec.CommandContext(s.t.Context(), "kubectl", append([]string{"--kubeconfig", s.env.Kubeconfig, "-n", s.ns}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *scenario) exists(kind, name string) bool {
	cmd := exec.CommandContext(s.t.Context(), "kubectl", "--kubeconfig", s.env.Kubeconfig, "-n", s.ns, "get", kind, name)
	return cmd.Run() == nil
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0.0
`

func configMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  mode: %q\n", name, value)
}

const secret = `apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: hunter2-from-git
`

func mustAction(t *testing.T, out *reconciler.Outcome, want reconciler.Action) {
	t.Helper()
	if out.Err != nil {
		t.Fatalf("reconcile failed: %v", out.Err)
	}
	if out.Action != want {
		t.Fatalf("action %s, want %s (report %+v)", out.Action, want, out.Report.Counts())
	}
}

func findObject(rep drift.Report, kind, name string) *drift.ObjectReport {
	for i, o := range rep.Objects {
		if o.Ref.Kind == kind && o.Ref.Name == name {
			return &rep.Objects[i]
		}
	}
	return nil
}

// waitFor polls cond until it holds or 15 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestLifecycle(t *testing.T) {
	s := newScenario(t, "prune: {enabled: true}\nremediation: {drift: heal}")

	t.Run("first commit is applied", func(t *testing.T) {
		s.commit(map[string]string{"deploy.yaml": deployment, "cm.yaml": configMap("settings", "a"), "old.yaml": configMap("old", "x")}, "first")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		if c := out.Apply.Counts(); c[kube.ActionCreated] != 3 {
			t.Fatalf("want 3 created, got %v", out.Apply.Summary())
		}
		labels := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.metadata.labels.trueup\\.dev/target}")
		if labels != s.ns {
			t.Fatalf("target label %q, want %q", labels, s.ns)
		}
	})

	t.Run("unchanged revision is a no-op", func(t *testing.T) {
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionInSync)
		if out.Apply != nil {
			t.Fatalf("no-op reconcile applied: %s", out.Apply.Summary())
		}
	})

	t.Run("changed field is configured, removed object pruned", func(t *testing.T) {
		s.commit(map[string]string{"deploy.yaml": deployment, "cm.yaml": configMap("settings", "b")}, "second")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		c := out.Apply.Counts()
		if c[kube.ActionConfigured] != 1 || c[kube.ActionDeleted] != 1 {
			t.Fatalf("want 1 configured and 1 deleted, got %s", out.Apply.Summary())
		}
		if s.exists("configmap", "old") {
			t.Fatal("configmap old was not pruned")
		}
	})

	t.Run("live drift is reported with its actor and healed", func(t *testing.T) {
		s.kubectl("scale", "deployment", "web", "--replicas=5")
		plan, err := s.rec.Plan(t.Context(), s.ns)
		if err != nil {
			t.Fatal(err)
		}
		o := findObject(plan.Report, "Deployment", "web")
		if o == nil || o.Status != drift.Drifted || len(o.Fields) != 1 || o.Fields[0].Path != "/spec/replicas" {
			t.Fatalf("want /spec/replicas drifted, got %+v", o)
		}
		if o.Fields[0].Actor == nil || !strings.HasPrefix(o.Fields[0].Actor.Manager, "kubectl") {
			t.Fatalf("want a kubectl actor, got %+v", o.Fields[0].Actor)
		}
		if o.Origin != "app/deploy.yaml" {
			t.Fatalf("origin %q", o.Origin)
		}
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionHealed)
		if got := s.kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
			t.Fatalf("replicas %s after heal, want 2", got)
		}
	})

	t.Run("missing path is a source error and prunes nothing", func(t *testing.T) {
		s.commit(nil, "oops, the app folder is gone")
		out := s.reconcile(reconciler.TriggerInterval)
		if out.Err == nil || out.FailedStage() != reconciler.StageSource || out.Apply != nil {
			t.Fatalf("want a source failure and no apply, got %s %v", out.Action, out.Err)
		}
		if !s.exists("deployment", "web") || !s.exists("configmap", "settings") {
			t.Fatal("objects deleted after a source failure")
		}
	})

	t.Run("empty render prunes nothing and says why", func(t *testing.T) {
		s.commit(map[string]string{"README.md": "no manifests"}, "oops, everything deleted")
		out := s.reconcile(reconciler.TriggerInterval)
		if out.Err != nil {
			t.Fatalf("reconcile: %v", out.Err)
		}
		if !strings.Contains(out.PruneBlocked, "empty") {
			t.Fatalf("want a prune blocked for the empty render, got %q", out.PruneBlocked)
		}
		if !s.exists("deployment", "web") || !s.exists("configmap", "settings") {
			t.Fatal("objects deleted on an empty render")
		}
	})
}

func TestAlertModeLeavesDriftAndMasksSecrets(t *testing.T) {
	s := newScenario(t, "remediation: {drift: alert}")
	s.commit(map[string]string{"secret.yaml": secret, "cm.yaml": configMap("settings", "a")}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)

	s.kubectl("patch", "secret", "creds", "-p", `{"stringData":{"password":"hunter3-live-edit"}}`)
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"z"}}`)
	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionDetected)

	sec := findObject(out.Report, "Secret", "creds")
	if sec == nil || sec.Status != drift.Drifted || !sec.Fields[0].Masked {
		t.Fatalf("want masked secret drift, got %+v", sec)
	}
	cm := findObject(out.Report, "ConfigMap", "settings")
	if cm == nil || cm.Fields[0].Live != "z" || cm.Fields[0].Desired != "a" {
		t.Fatalf("want /data/mode z -> a, got %+v", cm)
	}
	if got := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "z" {
		t.Fatalf("alert mode changed the object: mode %s", got)
	}
	report, _ := json.Marshal(out)
	for _, leak := range []string{"hunter2", "hunter3", "aHVudGVy"} {
		if strings.Contains(string(report), leak) || strings.Contains(s.logs.String(), leak) {
			t.Fatalf("secret value %q leaked into the outcome or logs", leak)
		}
	}
}

func TestIgnoreRuleKeepsScaledReplicas(t *testing.T) {
	s := newScenario(t, "ignore:\n  - paths: [/spec/replicas]\n    select: {kind: Deployment}")
	s.commit(map[string]string{"deploy.yaml": deployment}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	s.kubectl("scale", "deployment", "web", "--replicas=7")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionInSync)
	if got := s.kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "7" {
		t.Fatalf("replicas %s, want the HPA-style 7 kept", got)
	}
}

func TestMaxPruneBlocksMassDeletion(t *testing.T) {
	s := newScenario(t, "prune: {enabled: true, max: 1}")
	files := map[string]string{}
	for i := range 4 {
		files[fmt.Sprintf("cm%d.yaml", i)] = configMap(fmt.Sprintf("cm%d", i), "v")
	}
	s.commit(files, "four configmaps")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	s.commit(map[string]string{"cm0.yaml": files["cm0.yaml"]}, "drop three")
	out := s.reconcile(reconciler.TriggerInterval)
	if out.PruneBlocked == "" {
		t.Fatalf("want prune blocked by max, got %s", out.Apply.Summary())
	}
	for i := range 4 {
		if !s.exists("configmap", fmt.Sprintf("cm%d", i)) {
			t.Fatalf("cm%d deleted despite prune.max", i)
		}
	}
	plan, err := s.rec.Plan(t.Context(), s.ns)
	if err != nil {
		t.Fatal(err)
	}
	if n := plan.Report.Counts()[drift.PendingPrune]; n != 3 {
		t.Fatalf("want 3 pending prune, got %d", n)
	}
}

func TestWatchDetectsEditWithoutWaitingForInterval(t *testing.T) {
	s := newScenario(t, "interval: 1h\nremediation: {drift: heal}")
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.rec.Run(ctx, reconciler.DefaultRunOptions())
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the first apply", func() bool { return s.exists("configmap", "settings") })
	time.Sleep(500 * time.Millisecond) // let the watch start on the applied kinds
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"edited"}}`)
	waitFor(t, "the watch to heal the edit", func() bool {
		return s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}") == "a"
	})
	if !strings.Contains(s.logs.String(), `"trigger":"watch"`) {
		t.Fatalf("heal was not triggered by the watch:\n%s", s.logs.String())
	}
}

func TestManualApplyWaitsForTheCLI(t *testing.T) {
	s := newScenario(t, "remediation: {apply: manual}")
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionPending)
	if s.exists("configmap", "settings") {
		t.Fatal("manual target applied without a manual trigger")
	}
	if c := out.Report.Counts()[drift.Missing]; c != 1 {
		t.Fatalf("the pending change is not reported: %v", out.Report.Counts())
	}
	mustAction(t, s.reconcile(reconciler.TriggerManual), reconciler.ActionApplied)
	if !s.exists("configmap", "settings") {
		t.Fatal("manual apply did not create the object")
	}
}

func TestBrokenCommitIsARenderFailure(t *testing.T) {
	good := newScenario(t, "")
	good.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	broken := newScenario(t, "")
	broken.commit(map[string]string{"cm.yaml": "kind: ConfigMap\nmetadata: {name: [not, a, string]}\n"}, "broken yaml")
	if out := broken.reconcile(reconciler.TriggerInterval); out.Err == nil || out.FailedStage() != reconciler.StageRender {
		t.Fatalf("want a render failure, got %s %v", out.Action, out.Err)
	}
	mustAction(t, good.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
}

// An apply error about a Secret (here: changing an immutable Secret) must
// not carry its value into the outcome or the logs.
func TestSecretApplyErrorLeaksNoValue(t *testing.T) {
	s := newScenario(t, "")
	immutable := func(v string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: frozen\nimmutable: true\nstringData:\n  token: " + v + "\n"
	}
	s.commit(map[string]string{"secret.yaml": immutable("first-value-s3cr3t")}, "first")
	mustAction(t, s.reconcile(reconciler.TriggerInterval), reconciler.ActionApplied)
	s.commit(map[string]string{"secret.yaml": immutable("second-value-s3cr3t")}, "rotate")
	out := s.reconcile(reconciler.TriggerInterval)
	if out.Err == nil {
		t.Fatal("changing an immutable Secret succeeded")
	}
	b, _ := json.Marshal(out)
	all := string(b) + out.Error() + s.logs.String()
	for _, leak := range []string{"value-s3cr3t", base64.StdEncoding.EncodeToString([]byte("first-value-s3cr3t")),
		base64.StdEncoding.EncodeToString([]byte("second-value-s3cr3t"))} {
		if strings.Contains(all, leak) {
			t.Fatalf("secret value leaked:\n%s", all)
		}
	}
}
