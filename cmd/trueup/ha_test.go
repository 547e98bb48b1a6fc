package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/fixtures/pgenv"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/lease"
)

// haSlowObjects is how many ConfigMaps the slow target applies, one at a
// time: long enough to kill its owner in the middle.
const haSlowObjects = 150

// haReplica is one `trueup serve` process of the HA test.
type haReplica struct {
	id   string
	cfg  string
	cmd  *exec.Cmd
	logs *lockedBuffer
	dead bool
}

// TestHAReplicasShareTargetsAndSurviveSIGKILL runs three `trueup serve`
// processes (the real binary) on the real control plane with one
// PostgreSQL history and a Slack server. Every target is applied by
// exactly one replica. The owner of the slow target is killed (SIGKILL)
// while it applies a new commit, holding an open drift episode of
// another target; a surviving replica takes both over, applies the commit
// once, continues the episode in the same Slack thread, and a drift made
// after the takeover is announced once. The chain verifies.
func TestHAReplicasShareTargetsAndSurviveSIGKILL(t *testing.T) {
	env := kubeenv.Shared(t)
	pg := pgenv.New(t)
	dsn := pg.NewDatabase(t)
	slackSrv := newSlackRecorder(t)
	leaseNS := env.Namespace(t)
	ids := []string{"r0", "r1", "r2"}

	// Targets: "slow" and an alerting target on the same replica (so the
	// kill takes an open episode with it), and others spread around.
	slow := "ha-slow"
	alerting := ""
	for i := range 100 {
		if name := fmt.Sprintf("ha-alert-%d", i); lease.Assign(ids, name) == lease.Assign(ids, slow) {
			alerting = name
			break
		}
	}
	targets := []string{slow, alerting, "ha-a", "ha-b", "ha-c", "ha-d"}
	ns := map[string]string{}
	files := map[string]gitrepo.Entry{}
	for _, tg := range targets {
		ns[tg] = env.Namespace(t)
		files[tg+"/cm.yaml"] = gitrepo.File(configMaps(tg, 1, "v1"))
	}
	// The slow target has a repository of its own: its new commit must
	// not be a new revision of the others (a new revision is applied
	// whole, which would heal the alerting target's drift).
	dir := t.TempDir()
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	slowRepo := gitrepo.Init(t, filepath.Join(dir, "slow.git"))
	rev1 := repo.Commit(t, files, gitrepo.CommitOptions{Message: "v1"}).String()
	slowRev1 := slowRepo.Commit(t, map[string]gitrepo.Entry{slow + "/cm.yaml": gitrepo.File(configMaps(slow, haSlowObjects, "v1"))},
		gitrepo.CommitOptions{Message: "v1"}).String()
	revOf := func(target string) string {
		if target == slow {
			return slowRev1
		}
		return rev1
	}

	bin := filepath.Join(dir, "trueup")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build trueup: %v\n%s", err, out)
	}
	t.Setenv("TRUEUP_TEST_SLACK_TOKEN", testSlackToken)
	t.Setenv("TRUEUP_TEST_PG_DSN", dsn)
	replicas := map[string]*haReplica{}
	for _, id := range ids {
		rp := &haReplica{id: id, cfg: filepath.Join(dir, id+".yaml"), logs: &lockedBuffer{}}
		writeHAConfig(t, rp.cfg, id, filepath.Join(dir, "data-"+id), repo.URL(), slowRepo.URL(), env.Kubeconfig, leaseNS, slackSrv.GetAPIURL(), targets, ns, slow, alerting)
		rp.cmd = exec.Command(bin, "serve", "-c", rp.cfg, "--listen", "127.0.0.1:0", "--log-level", "info")
		rp.cmd.Stderr = rp.logs
		if err := rp.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		replicas[id] = rp
	}
	t.Cleanup(func() {
		for _, rp := range replicas {
			if !rp.dead {
				_ = rp.cmd.Process.Signal(syscall.SIGTERM)
				_ = rp.cmd.Wait()
			}
			if t.Failed() {
				t.Logf("replica %s log:\n%s", rp.id, tailLines(rp.logs.String(), 120))
			}
		}
	})
	anyCfg := replicas["r0"].cfg
	records := func(args ...string) []history.Record {
		out, err := exec.Command(bin, append([]string{"history", "-o", "json", "--limit", "100000", "-c", anyCfg}, args...)...).Output()
		if err != nil {
			return nil
		}
		var recs []history.Record
		_ = json.Unmarshal(out, &recs)
		return recs
	}
	appliedCount := func(target, rev string) int {
		n := 0
		for _, r := range records("--target", target, "--type", history.TypeReconcile) {
			if r.Outcome == "applied" && r.Revision == rev {
				n++
			}
		}
		return n
	}
	owners := func(rp *haReplica) map[string]string {
		addr := listenAddr(rp.logs.String())
		if addr == "" {
			return nil
		}
		resp, err := http.Get("http://" + addr + "/api/v1/targets")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var rows []struct{ Target, Owner string }
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &rows) != nil {
			return nil
		}
		out := map[string]string{}
		for _, r := range rows {
			out[r.Target] = r.Owner
		}
		return out
	}
	// agreed is the owner of every target when all live replicas name the
	// same live one for each.
	agreed := func() (map[string]string, bool) {
		var first map[string]string
		for _, id := range ids {
			rp := replicas[id]
			if rp.dead {
				continue
			}
			o := owners(rp)
			if o == nil {
				return nil, false
			}
			for _, tg := range targets {
				if owner := replicas[o[tg]]; owner == nil || owner.dead || (first != nil && first[tg] != o[tg]) {
					return nil, false
				}
			}
			if first == nil {
				first = o
			}
		}
		return first, true
	}

	var owner map[string]string
	if !t.Run("every target is applied once, by one replica", func(t *testing.T) {
		waitLong(t, "every target applied", func() bool {
			for _, tg := range targets {
				if appliedCount(tg, revOf(tg)) == 0 {
					return false
				}
			}
			return true
		})
		waitLong(t, "the replicas to agree on the owners", func() bool { var ok bool; owner, ok = agreed(); return ok })
		for _, tg := range targets {
			if n := appliedCount(tg, revOf(tg)); n != 1 {
				t.Errorf("target %s: %d applied records of %s, want 1", tg, n, revOf(tg)[:12])
			}
		}
		t.Logf("owners: %v", owner)
	}) {
		return
	}
	victim := replicas[owner[slow]]
	if owner[alerting] != victim.id {
		t.Fatalf("%s owns %s and %s owns %s: the test wants them on one replica", owner[slow], slow, owner[alerting], alerting)
	}

	driftedCM := alerting + "-0"
	if !t.Run("a drift of the alerting target opens one episode and one Slack message", func(t *testing.T) {
		kubectl(t, env, "-n", ns[alerting], "patch", "configmap", driftedCM, "--type", "merge", "-p", `{"data":{"value":"live"}}`)
		waitLong(t, "the drift's Slack message", func() bool { return len(parents(slackSrv.snapshot(), driftedCM)) == 1 })
	}) {
		return
	}

	var killed time.Time
	rev2 := ""
	if !t.Run("the slow target's owner is killed while it applies a new commit", func(t *testing.T) {
		rev2 = slowRepo.Commit(t, map[string]gitrepo.Entry{slow + "/cm.yaml": gitrepo.File(configMaps(slow, haSlowObjects, "v2"))},
			gitrepo.CommitOptions{Message: "v2"}).String()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			n, total := countValue(t, env, ns[slow], "v2")
			if n > 0 && n < total {
				break // the apply is under way
			}
			if n == total && total > 0 {
				t.Fatal("the whole apply finished before the test saw it start: make the slow target slower")
			}
			if time.Now().After(deadline) {
				t.Fatalf("the new commit's apply did not start on %s", victim.id)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed = time.Now()
		_ = victim.cmd.Wait()
		victim.dead = true
		n, total := countValue(t, env, ns[slow], "v2")
		t.Logf("killed %s with %d of %d objects applied", victim.id, n, total)
		if n == total {
			t.Error("the apply was complete when the owner died: nothing was left half done")
		}
	}) {
		return
	}

	if !t.Run("another replica takes over within about the lease duration and converges", func(t *testing.T) {
		var took time.Duration
		waitLong(t, "a live replica to own the slow target", func() bool {
			o, ok := agreed()
			if ok && o[slow] != victim.id {
				owner = o
				took = time.Since(killed)
				return true
			}
			return false
		})
		waitLong(t, "the new commit applied by the new owner", func() bool {
			n, total := countValue(t, env, ns[slow], "v2")
			return n == total && appliedCount(slow, rev2) > 0
		})
		converged := time.Since(killed)
		t.Logf("takeover: %s after SIGKILL (leaseDuration 6s, retryPeriod 1s); converged %s after SIGKILL; new owner %s",
			took.Round(100*time.Millisecond), converged.Round(100*time.Millisecond), owner[slow])
		if n := appliedCount(slow, rev2); n != 1 {
			t.Errorf("%d applied records of %s on %s, want 1", n, rev2[:12], slow)
		}
	}) {
		return
	}

	t.Run("the new owner continues the open episode in its Slack thread", func(t *testing.T) {
		waitLong(t, "a reconcile of the alerting target by its new owner", func() bool {
			for _, r := range records("--target", alerting, "--type", history.TypeReconcile) {
				if r.Time.After(killed) {
					return true
				}
			}
			return false
		})
		kubectl(t, env, "-n", ns[alerting], "patch", "configmap", driftedCM, "--type", "merge", "-p", `{"data":{"value":"v1"}}`)
		waitLong(t, "the episode's resolution", func() bool {
			for _, r := range records("--target", alerting, "--type", history.TypeDriftResolved) {
				if strings.Contains(r.Object, driftedCM) {
					return true
				}
			}
			return false
		})
		waitLong(t, "the resolution's Slack update", func() bool { return len(updates(slackSrv.snapshot())) > 0 })
		ps := parents(slackSrv.snapshot(), driftedCM)
		if len(ps) != 1 {
			t.Fatalf("%d Slack messages of the drift of %s, want 1 (the new owner must not announce it again): %+v", len(ps), driftedCM, ps)
		}
		for _, u := range updates(slackSrv.snapshot()) {
			if u.TS != ps[0].Posted {
				t.Errorf("update of message %s, want the episode's message %s", u.TS, ps[0].Posted)
			}
		}
	})

	t.Run("a drift after the takeover is announced once", func(t *testing.T) {
		cm := slow + "-7"
		kubectl(t, env, "-n", ns[slow], "patch", "configmap", cm, "--type", "merge", "-p", `{"data":{"value":"live"}}`)
		waitLong(t, "the drift healed", func() bool {
			for _, r := range records("--target", slow, "--type", history.TypeDriftResolved) {
				if strings.HasSuffix(r.Object, "/"+cm) {
					return true
				}
			}
			return false
		})
		waitLong(t, "its Slack message", func() bool { return len(parents(slackSrv.snapshot(), cm)) > 0 })
		time.Sleep(2 * time.Second) // a duplicate would come from another replica's reconcile
		if ps := parents(slackSrv.snapshot(), cm); len(ps) != 1 {
			t.Errorf("%d Slack messages of the drift of %s, want 1", len(ps), cm)
		}
	})

	for _, rp := range replicas {
		if !rp.dead {
			_ = rp.cmd.Process.Signal(syscall.SIGTERM)
			_ = rp.cmd.Wait()
			rp.dead = true
		}
	}
	t.Run("the history has each episode once and its chain verifies", func(t *testing.T) {
		opened := map[string]int{}
		for _, r := range records("--type", history.TypeDriftOpened+","+history.TypeDriftUpdated+","+history.TypeDriftResolved) {
			t.Logf("record %d %s %s %s %s", r.Seq, r.Type, r.Target, r.Object, r.Outcome)
			if r.Type == history.TypeDriftOpened {
				opened[r.Target+" "+r.Object]++
			}
		}
		for _, c := range slackSrv.snapshot() {
			t.Logf("slack %s thread=%q ts=%q posted=%q", c.Method, c.ThreadTS, c.TS, c.Posted)
		}
		for k, n := range opened {
			if n != 1 {
				t.Errorf("%d drift-opened records of %s, want 1", n, k)
			}
		}
		if len(opened) != 2 {
			t.Errorf("episodes opened: %v, want the two drifts", opened)
		}
		for _, tg := range targets {
			if n := appliedCount(tg, revOf(tg)); n != 1 {
				t.Errorf("target %s: %d applied records of %s, want 1", tg, n, revOf(tg)[:12])
			}
		}
		out, err := exec.Command(bin, "history", "verify", "-c", anyCfg).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "chain intact") {
			t.Fatalf("history verify: %v\n%s", err, out)
		}
	})
	for _, rp := range replicas {
		t.Logf("replica %s: %s", rp.id, leaseStats(rp.logs.String()))
	}
}

// writeHAConfig writes replica id's config: its own dataDir and replicaID,
// everything else shared.
func writeHAConfig(t *testing.T, path, id, data, repoURL, slowURL, kubeconfig, leaseNS, slackURL string, targets []string, ns map[string]string, slow, alerting string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: trueup.dev/v1alpha1
kind: Config
dataDir: %s
sources:
  - name: repo
    url: %s
    interval: 10s
  - name: slow
    url: %s
    interval: 10s
clusters:
  - name: local
    kubeconfig: {path: %s}
history:
  backend: postgres
  dsnFrom: {env: TRUEUP_TEST_PG_DSN}
ha:
  enabled: true
  leaseNamespace: %s
  replicaID: %s
  leaseDuration: 6s
  renewDeadline: 4s
  retryPeriod: 1s
notifiers:
  - name: oncall
    type: slack
    slack:
      channel: "#alerts"
      tokenFrom: {env: TRUEUP_TEST_SLACK_TOKEN}
      apiURL: %s
targets:
`, data, repoURL, slowURL, kubeconfig, leaseNS, id, slackURL)
	for _, tg := range targets {
		source := "repo"
		if tg == slow {
			source = "slow"
		}
		fmt.Fprintf(&b, "  - name: %s\n    source: %s\n    path: %s\n    cluster: local\n    namespace: %s\n    interval: 10s\n    wait: false\n    notifiers: [oncall]\n", tg, source, tg, ns[tg])
		switch tg {
		case slow:
			b.WriteString("    concurrency: 1\n")
		case alerting:
			b.WriteString("    remediation: {drift: alert}\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// configMaps is n ConfigMaps <target>-<i> with data.value.
func configMaps(target string, n int, value string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%d\ndata:\n  value: %s\n", target, i, value)
	}
	return b.String()
}

// countValue counts the target's ConfigMaps in ns whose value is v.
func countValue(t *testing.T, env *kubeenv.Env, ns, v string) (n, total int) {
	t.Helper()
	l, err := env.Clientset.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "trueup.dev/target"})
	if err != nil {
		return 0, 0
	}
	for _, cm := range l.Items {
		total++
		if cm.Data["value"] == v {
			n++
		}
	}
	return n, total
}

// parents are the channel messages (not replies, not updates) that name
// the object.
func parents(calls []slackCall, object string) []slackCall {
	var out []slackCall
	for _, c := range calls {
		if c.Method == "chat.postMessage" && c.ThreadTS == "" && strings.Contains(c.Blocks+c.Text, object) {
			out = append(out, c)
		}
	}
	return out
}

func updates(calls []slackCall) []slackCall {
	var out []slackCall
	for _, c := range calls {
		if c.Method == "chat.update" {
			out = append(out, c)
		}
	}
	return out
}

var listenRE = regexp.MustCompile(`\blisten=(\S+)`)

func listenAddr(logs string) string {
	m := listenRE.FindStringSubmatch(logs)
	if m == nil {
		return ""
	}
	return m[1]
}

var leaseStatsRE = regexp.MustCompile(`msg="ha leases.*`)

func leaseStats(logs string) string {
	all := leaseStatsRE.FindAllString(logs, -1)
	if len(all) == 0 {
		return "no lease statistics logged (once a minute, and at a graceful stop)"
	}
	return strings.Join(all, "; ")
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitLong is waitUntil with the patience of three daemons on two cores.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
