package reconciler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// Threads keeps the notification pipeline's episode threads in the state
// store. Deliveries recorded with RecordDelivery carry the thread into the
// history, and RebuildState restores the open ones after a restart.
type Threads struct{ state *state.Store }

var _ notifications.ThreadStore = (*Threads)(nil)

// NewThreads returns the thread store over s.
func NewThreads(s *state.Store) *Threads { return &Threads{state: s} }

// Thread implements notifications.ThreadStore.
func (t *Threads) Thread(notifier, episode string) (notifications.Thread, bool, error) {
	st, err := t.state.Thread(nil, notifier, episode)
	if err != nil || st == nil {
		return notifications.Thread{}, false, err
	}
	th, err := decodeThread(*st)
	return th, err == nil, err
}

// SaveThread implements notifications.ThreadStore.
func (t *Threads) SaveThread(th notifications.Thread) error {
	data, err := json.Marshal(th)
	if err != nil {
		return fmt.Errorf("thread %s/%s: encode: %w", th.Notifier, th.Episode, err)
	}
	return t.state.SaveThread(state.Thread{Notifier: th.Notifier, Episode: th.Episode, Resolved: th.Resolved, Data: data})
}

// OpenThreads implements notifications.ThreadStore.
func (t *Threads) OpenThreads(notifier string) ([]notifications.Thread, error) {
	open, err := t.state.OpenThreads(nil, notifier)
	if err != nil {
		return nil, err
	}
	out := make([]notifications.Thread, 0, len(open))
	for _, st := range open {
		th, err := decodeThread(st)
		if err != nil {
			return nil, err
		}
		out = append(out, th)
	}
	return out, nil
}

func decodeThread(st state.Thread) (notifications.Thread, error) {
	var th notifications.Thread
	if err := json.Unmarshal(st.Data, &th); err != nil {
		return notifications.Thread{}, fmt.Errorf("thread %s/%s: decode: %w", st.Notifier, st.Episode, err)
	}
	return th, nil
}

// deliveryData is the Data of a notification record: the delivery and,
// for an episode, its thread as it stands after the delivery.
type deliveryData struct {
	Delivery notifications.Delivery `json:"delivery"`
	Thread   *notifications.Thread  `json:"thread,omitempty"`
}

// RecordDelivery appends a notification record for d: what was sent,
// failed, dropped or suppressed, to which notifier. It is the
// notification pipeline's OnResult hook.
func (r *Reconciler) RecordDelivery(ctx context.Context, d notifications.Delivery) {
	if r.rec.history == nil {
		return
	}
	data := deliveryData{Delivery: d}
	if d.Episode != "" && r.rec.state != nil {
		if th, ok, err := NewThreads(r.rec.state).Thread(d.Notifier, d.Episode); err == nil && ok {
			data.Thread = &th
		}
	}
	msg := fmt.Sprintf("%s %s to %s", d.Kind, d.Status, d.Notifier)
	if d.Reason != "" {
		msg += " (" + d.Reason + ")"
	}
	if d.Err != "" {
		msg += ": " + d.Err
	}
	rec := history.Record{Type: history.TypeNotification, Time: d.Time, Target: d.Target, Object: d.Object,
		Actor: "trueup", Outcome: string(d.Status), Message: msg, Data: mustJSON(data)}
	if rec.Time.IsZero() {
		rec.Time = r.now()
	}
	if err := r.rec.append(ctx, []history.Record{rec}); err != nil {
		r.log.Error("history not recorded", "notifier", d.Notifier, "error", err.Error())
	}
}

// restoreThreads reads the notification records and restores the threads
// that were still open at their last delivery.
func restoreThreads(ctx context.Context, h history.Store, s *state.Store) (int, error) {
	open, err := openThreads(ctx, h, "")
	if err != nil {
		return 0, err
	}
	return len(open), s.RestoreThreads(open)
}

// pages calls fn with every record matching f, in Seq order, a page at a
// time.
func pages(ctx context.Context, h history.Store, f history.Filter, fn func(history.Record) error) error {
	for {
		recs, err := h.Query(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < f.Limit {
			return nil
		}
		f.AfterSeq = recs[len(recs)-1].Seq
	}
}
