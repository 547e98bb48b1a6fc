package notifications

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSeverityJSON(t *testing.T) {
	for _, s := range []Severity{SeverityInfo, SeverityWarning, SeverityCritical} {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := json.Unmarshal(data, &back); err != nil || back != s {
			t.Errorf("%s: round trip gave %v, %v", data, back, err)
		}
	}
	var s Severity
	if err := json.Unmarshal([]byte(`"urgent"`), &s); err == nil {
		t.Error("unknown severity must not parse")
	}
	if !(SeverityInfo < SeverityWarning && SeverityWarning < SeverityCritical) {
		t.Error("severities must be ordered")
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := ParseKind("drift.exploded"); err == nil {
		t.Error("unknown kind must not parse")
	}
}

func TestFieldDisplay(t *testing.T) {
	tests := []struct {
		name          string
		field         Field
		desired, live string
	}{
		{"numbers", Field{Desired: float64(3), Live: float64(5)}, "3", "5"},
		{"strings keep HTML characters", Field{Desired: "a<b>&c", Live: nil}, `"a<b>&c"`, Absent},
		{"objects are compact and sorted", Field{Desired: map[string]any{"b": 1, "a": []any{true}}}, `{"a":[true],"b":1}`, Absent},
		{"masked hides whatever it holds", Field{Desired: "hunter2", Live: nil, Masked: true}, MaskedValue, MaskedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, l := tt.field.Display()
			if d != tt.desired || l != tt.live {
				t.Errorf("Display = %q → %q, want %q → %q", d, l, tt.desired, tt.live)
			}
		})
	}
}

func TestEventRedacted(t *testing.T) {
	ev := Event{Fields: []Field{{Path: "/data/a", Live: "s3cret", Desired: "old", Masked: true}, replicas}}
	red := ev.Redacted()
	data, _ := json.Marshal(red)
	if strings.Contains(string(data), "s3cret") || strings.Contains(string(data), "old") {
		t.Errorf("redacted event leaks: %s", data)
	}
	if ev.Fields[0].Live != "s3cret" {
		t.Error("Redacted must not modify the original event")
	}
	if red.Fields[1].Live != float64(5) {
		t.Error("Redacted must keep unmasked values")
	}
}

func TestEventJSON(t *testing.T) {
	ev := Event{
		Kind: KindDriftOpened, Severity: SeverityCritical, Target: "web-prod",
		Destination: Destination{Kind: DestinationCluster, Name: "prod-eu"},
		Time:        time.Date(2026, 3, 1, 2, 14, 0, 0, time.UTC),
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"drift.opened","severity":"critical","target":"web-prod","destination":{"kind":"cluster","name":"prod-eu"},"time":"2026-03-01T02:14:00Z"}`
	if string(data) != want {
		t.Errorf("JSON = %s\nwant   %s", data, want)
	}
}
