package log

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/notifications"
)

func TestSendLogsBySeverity(t *testing.T) {
	tests := []struct {
		name      string
		severity  notifications.Severity
		wantLevel string
	}{
		{"info", notifications.SeverityInfo, "INFO"},
		{"warning", notifications.SeverityWarning, "WARN"},
		{"critical", notifications.SeverityCritical, "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			n := New("log", slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
			ev := notifications.Event{
				Kind: notifications.KindDriftOpened, Severity: tt.severity, Target: "web-prod",
				Destination: notifications.Destination{Kind: notifications.DestinationCluster, Name: "prod-eu"},
				Object:      "Secret/prod/db", Episode: "ep1", Actor: "kubectl-edit",
				Since: time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC),
				Fields: []notifications.Field{
					{Path: "/data/password", Live: "leaked-live", Desired: "leaked-git", Masked: true},
					{Path: "/metadata/labels/tier", Live: "db", Desired: "database"},
				},
			}
			rc, err := n.Send(t.Context(), notifications.Message{Op: notifications.OpPost, Event: ev})
			if err != nil || rc.Detail != "logged" {
				t.Fatalf("Send = %+v, %v", rc, err)
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			want := map[string]any{
				"level": tt.wantLevel, "msg": "notification", "notifier": "log", "kind": "drift.opened",
				"severity": tt.severity.String(), "target": "web-prod", "cluster": "prod-eu",
				"object": "Secret/prod/db", "episode": "ep1", "actor": "kubectl-edit", "since": "2026-03-01T01:00:00Z",
			}
			for k, v := range want {
				if rec[k] != v {
					t.Errorf("%s = %v, want %v", k, rec[k], v)
				}
			}
			fields, _ := rec["fields"].([]any)
			if len(fields) != 2 || fields[0] != "/data/password: git: <masked>  live: <masked>" || fields[1] != `/metadata/labels/tier: git: "database"  live: "db"` {
				t.Errorf("fields = %v", rec["fields"])
			}
			if strings.Contains(buf.String(), "leaked") {
				t.Errorf("a masked value reached the log: %s", buf.String())
			}
		})
	}
}

func TestSendCapsFields(t *testing.T) {
	var buf bytes.Buffer
	n := New("log", slog.New(slog.NewJSONHandler(&buf, nil)))
	ev := notifications.Event{Kind: notifications.KindDriftUpdated, Severity: notifications.SeverityWarning}
	for range 25 {
		ev.Fields = append(ev.Fields, notifications.Field{Path: "/a", Live: 1, Desired: 2})
	}
	if _, err := n.Send(t.Context(), notifications.Message{Op: notifications.OpReply, Event: ev}); err != nil {
		t.Fatal(err)
	}
	var rec struct{ Fields []string }
	_ = json.Unmarshal(buf.Bytes(), &rec)
	if len(rec.Fields) != 21 || rec.Fields[20] != "… and 5 more" {
		t.Errorf("fields = %d lines, last %q", len(rec.Fields), rec.Fields[len(rec.Fields)-1])
	}
}

func TestUpdateIsNotLoggedTwice(t *testing.T) {
	var buf bytes.Buffer
	n := New("log", slog.New(slog.NewJSONHandler(&buf, nil)))
	if _, err := n.Send(t.Context(), notifications.Message{Op: notifications.OpUpdate, Event: notifications.Event{Kind: notifications.KindDriftResolved}}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("update logged: %s", buf.String())
	}
}

func TestTest(t *testing.T) {
	var buf bytes.Buffer
	n := New("log", slog.New(slog.NewJSONHandler(&buf, nil)))
	if _, err := n.Test(t.Context()); err != nil || !strings.Contains(buf.String(), `"kind":"test"`) {
		t.Errorf("Test: %v, logged %s", err, buf.String())
	}
}
