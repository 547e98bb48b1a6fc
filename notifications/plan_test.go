package notifications

import (
	"slices"
	"testing"
)

func TestDecide(t *testing.T) {
	open := Thread{Notifier: "n", Episode: "ep", Channel: "C1", TS: "1.1", Fingerprint: "fp1"}
	flat := Thread{Notifier: "n", Episode: "ep", Fingerprint: "fp1"}
	resolved := open
	resolved.Resolved = true
	tests := []struct {
		name     string
		ev       Event
		fp       string
		th       Thread
		found    bool
		want     []Op
		suppress string
		opens    bool
	}{
		{name: "one-off event is posted", ev: Event{Kind: KindApplyFailed}, want: []Op{OpPost}},
		{name: "new episode opens", ev: Event{Kind: KindDriftOpened, Episode: "ep"}, fp: "fp1", want: []Op{OpPost}, opens: true},
		{name: "update of an unknown episode opens it", ev: Event{Kind: KindDriftUpdated, Episode: "ep"}, want: []Op{OpPost}, opens: true},
		{name: "unchanged is suppressed", ev: Event{Kind: KindDriftUpdated, Episode: "ep"}, fp: "fp1", th: open, found: true, suppress: ReasonUnchanged},
		{name: "changed replies in the thread", ev: Event{Kind: KindDriftUpdated, Episode: "ep"}, fp: "fp2", th: open, found: true, want: []Op{OpReply}},
		{name: "changed without thread posts", ev: Event{Kind: KindDriftUpdated, Episode: "ep"}, fp: "fp2", th: flat, found: true, want: []Op{OpPost}},
		{name: "resolution replies and updates the parent", ev: Event{Kind: KindDriftResolved, Episode: "ep"}, th: open, found: true, want: []Op{OpReply, OpUpdate}},
		{name: "compliance resolution too", ev: Event{Kind: KindComplianceResolved, Episode: "ep"}, th: open, found: true, want: []Op{OpReply, OpUpdate}},
		{name: "resolution without thread posts", ev: Event{Kind: KindDriftResolved, Episode: "ep"}, th: flat, found: true, want: []Op{OpPost}},
		{name: "resolution of an unknown episode is suppressed", ev: Event{Kind: KindDriftResolved, Episode: "ep"}, suppress: ReasonNotAnnounced},
		{name: "second resolution is suppressed", ev: Event{Kind: KindDriftResolved, Episode: "ep"}, th: resolved, found: true, suppress: ReasonResolved},
		{name: "event after resolution reopens", ev: Event{Kind: KindDriftOpened, Episode: "ep"}, fp: "fp1", th: resolved, found: true, want: []Op{OpPost}, opens: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decide(tt.ev, tt.fp, tt.th, tt.found)
			var got []Op
			for _, m := range p.messages {
				got = append(got, m.Op)
				if m.Op != OpPost && m.Thread.TS != tt.th.TS {
					t.Errorf("%s message thread = %q, want %q", m.Op, m.Thread.TS, tt.th.TS)
				}
			}
			if !slices.Equal(got, tt.want) || p.suppress != tt.suppress || p.opens != tt.opens {
				t.Errorf("decide = %v suppress=%q opens=%v, want %v suppress=%q opens=%v",
					got, p.suppress, p.opens, tt.want, tt.suppress, tt.opens)
			}
		})
	}
}
