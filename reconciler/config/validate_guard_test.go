package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const guardBase = header + `sources:
  - name: platform
    url: https://git.example.com/platform.git
clusters:
  - name: prod
    kubeconfig: {path: /etc/kubeconfig}
`

func TestValidateGuards(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the errors; none: valid
	}{
		{
			name: "valid windows, dependencies and checks",
			yaml: guardBase + `targets:
  - {name: crds, source: platform, cluster: prod}
  - {name: apps, source: platform, cluster: prod, dependsOn: [crds]}
freeze:
  - {name: weekend, cron: "0 18 * * 5", duration: 62h, timezone: Europe/Berlin, targets: [app*], allow: [heal]}
  - {name: xmas, start: "2026-12-24T00:00", end: "2026-12-27T00:00", targetLabels: {tier: prod}}
healthChecks:
  - apiVersion: example.com/v1
    kind: Widget
    current: "status.phase == 'Ready'"
    failed: "status.phase == 'Broken'"
`,
		},
		{
			name: "a cycle names every target and field path",
			yaml: guardBase + `targets:
  - {name: a, source: platform, cluster: prod}
  - {name: b, source: platform, cluster: prod, dependsOn: [a, c]}
  - {name: c, source: platform, cluster: prod, dependsOn: [b]}
`,
			want: []string{`targets[1].dependsOn[1]: dependency cycle: "b" (targets[1].dependsOn[1]) -> "c" (targets[2].dependsOn[0]) -> "b": remove one of these dependencies`},
		},
		{
			name: "unknown and self dependencies",
			yaml: guardBase + `targets:
  - {name: crds, source: platform, cluster: prod, dependsOn: [crds]}
  - {name: apps, source: platform, cluster: prod, dependsOn: [crd]}
`,
			want: []string{
				`targets[0].dependsOn[0]: target "crds" depends on itself`,
				`targets[1].dependsOn[0]: unknown target "crd" (did you mean "crds"?)`,
			},
		},
		{
			name: "broken windows",
			yaml: guardBase + `freeze:
  - {name: a, cron: "0 18 * *", timezone: Mars/Olympus}
  - {name: a, start: "tomorrow", end: "2026-12-24T00:00", duration: 1h, allow: [heals], targets: ["["]}
  - {name: c, cron: "@daily", duration: 1h, start: "2026-12-24T00:00"}
  - {name: d}
  - {name: e, start: "2026-12-24T00:00", end: "2026-12-23T00:00"}
`,
			want: []string{
				`freeze[0].cron: "0 18 * *" is not a 5-field schedule`,
				`freeze[0].duration: required with cron`,
				`freeze[0].timezone: unknown time zone "Mars/Olympus"`,
				`freeze[1].name: duplicate name "a" (also freeze[0])`,
				`freeze[1].start: "tomorrow" is not a time`,
				`freeze[1].duration: only with cron`,
				`freeze[1].allow[0]: unknown value "heals": use heal`,
				`freeze[1].targets[0]: "[" is not a valid glob`,
				`freeze[2]: set either cron and duration (a recurring window) or start and end (a one-off window), not both`,
				`freeze[3]: set cron and duration (a recurring window) or start and end (a one-off window)`,
				`freeze[4].end: 2026-12-23T00:00 is not after start 2026-12-24T00:00`,
			},
		},
		{
			name: "health check expressions that do not compile",
			yaml: guardBase + `healthChecks:
  - apiVersion: example.com/v1
    kind: Widget
    current: "status.phase =="
    failed: "status.phase"
  - apiVersion: example.com/v1
    kind: Gadget
    inProgress: "true"
  - {apiVersion: example.com/v1, kind: Widget, current: "true"}
`,
			want: []string{
				`healthChecks[0].current: does not compile: at 1:16: Syntax error`,
				`healthChecks[1].current: required`,
				`healthChecks[2]: a second check of example.com/v1 Widget (also healthChecks[0])`,
			},
		},
		{
			name: "a non-bool expression",
			yaml: guardBase + `healthChecks:
  - {apiVersion: example.com/v1, kind: Widget, current: "'ready'"}
`,
			want: []string{`healthChecks[0].current: the expression is of type string: want a bool`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParse(t, tt.yaml, tt.want) })
	}
}

// checkParse parses yaml and wants exactly the errors that contain each
// of want (none: a valid config).
func checkParse(t *testing.T, yaml string, want []string) {
	t.Helper()
	_, err := Parse([]byte(yaml))
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("want valid, got:\n%v", err)
		}
		return
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	for _, w := range want {
		if !strings.Contains(es.Error(), w) {
			t.Errorf("missing %q in:\n%s", w, es.Error())
		}
	}
	if len(es) != len(want) {
		t.Errorf("want %d errors, got %d:\n%s", len(want), len(es), es.Error())
	}
}

func TestFreezeWindowOpenAt(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	weekend := FreezeWindow{Name: "weekend", Cron: "0 18 * * 5", Duration: Duration{62 * time.Hour}, Timezone: "Europe/Berlin"}
	twoStarts := FreezeWindow{Name: "overlap", Cron: "0 10,11 * * *", Duration: Duration{90 * time.Minute}}
	oneOff := FreezeWindow{Name: "xmas", Start: "2026-12-24T00:00", End: "2026-12-27T00:00", Timezone: "Europe/Berlin"}
	tests := []struct {
		name     string
		w        FreezeWindow
		now      time.Time
		wantOpen bool
		wantEnd  time.Time
	}{
		{"before the weekend", weekend, time.Date(2026, 12, 4, 17, 59, 0, 0, berlin), false, time.Time{}},
		{"at its start", weekend, time.Date(2026, 12, 4, 18, 0, 0, 0, berlin), true, time.Date(2026, 12, 7, 8, 0, 0, 0, berlin)},
		{"on Sunday", weekend, time.Date(2026, 12, 6, 12, 0, 0, 0, berlin), true, time.Date(2026, 12, 7, 8, 0, 0, 0, berlin)},
		{"at its end", weekend, time.Date(2026, 12, 7, 8, 0, 0, 0, berlin), false, time.Time{}},
		{"the zone counts: 17:30 UTC is 18:30 in Berlin", weekend, time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC), true, time.Date(2026, 12, 7, 8, 0, 0, 0, berlin)},
		{"overlapping starts extend the window", twoStarts, time.Date(2026, 12, 4, 10, 15, 0, 0, time.UTC), true, time.Date(2026, 12, 4, 12, 30, 0, 0, time.UTC)},
		{"one-off, inside", oneOff, time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC), true, time.Date(2026, 12, 27, 0, 0, 0, 0, berlin)},
		{"one-off, after", oneOff, time.Date(2026, 12, 27, 0, 0, 0, 0, berlin), false, time.Date(2026, 12, 27, 0, 0, 0, 0, berlin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end, open, err := tt.w.OpenAt(tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if open != tt.wantOpen || (open && !end.Equal(tt.wantEnd)) {
				t.Fatalf("OpenAt(%s) = %s, %v; want %s, %v", tt.now, end, open, tt.wantEnd, tt.wantOpen)
			}
		})
	}
}

// FuzzFreezeWindowOpenAt: any window that validates answers OpenAt without
// error, and an open window ends after now.
func FuzzFreezeWindowOpenAt(f *testing.F) {
	f.Add("0 18 * * 5", int64(62*time.Hour), "", "", "Europe/Berlin", int64(1796000000))
	f.Add("0 10,11 * * *", int64(90*time.Minute), "", "", "", int64(1796000000))
	f.Add("@every 1m", int64(time.Hour), "", "", "UTC", int64(0))
	f.Add("", int64(0), "2026-12-24T00:00", "2026-12-27T00:00", "America/New_York", int64(1798000000))
	f.Fuzz(func(t *testing.T, cron string, d int64, start, end, tz string, unix int64) {
		w := FreezeWindow{Name: "w", Cron: cron, Duration: Duration{time.Duration(d)}, Start: start, End: end, Timezone: tz}
		e := &errs{}
		validateFreeze(e, "freeze[0]", &w)
		if e.result() != nil {
			return
		}
		now := time.Unix(unix%(1<<40), 0)
		until, open, err := w.OpenAt(now)
		if err != nil {
			t.Fatalf("a valid window %+v: OpenAt: %v", w, err)
		}
		if open && !until.After(now) {
			t.Fatalf("window %+v open at %s until %s", w, now, until)
		}
	})
}

// BenchmarkFreezeWindowOpenAt is the cost a freeze window adds to each
// reconcile of a target it selects.
func BenchmarkFreezeWindowOpenAt(b *testing.B) {
	w := FreezeWindow{Name: "weekend", Cron: "0 18 * * 5", Duration: Duration{62 * time.Hour}, Timezone: "Europe/Berlin"}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, _, err := w.OpenAt(now); err != nil {
			b.Fatal(err)
		}
	}
}
