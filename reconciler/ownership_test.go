package reconciler_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
)

// handOwnership is an Ownership the test drives: a target is this
// replica's when the test calls own.
type handOwnership struct {
	ready   chan struct{}
	mu      sync.Mutex
	own     func(string) func(bool)
	targets []string
}

func (h *handOwnership) Run(ctx context.Context, targets []string, own func(string) func(bool)) error {
	h.mu.Lock()
	h.own, h.targets = own, targets
	h.mu.Unlock()
	close(h.ready)
	<-ctx.Done()
	return nil
}

func (h *handOwnership) Owner(string) string      { return "other" }
func (h *handOwnership) Identity() string         { return "here" }
func (h *handOwnership) Grace() time.Duration     { return time.Second }
func (h *handOwnership) Settled() bool            { return true }
func (h *handOwnership) give(t string) func(bool) { h.mu.Lock(); defer h.mu.Unlock(); return h.own(t) }

// TestSharedTargetRunsOnlyWhileOwned: with the targets shared, a target is
// reconciled (applied, healed on a live edit) only while this replica owns
// it, and its outcome shows only then.
func TestSharedTargetRunsOnlyWhileOwned(t *testing.T) {
	s := newScenario(t, "interval: 1h\nremediation: {drift: heal}")
	s.commit(map[string]string{"cm.yaml": configMap("settings", "a")}, "first")
	h := &handOwnership{ready: make(chan struct{})}
	s.rec.ShareTargets(h)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.rec.Run(ctx, reconciler.DefaultRunOptions())
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-h.ready
	if !slices.Equal(h.targets, []string{s.ns}) {
		t.Fatalf("targets handed to the ownership: %v, want [%s]", h.targets, s.ns)
	}

	time.Sleep(2 * time.Second) // a startup reconcile comes within a second
	if s.exists("configmap", "settings") {
		t.Fatal("a target this replica does not own was applied")
	}
	if p := s.rec.Pending(); len(p) != 0 {
		t.Errorf("pending %v: a target owned elsewhere must not hold readiness", p)
	}
	if o := s.rec.Owners(); o[s.ns] != "other" {
		t.Errorf("owners %v, want %s owned by other", o, s.ns)
	}
	// Operators' actions go to the owner: this replica names it.
	var no *reconciler.NotOwnerError
	if _, err := s.rec.Suspend(t.Context(), s.ns, reconciler.ActionBy{Actor: "alice"}); !errors.As(err, &no) || no.Owner != "other" {
		t.Errorf("suspend on a replica that does not own the target: %v, want NotOwnerError naming other", err)
	}
	if _, err := s.rec.RequestReconcile(t.Context(), s.ns, "alice", false); !errors.As(err, &no) || !strings.Contains(err.Error(), "send the request to other") {
		t.Errorf("reconcile now on a replica that does not own the target: %v, want NotOwnerError", err)
	}

	release := h.give(s.ns)
	waitFor(t, "the owned target applied", func() bool { return s.exists("configmap", "settings") })
	waitFor(t, "its outcome", func() bool { return len(s.rec.Status()) == 1 })
	release(false)
	if len(s.rec.Status()) != 0 {
		t.Error("the outcome of a target given up still shows")
	}

	time.Sleep(500 * time.Millisecond) // let the watch start on the applied kinds
	s.kubectl("patch", "configmap", "settings", "-p", `{"data":{"mode":"edited"}}`)
	time.Sleep(2 * time.Second) // a watch-triggered heal comes within a second or two
	if got := s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "edited" {
		t.Fatalf("a target given up was healed (mode %q)", got)
	}

	release = h.give(s.ns)
	defer release(true)
	waitFor(t, "the owner again to heal the edit", func() bool {
		return s.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}") == "a"
	})
}
