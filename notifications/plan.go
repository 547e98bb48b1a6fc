package notifications

import "time"

// plan is what a worker does with one event for one notifier: the messages
// to send in order, or why nothing is sent.
type plan struct {
	messages []Message
	suppress string
	// opens is set when the event opens (or reopens) an episode, which is
	// what the flapping detector counts.
	opens bool
}

// decide is the dedup and threading policy, a pure function of the event,
// its fingerprint and the notifier's record of the episode (found reports
// whether there is one).
//
//   - A one-off event (no Episode) is posted.
//   - A resolving event closes an open episode: a reply in the thread and an
//     update of the parent, or a post where there are no threads. Nothing is
//     sent for an episode this notifier never announced or already closed.
//   - Any other episodic event opens the episode when it is not open (a new
//     parent), and otherwise is sent (as a reply, or a post without
//     threads) only when its fingerprint differs from the last one sent.
func decide(ev Event, fp string, th Thread, found bool) plan {
	post := Message{Op: OpPost, Event: ev}
	reply := Message{Op: OpReply, Event: ev, Thread: th}
	switch {
	case ev.Episode == "":
		return plan{messages: []Message{post}}
	case ev.Kind.Resolves() && !found:
		return plan{suppress: ReasonNotAnnounced}
	case ev.Kind.Resolves() && th.Resolved:
		return plan{suppress: ReasonResolved}
	case ev.Kind.Resolves() && th.Threaded():
		update := Message{Op: OpUpdate, Event: ev, Thread: th}
		return plan{messages: []Message{reply, update}}
	case ev.Kind.Resolves():
		return plan{messages: []Message{post}}
	case !found || th.Resolved:
		return plan{messages: []Message{post}, opens: true}
	case fp == th.Fingerprint:
		return plan{suppress: ReasonUnchanged}
	case th.Threaded():
		return plan{messages: []Message{reply}}
	default:
		return plan{messages: []Message{post}}
	}
}

// advance returns the notifier's record of the episode after m was sent
// for it at now and the destination answered rc.
func advance(th Thread, found bool, notifier string, it item, m Message, rc Receipt, now time.Time) Thread {
	ev := it.ev
	if ev.Kind.Resolves() {
		th.Resolved = true
		return th
	}
	if !found || th.Resolved {
		th = Thread{Notifier: notifier, Episode: ev.Episode}
		if m.Op == OpPost {
			th.Channel, th.TS = rc.Channel, rc.TS
		}
	}
	th.Fingerprint, th.LastSent, th.Last = it.fp, now, ev
	return th
}
