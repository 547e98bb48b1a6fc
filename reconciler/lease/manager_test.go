package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

// cuttable is a transport that fails every request while cut is set: the
// replica behind it is partitioned from the API server.
type cuttable struct {
	next http.RoundTripper
	cut  atomic.Bool
}

func (c *cuttable) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("partitioned (test)")
	}
	return c.next.RoundTrip(r)
}

func TestMain(m *testing.M) { kubeenv.Main(m) }

// ledger is who runs each target's loop. own fails the test when a second
// replica starts a target's loop while another's has not stopped.
type ledger struct {
	t  *testing.T
	mu sync.Mutex
	// running: target -> replicas whose loop runs
	running map[string][]string
	starts  map[string]int
	// lost counts the releases of lost Leases per target.
	lost map[string]int
	// stopDelay is how long a loop takes to stop (its reconcile in flight).
	stopDelay time.Duration
}

func newLedger(t *testing.T) *ledger {
	return &ledger{t: t, running: map[string][]string{}, starts: map[string]int{}, lost: map[string]int{}, stopDelay: time.Second}
}

func (l *ledger) own(id string) func(string) func(bool) {
	return func(target string) func(bool) {
		l.mu.Lock()
		if len(l.running[target]) > 0 {
			l.t.Errorf("%s starts target %s while %v still runs it", id, target, l.running[target])
		}
		l.running[target] = append(l.running[target], id)
		l.starts[target]++
		l.mu.Unlock()
		return func(lost bool) {
			if lost {
				l.mu.Lock()
				l.lost[target]++
				l.mu.Unlock()
			} else {
				time.Sleep(l.stopDelay)
			}
			l.drop(id, target)
		}
	}
}

func (l *ledger) drop(id, target string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running[target] = slices.DeleteFunc(l.running[target], func(s string) bool { return s == id })
}

// kill forgets every loop of id: its process is gone.
func (l *ledger) kill(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t := range l.running {
		l.running[t] = slices.DeleteFunc(l.running[t], func(s string) bool { return s == id })
	}
}

// owners returns target -> the one replica running it, and whether every
// target has exactly one.
func (l *ledger) owners(targets []string) (map[string]string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	ok := true
	for _, t := range targets {
		if len(l.running[t]) != 1 {
			ok = false
			continue
		}
		out[t] = l.running[t][0]
	}
	return out, ok
}

type replica struct {
	m      *Manager
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, env *kubeenv.Env, ns, id string, targets []string, l *ledger) *replica {
	t.Helper()
	return startReplicaWith(t, env.Clientset, ns, id, targets, l)
}

func startReplicaWith(t *testing.T, c kubernetes.Interface, ns, id string, targets []string, l *ledger) *replica {
	t.Helper()
	m, err := New(c, Options{Namespace: ns, Identity: id,
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{m: m, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); _ = m.Run(ctx, targets, l.own(id)) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// settled waits until every target runs on exactly the replica that
// rendezvous hashing over members assigns it to, and every replica names
// that owner.
func settled(t *testing.T, l *ledger, targets, members []string, rs map[string]*replica) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		owners, ok := l.owners(targets)
		agree := ok
		for _, tg := range targets {
			want := Assign(members, tg)
			if owners[tg] != want {
				agree = false
			}
			for _, id := range members {
				if rs[id].m.Owner(tg) != want {
					agree = false
				}
			}
		}
		if agree {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets not settled on %v: running %v", members, owners)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReplicasShareTargets runs three lease managers on the real control
// plane and checks that every target runs on exactly one replica, through
// a replica joining, one stopping and one dying without a word.
func TestReplicasShareTargets(t *testing.T) {
	env := kubeenv.Shared(t)
	ns := env.Namespace(t)
	var targets []string
	for i := range 12 {
		targets = append(targets, fmt.Sprintf("team-%02d", i))
	}
	l := newLedger(t)
	rs := map[string]*replica{}
	for _, id := range []string{"r0", "r1"} {
		rs[id] = startReplica(t, env, ns, id, targets, l)
	}
	t.Run("two replicas split the targets", func(t *testing.T) {
		settled(t, l, targets, []string{"r0", "r1"}, rs)
	})
	rs["r2"] = startReplica(t, env, ns, "r2", targets, l) // stopped at the end of the test, not of the subtest
	t.Run("a third joins and takes its share, each handed over after its loop stopped", func(t *testing.T) {
		settled(t, l, targets, []string{"r0", "r1", "r2"}, rs)
	})
	t.Run("leases name their holders", func(t *testing.T) {
		ls, err := env.Clientset.CoordinationV1().Leases(ns).List(t.Context(), metav1.ListOptions{LabelSelector: LabelKind + "=" + kindTarget})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls.Items) != len(targets) {
			t.Fatalf("%d target leases, want %d", len(ls.Items), len(targets))
		}
		for _, le := range ls.Items {
			tg := le.Annotations[AnnotationOwner]
			if want := Assign([]string{"r0", "r1", "r2"}, tg); holder(&le) != want {
				t.Errorf("lease %s of %q held by %q, want %q", le.Name, tg, holder(&le), want)
			}
		}
	})
	t.Run("a stopped replica hands its targets over", func(t *testing.T) {
		rs["r1"].cancel()
		<-rs["r1"].done
		settled(t, l, targets, []string{"r0", "r2"}, rs)
	})
	t.Run("a dead replica's targets are taken over when its leases expire", func(t *testing.T) {
		dead := rs["r2"]
		dead.m.abandon.Store(true)
		dead.cancel()
		<-dead.done
		l.kill("r2")
		killed := time.Now()
		settled(t, l, targets, []string{"r0"}, rs)
		t.Logf("takeover after the death of r2: %s (leaseDuration 3s, retryPeriod 250ms)", time.Since(killed).Round(10*time.Millisecond))
	})
	t.Run("a lease taken by another holder stops the target at once, and comes back when that holder lapses", func(t *testing.T) {
		le, err := env.Clientset.CoordinationV1().Leases(ns).Get(t.Context(), targetName("team-05"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		intruder := "intruder"
		le.Spec.HolderIdentity = &intruder
		if _, err := env.Clientset.CoordinationV1().Leases(ns).Update(t.Context(), le, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitTrue(t, "team-05 stopped as lost", func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.lost["team-05"] == 1 && len(l.running["team-05"]) == 0
		})
		settled(t, l, targets, []string{"r0"}, rs) // the intruder never renews: its lease expires
	})
	t.Run("a replica cut from the API server stops its targets before another takes them", func(t *testing.T) {
		cut := &cuttable{}
		rc := rest.CopyConfig(env.Config)
		rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { cut.next = rt; return cut }
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		rs["r3"] = startReplicaWith(t, cs, ns, "r3", targets, l)
		settled(t, l, targets, []string{"r0", "r3"}, rs)
		var mine []string
		for _, tg := range targets {
			if Assign([]string{"r0", "r3"}, tg) == "r3" {
				mine = append(mine, tg)
			}
		}
		// Only the membership Lease renews r3's hold on its targets: once
		// it cannot, r3 stops them (lost) within renewDeadline, and r0
		// takes them over once r3's membership has expired. The ledger
		// fails the test if r0 starts one while r3 still runs it.
		cut.cut.Store(true)
		waitTrue(t, "r3 lost its targets", func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, tg := range mine {
				if slices.Contains(l.running[tg], "r3") {
					return false
				}
			}
			return true
		})
		settled(t, l, targets, []string{"r0"}, map[string]*replica{"r0": rs["r0"]})
		rs["r3"].cancel()
		<-rs["r3"].done
		delete(rs, "r3")
	})
	t.Run("steady state requests", func(t *testing.T) {
		before := rs["r0"].m.Requests()
		time.Sleep(5 * time.Second)
		n := rs["r0"].m.Requests() - before
		t.Logf("r0 holds %d targets: %d lease requests in 5s (%.0f/min) at retryPeriod 250ms, renewDeadline 2s",
			len(targets), n, float64(n)*12)
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("loop starts per target: %v", l.starts)
}

func waitTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClientRateLimit(t *testing.T) {
	defaults := Options{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
	for _, tc := range []struct {
		name   string
		shards int
		opts   Options
		qps    float32
		burst  int
	}{
		{"few targets: client-go's default", 3, defaults, 5, 10},
		{"200 targets at the defaults: 1.5 x (1 + 200/200s) per second is below the default", 200, defaults, 5, 202},
		{"2,000 targets at the defaults: 1.5 x (1 + 2000/200s)", 2000, defaults, 16.5, 2002},
		{"200 targets, fast timings: 1.5 x (8 + 200/40s)", 200, Options{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond}, 19.5, 202},
		{"no timings", 200, Options{}, 5, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qps, burst := ClientRateLimit(tc.shards, tc.opts)
			if qps != tc.qps || burst != tc.burst {
				t.Errorf("ClientRateLimit(%d) = %v, %d; want %v, %d", tc.shards, qps, burst, tc.qps, tc.burst)
			}
		})
	}
}
