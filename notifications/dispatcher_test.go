package notifications

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestDispatcherThreadsAnEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "oncall"}
		d, res, stop := start(t, Options{}, rec)
		defer stop()

		for _, ev := range []Event{
			driftEvent(KindDriftOpened, "ep1", replicas),
			driftEvent(KindDriftUpdated, "ep1", replicas),        // unchanged
			driftEvent(KindDriftUpdated, "ep1", replicas, image), // changed
			driftEvent(KindDriftResolved, "ep1"),
			driftEvent(KindDriftResolved, "ep1"), // already resolved
			driftEvent(KindDriftResolved, "ep9"), // never announced
		} {
			d.Publish(ev)
			synctest.Wait()
		}

		wantOps := []string{
			"post drift.opened",
			"reply drift.updated in 100.1",
			"reply drift.resolved in 100.1",
			"update drift.resolved in 100.1",
		}
		if got := ops(rec.messages()); !slices.Equal(got, wantOps) {
			t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantOps, "\n"))
		}
		wantStatus := []string{
			"drift.opened post sent",
			"drift.updated suppressed (unchanged)",
			"drift.updated reply sent",
			"drift.resolved reply sent",
			"drift.resolved update sent",
			"drift.resolved suppressed (episode already resolved)",
			"drift.resolved suppressed (episode not announced)",
		}
		if got := res.statuses(); !slices.Equal(got, wantStatus) {
			t.Errorf("deliveries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantStatus, "\n"))
		}
		// The parent update shows the last state of the episode.
		update := rec.messages()[3]
		if len(update.Thread.Last.Fields) != 2 || update.Thread.Channel != "C1" {
			t.Errorf("update thread = %+v, want the last event (2 fields) in C1", update.Thread)
		}
		first := res.all()[0]
		if first.Channel != "C1" || first.TS != "100.1" || first.Attempts != 1 || first.Episode != "ep1" {
			t.Errorf("first delivery = %+v", first)
		}
	})
}

func TestDispatcherWithoutThreads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "hook", flat: true}
		d, _, stop := start(t, Options{}, rec)
		defer stop()
		for _, ev := range []Event{
			driftEvent(KindDriftOpened, "ep1", replicas),
			driftEvent(KindDriftUpdated, "ep1", replicas),
			driftEvent(KindDriftUpdated, "ep1", image),
			driftEvent(KindDriftResolved, "ep1"),
			{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "web-prod", Message: "boom"},
		} {
			d.Publish(ev)
			synctest.Wait()
		}
		want := []string{"post drift.opened", "post drift.updated", "post drift.resolved", "post apply.failed"}
		if got := ops(rec.messages()); !slices.Equal(got, want) {
			t.Errorf("sent %q, want %q", got, want)
		}
	})
}

func TestDispatcherReopensAfterFailedParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "oncall", fail: func(n int, m Message) error {
			if n == 1 {
				return Permanent("channel_not_found", errors.New("channel_not_found"))
			}
			return nil
		}}
		d, _, stop := start(t, Options{}, rec)
		defer stop()
		d.Publish(driftEvent(KindDriftOpened, "ep1", replicas))
		synctest.Wait()
		d.Publish(driftEvent(KindDriftUpdated, "ep1", replicas))
		synctest.Wait()
		// No thread was saved for the failed parent, so the update opens one.
		if got, want := ops(rec.messages()), []string{"post drift.updated"}; !slices.Equal(got, want) {
			t.Errorf("sent %q, want %q", got, want)
		}
	})
}

func TestDispatcherReminders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "oncall"}
		d, res, stop := start(t, Options{}, repeating{rec, time.Hour})
		defer stop()
		opened := time.Now()
		d.Publish(driftEvent(KindDriftOpened, "ep1", replicas))
		synctest.Wait()

		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if n := len(rec.messages()); n != 1 {
			t.Fatalf("after 59m: %d messages, want only the parent", n)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		time.Sleep(time.Hour)
		synctest.Wait()
		want := []string{"post drift.opened", "reply drift.opened reminder in 100.1", "reply drift.opened reminder in 100.1"}
		if got := ops(rec.messages()); !slices.Equal(got, want) {
			t.Fatalf("sent %q, want %q", got, want)
		}
		reminder := rec.messages()[1]
		if got := reminder.Event.Time.Sub(opened); got < time.Hour || got > time.Hour+time.Minute {
			t.Errorf("first reminder at +%s, want about +1h", got)
		}

		d.Publish(driftEvent(KindDriftResolved, "ep1"))
		synctest.Wait()
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if got := rec.messages(); len(got) != 5 {
			t.Errorf("after resolution: %q, want no more reminders", ops(got))
		}
		if got := res.statuses()[1]; got != "drift.opened reply sent reminder" {
			t.Errorf("reminder delivery = %q", got)
		}
	})
}

func TestDispatcherThreadsSurviveRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryThreads()
		first := &recorder{name: "oncall"}
		d, _, stop := start(t, Options{Threads: store}, first)
		d.Publish(driftEvent(KindDriftOpened, "ep1", replicas))
		synctest.Wait()
		stop()

		// A new process: same store, new dispatcher, new notifier value.
		second := &recorder{name: "oncall", ts: 50}
		d, _, stop = start(t, Options{Threads: store}, repeating{second, time.Hour})
		defer stop()
		d.Publish(driftEvent(KindDriftUpdated, "ep1", replicas)) // unchanged: deduplicated
		d.Publish(driftEvent(KindDriftUpdated, "ep1", image))
		synctest.Wait()
		time.Sleep(time.Hour + time.Minute)
		synctest.Wait()
		want := []string{"reply drift.updated in 100.1", "reply drift.updated reminder in 100.1"}
		if got := ops(second.messages()); !slices.Equal(got, want) {
			t.Errorf("after restart sent %q, want %q", got, want)
		}
	})
}

func TestDispatcherFlapping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "oncall"}
		d, res, stop := start(t, Options{FlapThreshold: 2, FlapWindow: 15 * time.Minute}, rec)
		defer stop()
		cycle := func(ep string) {
			d.Publish(driftEvent(KindDriftOpened, ep, replicas))
			d.Publish(driftEvent(KindDriftResolved, ep))
			synctest.Wait()
			time.Sleep(time.Minute)
		}
		for _, ep := range []string{"ep1", "ep2", "ep3", "ep4"} {
			cycle(ep)
		}
		want := []string{
			"post drift.opened", "reply drift.resolved in 100.1", "update drift.resolved in 100.1",
			"post drift.opened", "reply drift.resolved in 100.4", "update drift.resolved in 100.4",
			"post drift.opened flapping",
		}
		if got := ops(rec.messages()); !slices.Equal(got, want) {
			t.Fatalf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		flap := rec.messages()[6]
		if flap.Flapping.Opens != 3 || flap.Flapping.Window != 15*time.Minute {
			t.Errorf("flapping = %+v, want 3 opens in 15m", flap.Flapping)
		}
		suppressed := 0
		for _, d := range res.all() {
			if d.Reason == ReasonFlapping {
				suppressed++
			}
		}
		if suppressed != 2 {
			t.Errorf("%d deliveries suppressed as flapping, want 2 (ep3, ep4)", suppressed)
		}

		// Once the window has passed the object is announced again.
		time.Sleep(15 * time.Minute)
		cycle("ep5")
		if got := ops(rec.messages()); len(got) != 10 || got[7] != "post drift.opened" {
			t.Errorf("after the window: %q", got)
		}
	})
}

func TestDispatcherDropsOldestWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "slow", flat: true, block: make(chan struct{})}
		d, res, stop := start(t, Options{QueueSize: 2}, rec)
		defer stop()
		for i := range 5 {
			ev := Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "t", Revision: string(rune('a' + i))}
			d.Publish(ev) // never blocks, though the notifier is stuck
			synctest.Wait()
		}
		close(rec.block)
		synctest.Wait()
		var revs []string
		for _, m := range rec.messages() {
			revs = append(revs, m.Event.Revision)
		}
		// a was in flight; b and c were dropped for d and e.
		if want := []string{"a", "d", "e"}; !slices.Equal(revs, want) {
			t.Errorf("delivered %q, want %q", revs, want)
		}
		var dropped []Delivery
		for _, dl := range res.all() {
			if dl.Status == StatusDropped {
				dropped = append(dropped, dl)
			}
		}
		if len(dropped) != 1 || dropped[0].Missed != 2 || dropped[0].Reason != ReasonQueueFull {
			t.Errorf("dropped deliveries = %+v, want one reporting 2 events", dropped)
		}
	})
}

func TestDispatcherRetries(t *testing.T) {
	tests := []struct {
		name         string
		fail         func(n int, m Message) error
		wantAttempts int
		wantStatus   Status
		wantReason   string
		minWait      time.Duration
		maxWait      time.Duration
	}{
		{
			name: "retryable twice then sent",
			fail: func(n int, _ Message) error {
				if n <= 2 {
					return errors.New("connection reset")
				}
				return nil
			},
			wantAttempts: 3, wantStatus: StatusSent,
			minWait: 1500 * time.Millisecond, maxWait: 3 * time.Second, // [0.5,1]s + [1,2]s
		},
		{
			name: "retry-after is honoured",
			fail: func(n int, _ Message) error {
				if n == 1 {
					return RetryAfter(7*time.Second, errors.New("rate limited"))
				}
				return nil
			},
			wantAttempts: 2, wantStatus: StatusSent,
			minWait: 7 * time.Second, maxWait: 7700 * time.Millisecond,
		},
		{
			name:         "retries exhausted",
			fail:         func(int, Message) error { return errors.New("503") },
			wantAttempts: 5, wantStatus: StatusFailed, wantReason: ReasonExhausted,
			minWait: 7500 * time.Millisecond, maxWait: 15 * time.Second,
		},
		{
			name:         "permanent is not retried",
			fail:         func(int, Message) error { return Permanent("invalid_auth", errors.New("invalid_auth")) },
			wantAttempts: 1, wantStatus: StatusFailed, wantReason: "invalid_auth",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{name: "n", fail: tt.fail}
				d, res, stop := start(t, Options{}, rec)
				defer stop()
				begin := time.Now()
				d.Publish(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "t"})
				time.Sleep(time.Minute)
				synctest.Wait()
				got := res.all()
				if len(got) != 1 {
					t.Fatalf("deliveries = %+v, want 1", got)
				}
				dl := got[0]
				if dl.Attempts != tt.wantAttempts || dl.Status != tt.wantStatus || dl.Reason != tt.wantReason {
					t.Errorf("delivery = %+v, want %d attempts, %s (%s)", dl, tt.wantAttempts, tt.wantStatus, tt.wantReason)
				}
				if waited := dl.Time.Sub(begin); waited < tt.minWait || waited > tt.maxWait {
					t.Errorf("waited %s, want within [%s, %s]", waited, tt.minWait, tt.maxWait)
				}
				if rec.callCount() != tt.wantAttempts {
					t.Errorf("Send called %d times, want %d", rec.callCount(), tt.wantAttempts)
				}
			})
		})
	}
}

func TestDispatcherReportsPermanentFailureOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		broken := true
		rec := &recorder{name: "oncall", fail: func(int, Message) error {
			if broken {
				return Permanent("invalid_auth", errors.New("slack notifier oncall: post message: invalid_auth"))
			}
			return nil
		}}
		d, res, stop := start(t, Options{}, rec)
		defer stop()
		publish := func(n int) {
			for range n {
				d.Publish(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "t"})
				synctest.Wait()
			}
		}
		publish(3)
		broken = false
		publish(1)
		broken = true
		publish(1)

		want := []string{
			"apply.failed post failed (invalid_auth)",
			"apply.failed post sent",
			"apply.failed post failed (invalid_auth)",
		}
		if got := res.statuses(); !slices.Equal(got, want) {
			t.Fatalf("deliveries %q, want %q", got, want)
		}
		all := res.all()
		if all[0].Err != "slack notifier oncall: post message: invalid_auth" || all[0].Attempts != 1 {
			t.Errorf("failure = %+v", all[0])
		}
		if all[1].Missed != 2 {
			t.Errorf("recovery Missed = %d, want 2 unreported failures", all[1].Missed)
		}
		if rec.callCount() != 5 {
			t.Errorf("Send called %d times, want 5 (one per event, no retries)", rec.callCount())
		}
	})
}

func TestDispatcherDrainsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "slow", flat: true, delay: time.Second}
		d, res, stop := start(t, Options{DrainTimeout: 10 * time.Second}, rec)
		for range 3 {
			d.Publish(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "t"})
		}
		stop() // Close returns once the queue is delivered
		if got := len(rec.messages()); got != 3 {
			t.Errorf("delivered %d of 3 queued events before Close returned", got)
		}
		d.Publish(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "t"})
		synctest.Wait()
		if got := len(res.all()); got != 3 {
			t.Errorf("%d deliveries, want 3 (events after Close are discarded)", got)
		}
	})
}

func TestDispatcherDrainTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "stuck", flat: true, block: make(chan struct{})}
		d, res, stop := start(t, Options{DrainTimeout: 5 * time.Second}, rec)
		for range 3 {
			d.Publish(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "t"})
		}
		synctest.Wait()
		begin := time.Now()
		stop()
		if took := time.Since(begin); took != 5*time.Second {
			t.Errorf("Close took %s, want the 5s drain timeout", took)
		}
		want := []string{"apply.failed post dropped (shutdown)", "apply.failed dropped (shutdown)"}
		if got := res.statuses(); !slices.Equal(got, want) {
			t.Fatalf("deliveries %q, want %q", got, want)
		}
		if m := res.all()[1].Missed; m != 2 {
			t.Errorf("shutdown drop Missed = %d, want 2", m)
		}
	})
}

func TestDispatcherRoutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		oncall, audit := &recorder{name: "oncall", flat: true}, &recorder{name: "audit", flat: true}
		res := &results{}
		d, err := NewDispatcher([]Notifier{oncall, audit}, Options{
			OnResult: res.add,
			Router: Router{
				Rules:           []Rule{{Kinds: []Kind{KindApplySucceeded}, Notifiers: []string{"audit"}}},
				TargetNotifiers: map[string][]string{"web-prod": {"oncall"}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		go d.Run(t.Context())
		defer d.Close()
		d.Publish(Event{Kind: KindApplySucceeded, Target: "web-prod"})
		d.Publish(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "web-prod"})
		d.Publish(Event{Kind: KindApplyFailed, Severity: SeverityCritical, Target: "other"})
		synctest.Wait()
		if got, want := ops(audit.messages()), []string{"post apply.succeeded"}; !slices.Equal(got, want) {
			t.Errorf("audit got %q, want %q", got, want)
		}
		if got, want := ops(oncall.messages()), []string{"post apply.failed"}; !slices.Equal(got, want) {
			t.Errorf("oncall got %q, want %q", got, want)
		}
	})
}

func TestDispatcherRedactsMaskedFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{name: "oncall"}
		store := NewMemoryThreads()
		d, _, stop := start(t, Options{Threads: store}, rec)
		defer stop()
		leaky := Field{Path: "/data/token", Live: "hunter2-live", Desired: "hunter2-git", Masked: true}
		d.Publish(driftEvent(KindDriftOpened, "ep1", leaky))
		synctest.Wait()
		msgs := rec.messages()
		if len(msgs) != 1 {
			t.Fatalf("sent %d messages", len(msgs))
		}
		got := msgs[0].Event.Fields[0]
		if got.Live != MaskedValue || got.Desired != MaskedValue {
			t.Errorf("notifier received %v → %v, want masked values", got.Desired, got.Live)
		}
		th, _, _ := store.Thread("oncall", "ep1")
		if th.Last.Fields[0].Live != MaskedValue {
			t.Errorf("stored thread keeps %v", th.Last.Fields[0].Live)
		}
	})
}

func TestNewDispatcherErrors(t *testing.T) {
	tests := []struct {
		name      string
		notifiers []Notifier
		router    Router
		want      string
	}{
		{"duplicate", []Notifier{&recorder{name: "a"}, &recorder{name: "a"}}, Router{}, `notifier "a": duplicate name`},
		{"unnamed", []Notifier{&recorder{}}, Router{}, "has no name"},
		{"unknown in rule", []Notifier{&recorder{name: "a"}}, Router{Rules: []Rule{{Notifiers: []string{"b"}}}}, `rules[0]: notifiers: unknown notifier "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDispatcher(tt.notifiers, Options{Router: tt.router})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
