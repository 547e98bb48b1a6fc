package notifications

import (
	"context"
	"time"
)

// worker delivers one notifier's queue. All its state is owned by its
// goroutine.
type worker struct {
	n      Notifier
	name   string
	q      *queue
	opts   *Options
	repeat time.Duration
	flaps  *flapDetector
	// failing maps a reported permanent reason to the number of failures
	// with that reason not reported since.
	failing map[string]int
}

func newWorker(n Notifier, opts *Options) *worker {
	w := &worker{
		n:       n,
		name:    n.Name(),
		q:       newQueue(opts.QueueSize),
		opts:    opts,
		flaps:   newFlapDetector(opts.FlapThreshold, opts.FlapWindow),
		failing: map[string]int{},
	}
	if r, ok := n.(Repeater); ok {
		w.repeat = r.RepeatInterval()
	}
	return w
}

// run delivers queued events and reminders until stop is closed (then it
// delivers what is left) or ctx is done (then it drops what is left).
func (w *worker) run(ctx context.Context, stop <-chan struct{}) {
	var tick <-chan time.Time
	if w.repeat > 0 {
		t := time.NewTicker(w.opts.ReminderCheck)
		defer t.Stop()
		tick = t.C
	}
	for ctx.Err() == nil {
		w.reportDrops(ReasonQueueFull)
		if it, ok := w.q.pop(); ok {
			w.handle(ctx, it)
			continue
		}
		select {
		case <-w.q.wake:
		case now := <-tick:
			w.remind(ctx, now)
		case <-stop:
			w.finish(ctx)
			return
		case <-ctx.Done():
		}
	}
	w.reportDrops(ReasonQueueFull)
	w.q.drain()
	w.reportDrops(ReasonShutdown)
}

// finish delivers what is queued until ctx is done, then drops the rest.
func (w *worker) finish(ctx context.Context) {
	for ctx.Err() == nil {
		it, ok := w.q.pop()
		if !ok {
			break
		}
		w.handle(ctx, it)
	}
	w.reportDrops(ReasonQueueFull)
	w.q.drain()
	w.reportDrops(ReasonShutdown)
}

// handle applies the dedup, flapping and threading policy to one event and
// sends what it calls for.
func (w *worker) handle(ctx context.Context, it item) {
	ev := it.ev
	th, found, storeErr := w.thread(ev)
	p := decide(ev, it.fp, th, found)
	if p.opens && w.flapping(ctx, ev) {
		p = plan{suppress: ReasonFlapping}
	}
	if len(p.messages) == 0 {
		d := w.delivery(Message{Event: ev}, StatusSuppressed)
		d.Reason = p.suppress
		w.opts.OnResult(d)
		return
	}
	for _, m := range p.messages {
		rc, d, report := w.deliver(ctx, m)
		if d.Status == StatusSent {
			th = advance(th, found, w.name, it, m, rc, time.Now())
			found = true
			if err := w.opts.Threads.SaveThread(th); err != nil {
				storeErr = err
			}
		}
		if storeErr != nil {
			d.Err = joinErr(d.Err, "thread store: "+storeErr.Error())
			storeErr = nil
		}
		if report {
			w.opts.OnResult(d)
		}
		if d.Status != StatusSent {
			return
		}
	}
}

// thread reads the episode's record. A store error is treated as "no
// record" (a duplicate parent is better than a lost alert) and returned
// for the report.
func (w *worker) thread(ev Event) (Thread, bool, error) {
	if ev.Episode == "" {
		return Thread{}, false, nil
	}
	th, found, err := w.opts.Threads.Thread(w.name, ev.Episode)
	if err != nil {
		return Thread{}, false, err
	}
	return th, found, nil
}

// flapping records that ev opens an episode and reports whether its object
// is flapping, sending the one note of the burst.
func (w *worker) flapping(ctx context.Context, ev Event) bool {
	v := w.flaps.open(objectKey(ev), ev.Episode, ev.Time)
	if v.note {
		m := Message{Op: OpPost, Note: NoteFlapping, Event: ev,
			Flapping: Flapping{Opens: v.opens, Window: w.opts.FlapWindow}}
		if _, d, report := w.deliver(ctx, m); report {
			w.opts.OnResult(d)
		}
	}
	return v.suppress
}

func objectKey(ev Event) string {
	if ev.Object == "" {
		return ""
	}
	return ev.Target + "\x00" + ev.Destination.Kind + "\x00" + ev.Destination.Name + "\x00" + ev.Object
}

// remind posts a reminder for every open episode whose last message is
// older than the repeat interval.
func (w *worker) remind(ctx context.Context, now time.Time) {
	threads, err := w.opts.Threads.OpenThreads(w.name)
	if err != nil {
		d := w.delivery(Message{Note: NoteReminder}, StatusFailed)
		d.Reason, d.Err = "thread store", "thread store: "+err.Error()
		w.opts.OnResult(d)
		return
	}
	for _, th := range threads {
		if ctx.Err() != nil {
			return
		}
		if now.Sub(th.LastSent) < w.repeat {
			continue
		}
		w.remindOne(ctx, th, now)
	}
}

func (w *worker) remindOne(ctx context.Context, th Thread, now time.Time) {
	ev := th.Last
	ev.Time = now
	m := Message{Op: OpPost, Note: NoteReminder, Event: ev}
	if th.Threaded() {
		m.Op, m.Thread = OpReply, th
	}
	_, d, report := w.deliver(ctx, m)
	// A failed reminder is tried again one interval later, not every check.
	th.LastSent = now
	if err := w.opts.Threads.SaveThread(th); err != nil {
		d.Err = joinErr(d.Err, "thread store: "+err.Error())
	}
	if report {
		w.opts.OnResult(d)
	}
}

// reportDrops reports events the queue dropped since the last report.
func (w *worker) reportDrops(reason string) {
	n, last := w.q.takeDropped()
	if n == 0 {
		return
	}
	d := w.delivery(Message{Event: last}, StatusDropped)
	d.Reason, d.Missed = reason, n
	w.opts.OnResult(d)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
