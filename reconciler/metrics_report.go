package reconciler

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// Report holds the platform figures of a period, per team (tenant) and
// per target, computed from the history by the tally the metrics use.
type Report struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Records is how many history records the figures come from.
	Records int             `json:"records"`
	Teams   []ReportFigures `json:"teams"`
	Targets []ReportFigures `json:"targets"`
	Sinks   []SinkFigures   `json:"sinks"`
	Days    []DayFigures    `json:"days"`
}

// ReportFigures are one team's or one target's figures.
type ReportFigures struct {
	// Name is the team or the target; Team is the target's team ("" when
	// no tenant owns it).
	Name string `json:"name"`
	Team string `json:"team,omitempty"`
	// Targets counts a team's targets.
	Targets int `json:"targets,omitempty"`
	// Applies are new revisions whose apply was tried; FailedApplies those
	// that failed at least once; ChangeFailureRate their ratio (0 without
	// applies).
	Applies           int     `json:"applies"`
	FailedApplies     int     `json:"failedApplies"`
	ChangeFailureRate float64 `json:"changeFailureRate"`
	// LeadTime: commit to applied; Provisioning: first reconcile to first
	// successful apply, of the targets that appeared in the period.
	LeadTime     Durations `json:"leadTime"`
	Provisioning Durations `json:"provisioning"`
	// DriftOpened and DriftResolved (by how) count episodes; Remediation
	// is how long the closed ones stayed open.
	DriftOpened   int            `json:"driftOpened"`
	DriftResolved map[string]int `json:"driftResolved"`
	Remediation   Durations      `json:"remediation"`
	// OpenEpisodes are open at the end of the report (now), the oldest
	// opened OldestOpenSeconds before it.
	OpenEpisodes      int     `json:"openEpisodes"`
	OldestOpenSeconds float64 `json:"oldestOpenSeconds"`
	// Heals and ManualApplies are the toil.
	Heals         int `json:"heals"`
	ManualApplies int `json:"manualApplies"`
	// Errors counts failed reconciles by stage.
	Errors      map[string]int `json:"errors"`
	LastSuccess *time.Time     `json:"lastSuccess,omitempty"`

	lead, provision, remediate []float64
}

// Durations summarizes durations in seconds: the median and the 90th
// percentile are nearest-rank.
type Durations struct {
	Count         int     `json:"count"`
	MeanSeconds   float64 `json:"meanSeconds"`
	MedianSeconds float64 `json:"medianSeconds"`
	P90Seconds    float64 `json:"p90Seconds"`
	MaxSeconds    float64 `json:"maxSeconds"`
}

// SinkFigures are one notifier's deliveries by status and the events its
// queue dropped.
type SinkFigures struct {
	Sink       string         `json:"sink"`
	Deliveries map[string]int `json:"deliveries"`
	Dropped    int            `json:"dropped"`
}

// DayFigures are one UTC day's counts, for the charts.
type DayFigures struct {
	Day           string `json:"day"`
	Applies       int    `json:"applies"`
	FailedApplies int    `json:"failedApplies"`
	DriftOpened   int    `json:"driftOpened"`
	Heals         int    `json:"heals"`
}

// BuildReport computes the figures of the records in [since, until), of
// the targets in teams (target to team, see TeamsOf) and any other the
// records name. The open episodes are those open now (the whole
// history's), their ages at until.
func BuildReport(ctx context.Context, h history.Store, teams map[string]string, since, until time.Time) (*Report, error) {
	rep := &Report{Since: since.UTC(), Until: until.UTC(), Sinks: []SinkFigures{}}
	t := newTally()
	if err := markExisting(ctx, h, teams, since, t); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	targets := map[string]*ReportFigures{}
	fig := func(name string) *ReportFigures {
		if targets[name] == nil {
			targets[name] = newFigures(name, teams[name])
		}
		return targets[name]
	}
	for name := range teams {
		fig(name)
	}
	sinks := map[string]*SinkFigures{}
	days := map[string]*DayFigures{}
	err := pages(ctx, h, history.Filter{Since: since, Until: until, Types: figureTypes, Limit: 1000}, func(r history.Record) error {
		rep.Records++
		for _, f := range t.add(r) {
			if f.Kind == factDelivery || f.Kind == factQueueDrop {
				addSink(sinks, f)
				continue
			}
			fig(f.Target).add(f)
			addDay(days, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: read the history since %s: %w", since.Format(time.RFC3339), err)
	}
	episodes, err := openEpisodes(ctx, h, "")
	if err != nil {
		return nil, fmt.Errorf("report: open drift episodes: %w", err)
	}
	for _, e := range episodes {
		fig(e.Target).addOpen(until.Sub(e.Opened).Seconds())
	}
	rep.Targets, rep.Teams = finishFigures(targets)
	for _, s := range slices.Sorted(maps.Keys(sinks)) {
		rep.Sinks = append(rep.Sinks, *sinks[s])
	}
	rep.Days = dayRange(days)
	return rep, nil
}

// TeamsOf maps cfg's targets to their teams: the names of the tenants
// that own them ("" for none).
func TeamsOf(cfg *config.Config) map[string]string {
	teams := map[string]string{}
	if cfg == nil {
		return teams
	}
	for _, t := range cfg.Targets {
		teams[t.Name] = ""
		if tn := cfg.TenantOf(t.Name); tn != nil {
			teams[t.Name] = tn.Name
		}
	}
	return teams
}

func newFigures(name, team string) *ReportFigures {
	return &ReportFigures{Name: name, Team: team, DriftResolved: map[string]int{}, Errors: map[string]int{}}
}

// add counts one fact.
func (g *ReportFigures) add(f fact) {
	switch f.Kind {
	case factLeadTime:
		g.lead = append(g.lead, f.Value)
	case factProvisioned:
		g.provision = append(g.provision, f.Value)
	case factApplyAttempt:
		g.Applies++
	case factApplyFailed:
		g.FailedApplies++
	case factHeal:
		g.Heals++
	case factManualApply:
		g.ManualApplies++
	case factReconcileError:
		g.Errors[f.Label]++
	case factSuccess:
		at := f.Time.UTC()
		if g.LastSuccess == nil || at.After(*g.LastSuccess) {
			g.LastSuccess = &at
		}
	case factDriftOpened:
		g.DriftOpened++
	case factDriftResolved:
		g.DriftResolved[f.Label]++
		g.remediate = append(g.remediate, f.Value)
	}
}

func (g *ReportFigures) addOpen(age float64) {
	g.OpenEpisodes++
	g.OldestOpenSeconds = max(g.OldestOpenSeconds, age)
}

// merge adds a target's figures to its team's.
func (g *ReportFigures) merge(o *ReportFigures) {
	g.Targets++
	g.Applies += o.Applies
	g.FailedApplies += o.FailedApplies
	g.lead = append(g.lead, o.lead...)
	g.provision = append(g.provision, o.provision...)
	g.remediate = append(g.remediate, o.remediate...)
	g.DriftOpened += o.DriftOpened
	for k, v := range o.DriftResolved {
		g.DriftResolved[k] += v
	}
	if o.OpenEpisodes > 0 {
		g.OpenEpisodes += o.OpenEpisodes
		g.OldestOpenSeconds = max(g.OldestOpenSeconds, o.OldestOpenSeconds)
	}
	g.Heals += o.Heals
	g.ManualApplies += o.ManualApplies
	for k, v := range o.Errors {
		g.Errors[k] += v
	}
	if o.LastSuccess != nil && (g.LastSuccess == nil || o.LastSuccess.After(*g.LastSuccess)) {
		g.LastSuccess = o.LastSuccess
	}
}

// finish computes the summaries.
func (g *ReportFigures) finish() {
	if g.Applies > 0 {
		g.ChangeFailureRate = float64(g.FailedApplies) / float64(g.Applies)
	}
	g.LeadTime, g.Provisioning, g.Remediation = summarize(g.lead), summarize(g.provision), summarize(g.remediate)
}

// finishFigures returns the targets' figures by name and the teams' (a
// team per tenant; the targets of none under "").
func finishFigures(targets map[string]*ReportFigures) (byTarget, byTeam []ReportFigures) {
	teams := map[string]*ReportFigures{}
	byTarget, byTeam = []ReportFigures{}, []ReportFigures{}
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		g := targets[name]
		if teams[g.Team] == nil {
			teams[g.Team] = newFigures(g.Team, "")
		}
		teams[g.Team].merge(g)
		g.finish()
		byTarget = append(byTarget, *g)
	}
	for _, name := range slices.Sorted(maps.Keys(teams)) {
		teams[name].finish()
		byTeam = append(byTeam, *teams[name])
	}
	return byTarget, byTeam
}

func summarize(v []float64) Durations {
	if len(v) == 0 {
		return Durations{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	rank := func(q float64) float64 { return s[max(0, int(math.Ceil(q*float64(len(s))))-1)] }
	return Durations{Count: len(s), MeanSeconds: sum / float64(len(s)), MedianSeconds: rank(0.5), P90Seconds: rank(0.9), MaxSeconds: s[len(s)-1]}
}

func addSink(sinks map[string]*SinkFigures, f fact) {
	s := sinks[f.Label]
	if s == nil {
		s = &SinkFigures{Sink: f.Label, Deliveries: map[string]int{}}
		sinks[f.Label] = s
	}
	if f.Kind == factQueueDrop {
		s.Dropped += int(f.Value)
		return
	}
	s.Deliveries[f.Status]++
}

// dayRange lists the days from the first to the last with figures, the
// days between without any as zeros (a chart's axis has no gaps).
func dayRange(days map[string]*DayFigures) []DayFigures {
	keys := slices.Sorted(maps.Keys(days))
	out := []DayFigures{}
	if len(keys) == 0 {
		return out
	}
	first, _ := time.Parse(time.DateOnly, keys[0])
	last, _ := time.Parse(time.DateOnly, keys[len(keys)-1])
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		if days[key] == nil {
			out = append(out, DayFigures{Day: key})
			continue
		}
		out = append(out, *days[key])
	}
	return out
}

func addDay(days map[string]*DayFigures, f fact) {
	key := f.Time.UTC().Format(time.DateOnly)
	d := days[key]
	if d == nil {
		d = &DayFigures{Day: key}
		days[key] = d
	}
	switch f.Kind {
	case factApplyAttempt:
		d.Applies++
	case factApplyFailed:
		d.FailedApplies++
	case factDriftOpened:
		d.DriftOpened++
	case factHeal:
		d.Heals++
	}
}
