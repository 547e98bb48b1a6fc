package reconciler_test

import (
	"context"
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
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/sources/git"
)

// A tenant's target acts through its ServiceAccount's destination, which
// shares the cluster's one watch: the daemon loop heals an edit of its
// object on the watch event, as the ServiceAccount.
func TestTenantTargetSharesTheClusterWatch(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	env.GrantServiceAccount(t, ns, "deployer", `[{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create, update, patch, delete]}]`)
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"app/cm.yaml": gitrepo.File(configMap("settings", "a"))}, gitrepo.CommitOptions{Message: "first"})
	cfg, err := config.Parse(fmt.Appendf(nil, `apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources: [{name: repo, url: %s}]
clusters: [{name: test, kubeconfig: {path: %s}}]
targets:
  - {name: %[4]s, source: repo, path: app, cluster: test, namespace: %[4]s, interval: 1h, timeout: 30s, wait: false}
tenancy: {mode: enforce}
tenants:
  - name: team-a
    targets: [%[4]s]
    namespaces: [%[4]s]
    serviceAccounts: [{cluster: test, namespace: %[4]s, name: deployer}]
`, filepath.Join(dir, "data"), repo.URL(), env.Kubeconfig, ns))
	if err != nil {
		t.Fatal(err)
	}
	key := reconciler.DestinationKey(cfg, ns)
	if want := "test|" + ns + "/deployer"; key != want {
		t.Fatalf("destination key %q, want %q", key, want)
	}
	cluster, err := kube.NewCluster("test", env.Config)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := cluster.Impersonate(ns, "deployer")
	if err != nil {
		t.Fatal(err)
	}
	base := reconciler.NewDestination(cluster, "trueup-system")
	dests := map[string]*reconciler.Destination{"test": base, key: base.ForServiceAccount(sa)}
	if _, err := reconciler.New(cfg, nil, map[string]*reconciler.Destination{"test": base}); err == nil {
		t.Fatal("New without the ServiceAccount's destination: no error")
	}
	logs := &syncBuffer{}
	loader := reconciler.NewDesiredLoader(git.New(filepath.Join(dir, "data", "sources")),
		map[string]git.Source{"repo": {Name: "repo", URL: repo.URL(), Ref: git.RefSpec{Branch: "main"}}})
	rec, err := reconciler.New(cfg, loader, dests, reconciler.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rec.Run(ctx, reconciler.DefaultRunOptions())
	}()
	t.Cleanup(func() { cancel(); <-done })

	kc := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), "kubectl", append([]string{"--kubeconfig", env.Kubeconfig, "-n", ns}, args...)...).CombinedOutput()
		if err != nil {
			return ""
		}
		return string(out)
	}
	waitFor(t, "the first apply", func() bool { return kc("get", "configmap", "settings", "-o", "name") != "" })
	time.Sleep(500 * time.Millisecond) // let the watch start on the applied kinds
	kc("patch", "configmap", "settings", "-p", `{"data":{"mode":"edited"}}`)
	waitFor(t, "the watch to heal the edit", func() bool {
		return kc("get", "configmap", "settings", "-o", "jsonpath={.data.mode}") == "a"
	})
	if !strings.Contains(logs.String(), `"trigger":"watch"`) {
		t.Fatalf("heal was not triggered by the watch:\n%s", logs.String())
	}
}
