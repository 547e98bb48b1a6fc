package config

import (
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// FreezeWindow holds new revisions of the targets it selects while it is
// open: a recurring window (Cron starts it, Duration long) or a one-off one
// (Start to End). Drift is still found; it is healed only when Allow
// names "heal", else reported as in alert mode.
type FreezeWindow struct {
	Name string `json:"name"`
	// Cron is a standard 5-field schedule (minute hour day month weekday,
	// or @daily and the like) of the window's starts, in Timezone.
	Cron     string   `json:"cron,omitempty"`
	Duration Duration `json:"duration,omitempty"`
	// Start and End bound a one-off window: RFC 3339 times, or
	// 2006-01-02T15:04 in Timezone.
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// Timezone is an IANA zone name (Europe/Berlin); default UTC.
	Timezone string `json:"timezone,omitempty"`
	// Targets are target name globs; TargetLabels must all be set on the
	// target with these values. Both empty: every target.
	Targets      []string          `json:"targets,omitempty"`
	TargetLabels map[string]string `json:"targetLabels,omitempty"`
	// Allow lists what still happens during the window: "heal".
	Allow []string `json:"allow,omitempty"`
}

// FreezeAllowHeal lets drift heal during a window.
const FreezeAllowHeal = "heal"

// localTimeLayouts are the accepted forms of start and end without a zone.
var localTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"}

// Selects reports whether the window applies to the target.
func (f *FreezeWindow) Selects(t *Target) bool {
	if len(f.Targets) > 0 && !slices.ContainsFunc(f.Targets, func(g string) bool {
		ok, _ := path.Match(g, t.Name)
		return ok
	}) {
		return false
	}
	for k, v := range f.TargetLabels {
		if got, ok := t.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// AllowsHeal reports whether drift heals during the window.
func (f *FreezeWindow) AllowsHeal() bool { return slices.Contains(f.Allow, FreezeAllowHeal) }

// OpenAt reports whether the window is open at now and, if so, when it
// closes (overlapping recurrences extend it).
func (f *FreezeWindow) OpenAt(now time.Time) (end time.Time, open bool, err error) {
	loc, err := f.location()
	if err != nil {
		return time.Time{}, false, err
	}
	if f.Cron == "" {
		start, err := parseWindowTime(f.Start, loc)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("freeze window %q: start: %w", f.Name, err)
		}
		end, err := parseWindowTime(f.End, loc)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("freeze window %q: end: %w", f.Name, err)
		}
		return end, !now.Before(start) && now.Before(end), nil
	}
	sched, err := cron.ParseStandard(f.Cron)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("freeze window %q: cron: %w", f.Name, err)
	}
	d := f.Duration.Duration
	// The last start at or before now, if the window it opened still runs:
	// the first start after now-d (cron's Next is strictly after).
	start := sched.Next(now.Add(-d).In(loc))
	if start.IsZero() || start.After(now) {
		return time.Time{}, false, nil
	}
	end = start.Add(d)
	for range 1000 { // a start within the window extends it
		next := sched.Next(start)
		if next.IsZero() || next.After(end) {
			break
		}
		start, end = next, next.Add(d)
	}
	return end, true, nil
}

func (f *FreezeWindow) location() (*time.Location, error) {
	if f.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(f.Timezone)
	if err != nil {
		return nil, fmt.Errorf("freeze window %q: timezone %q: %w", f.Name, f.Timezone, err)
	}
	return loc, nil
}

// parseWindowTime reads an RFC 3339 time, or a local one in loc.
func parseWindowTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range localTimeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-12-24T00:00:00Z) or 2026-12-24T00:00 in the window's timezone", s)
}
