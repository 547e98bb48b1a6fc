package notifications

import (
	"context"
	"time"
)

// deliver sends m with retries and returns the receipt, the Delivery that
// describes the outcome, and whether to report it: a permanent failure
// whose reason was already reported is counted instead.
func (w *worker) deliver(ctx context.Context, m Message) (Receipt, Delivery, bool) {
	rc, attempts, err := w.send(ctx, m)
	d := w.delivery(m, StatusSent)
	d.Attempts = attempts
	d.Channel, d.TS = rc.Channel, rc.TS
	if m.Op == OpUpdate && d.TS == "" {
		d.Channel, d.TS = m.Thread.Channel, m.Thread.TS
	}
	switch {
	case err == nil:
		d.Missed = w.recovered()
		return rc, d, true
	case ctx.Err() != nil:
		d.Status, d.Reason, d.Err = StatusDropped, ReasonShutdown, err.Error()
		return rc, d, true
	case IsPermanent(err):
		reason := permanentReason(err)
		d.Status, d.Reason, d.Err = StatusFailed, reason, err.Error()
		return rc, d, w.firstFailure(reason)
	default:
		d.Status, d.Reason, d.Err = StatusFailed, ReasonExhausted, err.Error()
		return rc, d, true
	}
}

// send calls Send until it succeeds, fails permanently, runs out of
// attempts, or ctx is done; it waits Backoff.Delay between attempts.
func (w *worker) send(ctx context.Context, m Message) (Receipt, int, error) {
	for attempt := 1; ; attempt++ {
		rc, err := w.attempt(ctx, m)
		if err == nil || IsPermanent(err) || ctx.Err() != nil || attempt >= w.opts.Backoff.Attempts {
			return rc, attempt, err
		}
		if sleep(ctx, w.opts.Backoff.Delay(attempt, retryAfter(err))) != nil {
			return rc, attempt, err
		}
	}
}

func (w *worker) attempt(ctx context.Context, m Message) (Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.AttemptTimeout)
	defer cancel()
	return w.n.Send(ctx, m)
}

// firstFailure records a permanent failure and reports whether it is the
// first with this reason since the notifier last succeeded.
func (w *worker) firstFailure(reason string) bool {
	if _, seen := w.failing[reason]; seen {
		w.failing[reason]++
		return false
	}
	w.failing[reason] = 0
	return true
}

// recovered forgets reported permanent failures after a success and
// returns how many failures went unreported.
func (w *worker) recovered() int {
	missed := 0
	for reason, n := range w.failing {
		missed += n
		delete(w.failing, reason)
	}
	return missed
}

// delivery returns a Delivery for m with the event's identity.
func (w *worker) delivery(m Message, status Status) Delivery {
	ev := m.Event
	return Delivery{
		Notifier: w.name, Kind: ev.Kind, Op: m.Op, Note: m.Note,
		Episode: ev.Episode, Target: ev.Target, Object: ev.Object,
		Status: status, Time: time.Now(),
	}
}
