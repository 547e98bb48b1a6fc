package notifications

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a Notifier that records what it was asked to send. It plays
// a threaded destination (Slack bot mode) unless flat is set.
type recorder struct {
	name string
	flat bool
	// fail decides the outcome of call number n (1-based); nil: success.
	fail func(n int, m Message) error
	// delay is how long each Send takes.
	delay time.Duration
	// block, when set, makes Send wait for it or for ctx.
	block chan struct{}

	mu    sync.Mutex
	calls int
	sent  []Message
	ts    int
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := r.wait(ctx); err != nil {
		return Receipt{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls, m); err != nil {
			return Receipt{}, err
		}
	}
	r.sent = append(r.sent, m)
	if r.flat {
		return Receipt{}, nil
	}
	r.ts++
	return Receipt{Channel: "C1", TS: fmt.Sprintf("100.%d", r.ts)}, nil
}

func (r *recorder) wait(ctx context.Context) error {
	if r.delay > 0 {
		if err := sleep(ctx, r.delay); err != nil {
			return err
		}
	}
	if r.block == nil {
		return nil
	}
	select {
	case <-r.block:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *recorder) messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

func (r *recorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// repeating adds a repeat interval to a recorder.
type repeating struct {
	*recorder
	every time.Duration
}

func (r repeating) RepeatInterval() time.Duration { return r.every }

// results collects deliveries.
type results struct {
	mu   sync.Mutex
	list []Delivery
}

func (r *results) add(d Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, d)
}

func (r *results) all() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// statuses summarises deliveries as "op/note status reason" lines.
func (r *results) statuses() []string {
	var out []string
	for _, d := range r.all() {
		s := fmt.Sprintf("%s %s", d.Kind, d.Status)
		if d.Op != "" {
			s = fmt.Sprintf("%s %s %s", d.Kind, d.Op, d.Status)
		}
		if d.Note != "" {
			s += " " + string(d.Note)
		}
		if d.Reason != "" {
			s += " (" + d.Reason + ")"
		}
		out = append(out, s)
	}
	return out
}

// start builds a dispatcher routing everything to every notifier and runs
// it; the caller must call the returned stop (inside the synctest bubble).
func start(t *testing.T, opts Options, notifiers ...Notifier) (*Dispatcher, *results, func()) {
	t.Helper()
	res := &results{}
	opts.OnResult = res.add
	var names []string
	for _, n := range notifiers {
		names = append(names, n.Name())
	}
	opts.Router = Router{Rules: []Rule{{Notifiers: names}}}
	d, err := NewDispatcher(notifiers, opts)
	if err != nil {
		t.Fatalf("NewDispatcher: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	return d, res, func() {
		d.Close()
		cancel()
		<-done
	}
}

var (
	replicas = Field{Path: "/spec/replicas", Live: float64(5), Desired: float64(3), Actor: "kubectl-scale"}
	image    = Field{Path: "/spec/template/spec/containers/0/image", Live: "web:debug", Desired: "web:1.4.2"}
	password = Field{Path: "/data/password", Live: "<masked: changed>", Desired: "<masked>", Masked: true}
)

// driftEvent is a drift event of web-prod's Deployment in episode ep.
func driftEvent(kind Kind, ep string, fields ...Field) Event {
	ev := Event{
		Kind: kind, Severity: SeverityWarning, Target: "web-prod",
		Destination: Destination{Kind: DestinationCluster, Name: "prod-eu"},
		Object:      "Deployment.apps/prod/web", Episode: ep, Mode: ModeAlert,
		Actor: "kubectl-edit", Fields: fields, Time: time.Now(),
	}
	if kind.Resolves() {
		ev.Resolution = ResolutionHealed
	}
	return ev
}

func ops(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		s := string(m.Op) + " " + string(m.Event.Kind)
		if m.Note != "" {
			s += " " + string(m.Note)
		}
		if m.Thread.TS != "" {
			s += " in " + m.Thread.TS
		}
		out = append(out, s)
	}
	return out
}
