package notifications

import (
	"testing"
	"time"
)

func TestFingerprint(t *testing.T) {
	base := Event{
		Kind: KindDriftOpened, Actor: "kubectl-edit",
		Fields: []Field{replicas, image, password},
	}
	same := func(mut func(*Event)) Event {
		ev := base
		ev.Fields = append([]Field(nil), base.Fields...)
		mut(&ev)
		return ev
	}
	tests := []struct {
		name  string
		ev    Event
		equal bool
	}{
		{"field order does not matter", same(func(e *Event) { e.Fields[0], e.Fields[2] = e.Fields[2], e.Fields[0] }), true},
		{"kind, severity, time and revision do not matter", same(func(e *Event) {
			e.Kind, e.Severity, e.Time, e.Revision = KindDriftUpdated, SeverityCritical, time.Now(), "abc"
		}), true},
		{"a value", same(func(e *Event) { e.Fields[0].Live = float64(6) }), false},
		{"a value's type", same(func(e *Event) { e.Fields[0].Live = "5" }), false},
		{"a masked marker", same(func(e *Event) { e.Fields[2].Live = "<masked>" }), false},
		{"a path", same(func(e *Event) { e.Fields[1].Path = "/spec/x" }), false},
		{"a field's actor", same(func(e *Event) { e.Fields[0].Actor = "kubectl-edit" }), false},
		{"the event's actor", same(func(e *Event) { e.Actor = "helm" }), false},
		{"the message", same(func(e *Event) { e.Message = "denied" }), false},
		{"a pull request opened", same(func(e *Event) { e.PRURL = "https://git.example.com/o/r/pulls/1" }), false},
		{"a removed field", same(func(e *Event) { e.Fields = e.Fields[:2] }), false},
		{"no ambiguity between fields", Event{Fields: []Field{{Path: "a", Actor: "b"}}}, false},
	}
	want := Fingerprint(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fingerprint(tt.ev); (got == want) != tt.equal {
				t.Errorf("Fingerprint equal = %v, want %v", got == want, tt.equal)
			}
		})
	}
}
