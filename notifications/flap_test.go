package notifications

import (
	"testing"
	"time"
)

func TestFlapDetector(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	type step struct {
		object, episode string
		at              time.Duration
		want            flapVerdict
	}
	tests := []struct {
		name      string
		threshold int
		steps     []step
	}{
		{"under the threshold", 3, []step{
			{"o", "e1", 0, flapVerdict{opens: 1}},
			{"o", "e2", time.Minute, flapVerdict{opens: 2}},
			{"o", "e3", 2 * time.Minute, flapVerdict{opens: 3}},
		}},
		{"one note per burst", 2, []step{
			{"o", "e1", 0, flapVerdict{opens: 1}},
			{"o", "e2", time.Minute, flapVerdict{opens: 2}},
			{"o", "e3", 2 * time.Minute, flapVerdict{suppress: true, note: true, opens: 3}},
			{"o", "e3", 3 * time.Minute, flapVerdict{suppress: true, opens: 3}}, // same episode again
			{"o", "e4", 4 * time.Minute, flapVerdict{suppress: true, opens: 4}},
			{"other", "x1", 4 * time.Minute, flapVerdict{opens: 1}}, // objects are independent
		}},
		{"the window slides", 2, []step{
			{"o", "e1", 0, flapVerdict{opens: 1}},
			{"o", "e2", time.Minute, flapVerdict{opens: 2}},
			{"o", "e3", 2 * time.Minute, flapVerdict{suppress: true, note: true, opens: 3}},
			{"o", "e4", 16*time.Minute + 30*time.Second, flapVerdict{opens: 2}}, // e1, e2 fell out
			{"o", "e5", 17 * time.Minute, flapVerdict{suppress: true, note: true, opens: 3}},
		}},
		{"disabled", -1, []step{
			{"o", "e1", 0, flapVerdict{}},
			{"o", "e2", 0, flapVerdict{}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlapDetector(tt.threshold, 15*time.Minute)
			for i, s := range tt.steps {
				if got := f.open(s.object, s.episode, t0.Add(s.at)); got != s.want {
					t.Errorf("step %d (%s %s): %+v, want %+v", i, s.object, s.episode, got, s.want)
				}
			}
		})
	}
}

func TestFlapDetectorForgetsIdleObjects(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	f := newFlapDetector(5, 15*time.Minute)
	f.open("a", "e1", t0)
	f.open("b", "e1", t0.Add(time.Hour))
	if _, ok := f.objects["a"]; ok || len(f.objects) != 1 {
		t.Errorf("objects = %v, want only b", f.objects)
	}
}
