package health

import (
	"strings"
	"testing"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestCheckStatus(t *testing.T) {
	c, err := Compile(Rule{APIVersion: "example.com/v1", Kind: "Widget",
		InProgress: "has(status.observedGeneration) && status.observedGeneration < metadata.generation",
		Failed:     "status.conditions.exists(c, c.type == 'Ready' && c.status == 'False' && c.reason == 'Broken')",
		Current:    "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
	})
	if err != nil {
		t.Fatal(err)
	}
	ready := func(s, reason string) []any {
		return []any{map[string]any{"type": "Ready", "status": s, "reason": reason}}
	}
	tests := []struct {
		name    string
		obj     map[string]any
		want    status.Status
		wantErr string
	}{
		{"current", map[string]any{"metadata": map[string]any{"generation": int64(2)}, "status": map[string]any{"observedGeneration": int64(2), "conditions": ready("True", "")}}, status.CurrentStatus, ""},
		{"in progress wins over current", map[string]any{"metadata": map[string]any{"generation": int64(3)}, "status": map[string]any{"observedGeneration": int64(2), "conditions": ready("True", "")}}, status.InProgressStatus, ""},
		{"failed", map[string]any{"status": map[string]any{"conditions": ready("False", "Broken")}}, status.FailedStatus, ""},
		{"none true: in progress", map[string]any{"status": map[string]any{"conditions": ready("False", "Waiting")}}, status.InProgressStatus, ""},
		{"no status: an evaluation error", map[string]any{}, "", "health check Widget.example.com: evaluate failed: no such key: conditions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: tt.obj}
			res, err := c.Status(u)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, tt.want)
			}
		})
	}
}

func TestCompileErrorsNameTheirField(t *testing.T) {
	_, err := Compile(Rule{APIVersion: "example.com/v1", Kind: "Widget", Current: "status.phase ==", InProgress: "1 + 1"})
	if err == nil {
		t.Fatal("compiled")
	}
	for _, want := range []string{"inProgress: the expression is of type int: want a bool", "current: does not compile: at 1:16: Syntax error: mismatched input '<EOF>'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// BenchmarkCheckStatus is one evaluation of a three-expression check, per
// object per poll of a health wait.
func BenchmarkCheckStatus(b *testing.B) {
	c, err := Compile(Rule{APIVersion: "example.com/v1", Kind: "Widget",
		InProgress: "has(status.observedGeneration) && status.observedGeneration < metadata.generation",
		Failed:     "has(status.phase) && status.phase == 'Broken'",
		Current:    "has(status.phase) && status.phase == 'Ready'"})
	if err != nil {
		b.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": int64(2)},
		"status": map[string]any{"observedGeneration": int64(2), "phase": "Ready"}}}
	for b.Loop() {
		if _, err := c.Status(u); err != nil {
			b.Fatal(err)
		}
	}
}
