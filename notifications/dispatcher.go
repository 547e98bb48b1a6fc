package notifications

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Options configure a Dispatcher. Zero fields take DefaultOptions' values.
type Options struct {
	Router Router
	// Threads keeps episode threads across restarts; nil means an
	// in-memory store (threads are then forgotten on restart).
	Threads ThreadStore
	// OnResult receives every Delivery. It is called from the worker
	// goroutines (concurrently for different notifiers), never from Publish.
	// A slow OnResult slows that notifier's deliveries, not the publisher.
	OnResult func(Delivery)
	// QueueSize bounds each notifier's queue; when full the oldest event
	// is dropped.
	QueueSize int
	Backoff   Backoff
	// AttemptTimeout bounds one Send.
	AttemptTimeout time.Duration
	// DrainTimeout bounds the delivery of queued events on shutdown.
	DrainTimeout time.Duration
	// FlapThreshold and FlapWindow: an object that opens more than
	// FlapThreshold episodes within FlapWindow is flapping; its new episodes
	// are suppressed with one note. A negative FlapThreshold disables it.
	FlapThreshold int
	FlapWindow    time.Duration
	// ReminderCheck is how often open episodes are checked for a due
	// reminder (for notifiers that implement Repeater).
	ReminderCheck time.Duration
}

// DefaultOptions returns the defaults: queues of 256 events, DefaultBackoff,
// 15s per attempt, 10s to drain, flapping above 5 episodes in 15m,
// reminders checked every minute.
func DefaultOptions() Options {
	return Options{
		QueueSize:      256,
		Backoff:        DefaultBackoff(),
		AttemptTimeout: 15 * time.Second,
		DrainTimeout:   10 * time.Second,
		FlapThreshold:  5,
		FlapWindow:     15 * time.Minute,
		ReminderCheck:  time.Minute,
	}
}

func (o Options) withDefaults() Options {
	def := DefaultOptions()
	if o.Threads == nil {
		o.Threads = NewMemoryThreads()
	}
	if o.OnResult == nil {
		o.OnResult = func(Delivery) {}
	}
	o.QueueSize = cmpOr(o.QueueSize, def.QueueSize)
	o.Backoff.Initial = cmpOr(o.Backoff.Initial, def.Backoff.Initial)
	o.Backoff.Max = cmpOr(o.Backoff.Max, def.Backoff.Max)
	o.Backoff.Attempts = cmpOr(o.Backoff.Attempts, def.Backoff.Attempts)
	o.AttemptTimeout = cmpOr(o.AttemptTimeout, def.AttemptTimeout)
	o.DrainTimeout = cmpOr(o.DrainTimeout, def.DrainTimeout)
	o.FlapThreshold = cmpOr(o.FlapThreshold, def.FlapThreshold)
	o.FlapWindow = cmpOr(o.FlapWindow, def.FlapWindow)
	o.ReminderCheck = cmpOr(o.ReminderCheck, def.ReminderCheck)
	return o
}

// cmpOr returns v, or def when v is zero.
func cmpOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Dispatcher routes events to notifiers and delivers them: one bounded
// queue and one worker goroutine per notifier, so a slow or failing
// destination never blocks the publisher or the other notifiers.
type Dispatcher struct {
	opts    Options
	workers map[string]*worker
	order   []string

	mu      sync.Mutex
	closed  bool
	running bool
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewDispatcher returns a dispatcher for notifiers. Every notifier the
// router names must be among them.
func NewDispatcher(notifiers []Notifier, opts Options) (*Dispatcher, error) {
	opts = opts.withDefaults()
	d := &Dispatcher{
		opts:    opts,
		workers: map[string]*worker{},
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, n := range notifiers {
		name := n.Name()
		if name == "" {
			return nil, errors.New("notifications: a notifier has no name")
		}
		if _, dup := d.workers[name]; dup {
			return nil, fmt.Errorf("notifications: notifier %q: duplicate name", name)
		}
		d.workers[name] = newWorker(n, &d.opts)
		d.order = append(d.order, name)
	}
	if err := opts.Router.Validate(d.order); err != nil {
		return nil, fmt.Errorf("notifications: router: %w", err)
	}
	return d, nil
}

// Publish routes ev and queues it for each notifier. It never blocks: a
// full queue drops its oldest event (reported as a dropped Delivery).
// Events published after Close are discarded. A zero ev.Time is set to now.
func (d *Dispatcher) Publish(ev Event) {
	names := d.opts.Router.Route(ev)
	if len(names) == 0 {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	it := item{ev: ev.Redacted(), fp: Fingerprint(ev)}
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return
	}
	for _, name := range names {
		d.workers[name].q.push(it)
	}
}

// Run delivers until ctx is done or Close is called, then delivers what is
// queued for at most DrainTimeout and returns. Sends in flight when the
// drain time runs out are cancelled and reported as dropped.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("notifications: dispatcher: Run called more than once")
	}
	d.running = true
	d.mu.Unlock()
	defer close(d.done)

	// Sends outlive ctx by up to DrainTimeout, so queued events get out.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, name := range d.order {
		w := d.workers[name]
		wg.Go(func() { w.run(work, stop) })
	}

	select {
	case <-ctx.Done():
	case <-d.closing:
	}
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	close(stop)
	d.drain(&wg, cancel)
	return nil
}

// drain waits for the workers, cancelling their sends after DrainTimeout.
func (d *Dispatcher) drain(wg *sync.WaitGroup, cancel context.CancelFunc) {
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	t := time.NewTimer(d.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		cancel()
		<-finished
	}
}

// Close stops accepting events and, when Run is running, waits for it to
// drain and return. It is safe to call more than once.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	d.closed = true
	running := d.running
	d.mu.Unlock()
	d.once.Do(func() { close(d.closing) })
	if running {
		<-d.done
	}
}
