package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/fixtures/pgenv"
	"github.com/trueup-dev/trueup/reconciler/lease"
)

// TestHAMetricsAndOwnerPage runs two `trueup serve` replicas (in this
// process) on the real control plane and PostgreSQL. The second joins
// after the first has taken every target: both /metrics say two replicas
// and how the targets moved (handed over, then handed back when the second
// stops), and each target's page says which replica reconciles it.
func TestHAMetricsAndOwnerPage(t *testing.T) {
	env := kubeenv.Shared(t)
	pg := pgenv.New(t)
	t.Setenv("TRUEUP_TEST_PG_DSN", pg.NewDatabase(t))
	leaseNS := env.Namespace(t)
	ids := []string{"r0", "r1"}

	// Two targets for each replica once both run.
	var targets []string
	share := map[string]int{}
	for i := 0; len(targets) < 4; i++ {
		name := fmt.Sprintf("hm-%d", i)
		if id := lease.Assign(ids, name); share[id] < 2 {
			share[id]++
			targets = append(targets, name)
		}
	}
	ofR1 := ""
	for _, tg := range targets {
		if lease.Assign(ids, tg) == "r1" {
			ofR1 = tg
			break
		}
	}
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	files := map[string]gitrepo.Entry{}
	ns := map[string]string{}
	for _, tg := range targets {
		ns[tg] = env.Namespace(t)
		files[tg+"/cm.yaml"] = gitrepo.File(configMaps(tg, 1, "v1"))
	}
	repo.Commit(t, files, gitrepo.CommitOptions{Message: "v1"})
	cfgs := map[string]string{}
	for _, id := range ids {
		cfgs[id] = filepath.Join(dir, id+".yaml")
		writeHAMetricsConfig(t, cfgs[id], id, filepath.Join(dir, "data-"+id), repo.URL(), env.Kubeconfig, leaseNS, targets, ns)
	}
	num := func(addr, series string) float64 {
		v, err := strconv.ParseFloat(metric(t, addr, series), 64)
		if err != nil {
			return -1
		}
		return v
	}
	acquired := func(addr, how string) float64 {
		return num(addr, `trueup_ha_target_acquired_total{how="`+how+`"}`)
	}
	released := func(addr, reason string) float64 {
		return num(addr, `trueup_ha_target_released_total{reason="`+reason+`"}`)
	}
	page := func(addr, target string) string { return httpGet(t, "http://"+addr+"/targets/"+target) }
	reconciledHere := func(addr, target string) bool { return strings.Contains(page(addr, target), "Last reconcile") }

	r0 := startDaemon(t, cfgs["r0"], "--no-watch")
	a0 := r0.addr(t)
	t.Run("alone, the first replica owns every target", func(t *testing.T) {
		waitLong(t, "r0 to own the 4 targets", func() bool {
			return num(a0, "trueup_ha_targets_owned") == 4 && num(a0, "trueup_ha_replicas") == 1
		})
		if got := acquired(a0, lease.AcquiredFree); got != 4 {
			t.Errorf("r0 acquired free %v, want 4", got)
		}
		waitLong(t, "r0 to reconcile "+ofR1, func() bool { return reconciledHere(a0, ofR1) })
		if p := page(a0, ofR1); !strings.Contains(p, "Reconciled by replica <b>r0</b> (this one)") {
			t.Errorf("page of %s on r0 does not name r0 as its replica:\n%s", ofR1, p)
		}
	})

	r1 := startDaemon(t, cfgs["r1"], "--no-watch")
	a1 := r1.addr(t)
	t.Run("a second replica joins: both count two, the first hands its share over", func(t *testing.T) {
		waitLong(t, "two replicas owning two targets each", func() bool {
			return num(a0, "trueup_ha_replicas") == 2 && num(a1, "trueup_ha_replicas") == 2 &&
				num(a0, "trueup_ha_targets_owned") == 2 && num(a1, "trueup_ha_targets_owned") == 2
		})
		for _, c := range []struct {
			what      string
			got, want float64
		}{
			{"r0 released reassigned", released(a0, lease.ReleasedReassigned), 2},
			{"r0 released lost", released(a0, lease.ReleasedLost), 0},
			{"r1 acquired free", acquired(a1, lease.AcquiredFree), 2},
			{"r1 acquired expired", acquired(a1, lease.AcquiredExpired), 0},
			{"r1 lease requests > 0", min(num(a1, "trueup_ha_lease_requests_total"), 1), 1},
		} {
			if c.got != c.want {
				t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
			}
		}
	})

	t.Run("each page names the replica that reconciles the target", func(t *testing.T) {
		waitLong(t, "r1 to reconcile "+ofR1, func() bool { return reconciledHere(a1, ofR1) })
		if p := page(a1, ofR1); !strings.Contains(p, "Reconciled by replica <b>r1</b> (this one)") {
			t.Errorf("page of %s on r1 does not name r1 as its replica:\n%s", ofR1, p)
		}
		// r0 sees the new holder at its next list of the Leases.
		p := ""
		waitLong(t, "the page of "+ofR1+" on r0 to send the reader to r1", func() bool {
			p = page(a0, ofR1)
			return strings.Contains(p, "Reconciled by replica <b>r1</b>, not this one (r0)")
		})
		if strings.Contains(p, "Last reconcile") || strings.Contains(p, "None: live matches Git") {
			t.Errorf("page of %s on r0 shows r0's stale view of a target r1 reconciles:\n%s", ofR1, p)
		}
	})

	t.Run("the second stops: the first takes its targets back", func(t *testing.T) {
		r1.stop()
		waitLong(t, "r0 alone with the 4 targets", func() bool {
			return num(a0, "trueup_ha_replicas") == 1 && num(a0, "trueup_ha_targets_owned") == 4
		})
		if got := acquired(a0, lease.AcquiredFree); got != 6 {
			t.Errorf("r0 acquired free %v, want 6 (4 at its start, then r1's 2 back, released on its stop)", got)
		}
		waitLong(t, "r0 to reconcile "+ofR1+" again", func() bool { return reconciledHere(a0, ofR1) })
	})
}

// writeHAMetricsConfig writes replica id's config: its own dataDir and
// replicaID, everything else shared.
func writeHAMetricsConfig(t *testing.T, path, id, data, repoURL, kubeconfig, leaseNS string, targets []string, ns map[string]string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources:
  - {name: repo, url: %s, interval: 10s}
clusters:
  - {name: local, kubeconfig: {path: %s}}
history: {backend: postgres, dsnFrom: {env: TRUEUP_TEST_PG_DSN}}
ha: {enabled: true, leaseNamespace: %s, replicaID: %s, leaseDuration: 6s, renewDeadline: 4s, retryPeriod: 1s}
targets:
`, data, repoURL, kubeconfig, leaseNS, id)
	for _, tg := range targets {
		fmt.Fprintf(&b, "  - {name: %s, source: repo, path: %s, cluster: local, namespace: %s, interval: 10s, wait: false}\n", tg, tg, ns[tg])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A replica answered /readyz 200 from its start, before it had looked at
// the Leases: it owned nothing yet, so nothing was pending, and readiness
// latches. Until it has listed the Leases (here never: their API server is
// down) it is not ready, and says so.
func TestHAReplicaNotReadyBeforeItSawTheLeases(t *testing.T) {
	env := kubeenv.Shared(t)
	pg := pgenv.New(t)
	t.Setenv("TRUEUP_TEST_PG_DSN", pg.NewDatabase(t))
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	repo.Commit(t, map[string]gitrepo.Entry{"hr/cm.yaml": gitrepo.File(configMaps("hr", 1, "v1"))}, gitrepo.CommitOptions{Message: "v1"})
	down := filepath.Join(dir, "down.kubeconfig")
	if err := os.WriteFile(down, []byte(`apiVersion: v1
kind: Config
clusters: [{name: down, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: down, user: {}}]
contexts: [{name: down, context: {cluster: down, user: down}}]
current-context: down
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "trueup.yaml")
	writeHAMetricsConfig(t, cfg, "r0", filepath.Join(dir, "data"), repo.URL(), env.Kubeconfig, env.Namespace(t), []string{"hr"}, map[string]string{"hr": env.Namespace(t)})
	raw := strings.Replace(readFile(t, cfg), "clusters:\n", "clusters:\n  - {name: leases, kubeconfig: {path: "+down+"}}\n", 1)
	raw = strings.Replace(raw, "ha: {enabled: true,", "ha: {enabled: true, leaseCluster: leases,", 1)
	if err := os.WriteFile(cfg, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg, "--no-watch")
	addr := d.addr(t)
	waitUntil(t, "a failed list of the Leases", func() bool { return strings.Contains(d.logs.String(), "ha: list leases failed") })
	for range 3 {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "hr") {
			t.Fatalf("/readyz of a replica that has not seen the Leases: %d %q, want 503 naming hr", resp.StatusCode, b)
		}
		time.Sleep(time.Second)
	}
}
