package notifications

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Attempts: 8}
	tests := []struct {
		name       string
		attempt    int
		serverWait time.Duration
		min, max   time.Duration
	}{
		{"first retry", 1, 0, 500 * time.Millisecond, time.Second},
		{"doubles", 3, 0, 2 * time.Second, 4 * time.Second},
		{"capped", 7, 0, 5 * time.Second, 10 * time.Second},
		{"server wait wins, even above the cap", 1, 30 * time.Second, 30 * time.Second, 33 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 200 {
				if d := b.Delay(tt.attempt, tt.serverWait); d < tt.min || d > tt.max {
					t.Fatalf("Delay(%d, %s) = %s, want within [%s, %s]", tt.attempt, tt.serverWait, d, tt.min, tt.max)
				}
			}
		})
	}
}
