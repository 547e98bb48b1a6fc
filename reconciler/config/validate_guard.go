package config

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/trueup-dev/trueup/reconciler/health"
)

// MaxFreezeDuration bounds a recurring window's duration.
const MaxFreezeDuration = 366 * 24 * time.Hour

// validateGuards checks freeze windows, dependsOn and health checks.
func validateGuards(e *errs, c *Config) {
	seen := map[string]int{}
	for i := range c.Freeze {
		p := index("freeze", i)
		if j, dup := seen[c.Freeze[i].Name]; dup && c.Freeze[i].Name != "" {
			e.add(field(p, "name"), "duplicate name %q (also freeze[%d])", c.Freeze[i].Name, j)
		}
		seen[c.Freeze[i].Name] = i
		validateFreeze(e, p, &c.Freeze[i])
	}
	validateDependsOn(e, c)
	kinds := map[string]int{}
	for i := range c.HealthChecks {
		p := index("healthChecks", i)
		h := c.HealthChecks[i]
		key := h.APIVersion + "/" + h.Kind
		if j, dup := kinds[key]; dup {
			e.add(p, "a second check of %s %s (also healthChecks[%d]): merge them", h.APIVersion, h.Kind, j)
		}
		kinds[key] = i
		validateHealthCheck(e, p, h)
	}
}

func validateFreeze(e *errs, p string, f *FreezeWindow) {
	if f.Name == "" {
		e.add(field(p, "name"), "required: names the window in status and history")
	}
	loc := time.UTC
	if f.Timezone != "" {
		l, err := time.LoadLocation(f.Timezone)
		if err != nil {
			e.add(field(p, "timezone"), "unknown time zone %q: use an IANA name like Europe/Berlin or UTC", f.Timezone)
		} else {
			loc = l
		}
	}
	switch {
	case f.Cron != "" && (f.Start != "" || f.End != ""):
		e.add(p, "set either cron and duration (a recurring window) or start and end (a one-off window), not both")
	case f.Cron != "":
		if strings.HasPrefix(f.Cron, "CRON_TZ=") || strings.HasPrefix(f.Cron, "TZ=") {
			e.add(field(p, "cron"), "set the zone in timezone, not in the schedule")
		} else if _, err := cron.ParseStandard(f.Cron); err != nil {
			e.add(field(p, "cron"), "%q is not a 5-field schedule (minute hour day-of-month month day-of-week, like \"0 18 * * 5\"): %v", f.Cron, err)
		}
		switch d := f.Duration.Duration; {
		case d <= 0:
			e.add(field(p, "duration"), "required with cron: how long each window lasts, like \"64h\"")
		case d > MaxFreezeDuration:
			e.add(field(p, "duration"), "%s is longer than a year: use start and end for a window that long", d)
		}
	case f.Start != "" || f.End != "":
		start, errS := parseWindowTime(f.Start, loc)
		if errS != nil {
			e.add(field(p, "start"), "%v", errS)
		}
		end, errE := parseWindowTime(f.End, loc)
		if errE != nil {
			e.add(field(p, "end"), "%v", errE)
		}
		if errS == nil && errE == nil && !end.After(start) {
			e.add(field(p, "end"), "%s is not after start %s", f.End, f.Start)
		}
		if f.Duration.Duration != 0 {
			e.add(field(p, "duration"), "only with cron: a one-off window ends at end")
		}
	default:
		e.add(p, "set cron and duration (a recurring window) or start and end (a one-off window)")
	}
	for i, g := range f.Targets {
		if _, err := path.Match(g, ""); err != nil {
			e.add(index(field(p, "targets"), i), "%q is not a valid glob: %v", g, err)
		}
	}
	for i, a := range f.Allow {
		if a != FreezeAllowHeal {
			e.add(index(field(p, "allow"), i), "unknown value %q: use heal (drift is healed during the window)%s", a, suggest(a, []string{FreezeAllowHeal}))
		}
	}
}

// validateDependsOn checks that every dependency names another target and
// that no dependencies form a cycle.
func validateDependsOn(e *errs, c *Config) {
	byName := map[string]int{}
	for i, t := range c.Targets {
		byName[t.Name] = i
	}
	names := c.TargetNames()
	for i, t := range c.Targets {
		for j, d := range t.DependsOn {
			p := index(field(index("targets", i), "dependsOn"), j)
			switch _, ok := byName[d]; {
			case d == t.Name:
				e.add(p, "target %q depends on itself", d)
			case !ok:
				e.add(p, "unknown target %q%s", d, suggest(d, names))
			}
		}
	}
	for _, cycle := range dependencyCycles(c, byName) {
		first := cycle[0]
		e.add(index(field(index("targets", first.target), "dependsOn"), first.dep), "dependency cycle: %s", cycleText(c, cycle))
	}
}

// edge is targets[target].dependsOn[dep].
type edge struct{ target, dep int }

// dependencyCycles finds each cycle once (by depth-first search, starting
// from the lowest index in it).
func dependencyCycles(c *Config, byName map[string]int) [][]edge {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(c.Targets))
	var path []edge
	var cycles [][]edge
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		for j, d := range c.Targets[i].DependsOn {
			k, ok := byName[d]
			if !ok || k == i {
				continue
			}
			path = append(path, edge{i, j})
			switch state[k] {
			case onPath:
				start := len(path) - 1
				for start > 0 && path[start].target != k {
					start--
				}
				cycles = append(cycles, append([]edge(nil), path[start:]...))
			case unseen:
				visit(k)
			}
			path = path[:len(path)-1]
		}
		state[i] = done
	}
	for i := range c.Targets {
		if state[i] == unseen {
			visit(i)
		}
	}
	return cycles
}

// cycleText is "a (targets[0].dependsOn[0]) -> b (targets[1].dependsOn[0]) -> a".
func cycleText(c *Config, cycle []edge) string {
	var b strings.Builder
	for _, ed := range cycle {
		fmt.Fprintf(&b, "%q (targets[%d].dependsOn[%d]) -> ", c.Targets[ed.target].Name, ed.target, ed.dep)
	}
	fmt.Fprintf(&b, "%q: remove one of these dependencies", c.Targets[cycle[0].target].Name)
	return b.String()
}

func validateHealthCheck(e *errs, p string, h HealthCheck) {
	if h.APIVersion == "" {
		e.add(field(p, "apiVersion"), "required: the kind's group/version, like example.com/v1")
	}
	if h.Kind == "" {
		e.add(field(p, "kind"), "required: the kind the expressions judge")
	}
	if h.APIVersion == "" || h.Kind == "" {
		return
	}
	_, err := health.Compile(h.Rule())
	for _, err := range joined(err) {
		var xe *health.ExpressionError
		if errors.As(err, &xe) {
			e.add(field(p, xe.Field), "%v", xe.Err)
			continue
		}
		e.add(p, "%v", err)
	}
}

// joined splits an errors.Join into its errors.
func joined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
