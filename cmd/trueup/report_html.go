package main

import (
	"fmt"
	"html/template"
	"io"
	"strconv"

	"github.com/trueup-dev/trueup/reconciler"
)

// The HTML report is one self-contained page: tables and SVG bar charts
// rendered here, no script.

// chartSeries is one coloured set of bars.
type chartSeries struct {
	Name   string
	Color  string
	Values []float64
	// Format renders a value for the bar's tooltip and label.
	Format func(float64) string
}

// svgChart is a bar chart laid out for the template.
type svgChart struct {
	Title         string
	Width, Height int
	Bars          []svgBar
	Labels        []svgText
	Legend        []svgLegend
	Empty         bool
}

type svgBar struct {
	X, Y, W, H int
	Color      string
	Tip        string
}

type svgText struct {
	X, Y int
	Text string
}

type svgLegend struct {
	X     int
	Color string
	Name  string
}

const (
	chartHeight = 180
	chartTop    = 28
	chartBottom = 36
	groupWidth  = 44
	chartLeft   = 8
)

// barChart lays out one group of bars per label, one bar per series.
func barChart(title string, labels []string, series ...chartSeries) svgChart {
	group := groupWidth // wide enough for the longest label
	for _, l := range labels {
		group = max(group, 7*len(l)+8)
	}
	c := svgChart{Title: title, Width: max(320, chartLeft*2+group*len(labels)), Height: chartHeight, Empty: true}
	peak := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			peak = max(peak, v)
		}
	}
	plot := chartHeight - chartTop - chartBottom
	barW := (groupWidth - 8) / max(1, len(series))
	for i, label := range labels {
		x := chartLeft + i*group
		for j, s := range series {
			v := s.Values[i]
			h := 0
			if peak > 0 {
				h = int(float64(plot) * v / peak)
			}
			if v > 0 {
				c.Empty = false
				h = max(h, 1)
			}
			c.Bars = append(c.Bars, svgBar{X: x + (group-groupWidth)/2 + j*barW, Y: chartTop + plot - h, W: barW - 1, H: h, Color: s.Color,
				Tip: fmt.Sprintf("%s, %s: %s", label, s.Name, s.Format(v))})
		}
		c.Labels = append(c.Labels, svgText{X: x + (group-8)/2, Y: chartHeight - chartBottom + 14, Text: label})
	}
	for j, s := range series {
		c.Legend = append(c.Legend, svgLegend{X: chartLeft + j*140, Color: s.Color, Name: s.Name})
	}
	return c
}

func countFormat(v float64) string { return strconv.Itoa(int(v)) }

// reportCharts are the page's charts: per day, applies and failures, drift
// opened and heals; per target, the median lead time.
func reportCharts(rep *reconciler.Report) []svgChart {
	var days []string
	var applies, failed, opened, heals []float64
	for _, d := range rep.Days {
		days = append(days, d.Day[5:]) // MM-DD
		applies, failed = append(applies, float64(d.Applies)), append(failed, float64(d.FailedApplies))
		opened, heals = append(opened, float64(d.DriftOpened)), append(heals, float64(d.Heals))
	}
	var targets []string
	var lead, p90 []float64
	for _, t := range rep.Targets {
		if t.LeadTime.Count == 0 {
			continue
		}
		targets = append(targets, t.Name)
		lead, p90 = append(lead, t.LeadTime.MedianSeconds), append(p90, t.LeadTime.P90Seconds)
	}
	return []svgChart{
		barChart("Applies per day", days,
			chartSeries{Name: "revisions applied", Color: "#2f6fb0", Values: applies, Format: countFormat},
			chartSeries{Name: "failed", Color: "#c0392b", Values: failed, Format: countFormat}),
		barChart("Drift per day", days,
			chartSeries{Name: "episodes opened", Color: "#d68910", Values: opened, Format: countFormat},
			chartSeries{Name: "heals", Color: "#27ae60", Values: heals, Format: countFormat}),
		barChart("Lead time by target (commit to applied)", targets,
			chartSeries{Name: "median", Color: "#2f6fb0", Values: lead, Format: humanSeconds},
			chartSeries{Name: "90th percentile", Color: "#85a9d0", Values: p90, Format: humanSeconds}),
	}
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>trueup report {{.Since}} – {{.Until}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: right; }
th:first-child, td:first-child, td.name { text-align: left; }
th { background: #f2f2f2; }
figure { display: inline-block; margin: 0 1.5rem 1.5rem 0; }
svg text { font-size: 11px; fill: #333; }
</style>
</head>
<body>
<h1>trueup report</h1>
<p>{{.Since}} – {{.Until}}, from {{.Records}} history records. Durations are median / 90th percentile;
the change failure rate is new revisions whose apply failed at least once over new revisions tried.</p>
<section aria-label="charts">
{{range .Charts}}<figure>
<figcaption>{{.Title}}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Title}}">
{{range .Legend}}<rect x="{{.X}}" y="4" width="10" height="10" fill="{{.Color}}"/><text x="{{.X}}" dx="14" y="13">{{.Name}}</text>
{{end}}{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Color}}"><title>{{.Tip}}</title></rect>
{{end}}{{range .Labels}}<text x="{{.X}}" y="{{.Y}}" text-anchor="middle">{{.Text}}</text>
{{end}}{{if .Empty}}<text x="8" y="90">nothing in this period</text>
{{end}}</svg>
</figure>
{{end}}</section>
<h2>Teams</h2>
{{template "table" .Teams}}
<h2>Targets</h2>
{{template "table" .Targets}}
<h2>Notifications</h2>
{{if .Sinks}}<table>
<tr>{{range .SinkColumns}}<th scope="col">{{.}}</th>{{end}}</tr>
{{range .Sinks}}<tr>{{range $i, $c := .}}<td{{if eq $i 0}} class="name"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>{{else}}<p>No deliveries.</p>{{end}}
</body>
</html>
{{define "table"}}<table>
<tr>{{range .Header}}<th scope="col">{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if lt $i 2}} class="name"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>{{end}}
`))

type htmlTable struct {
	Header []string
	Rows   [][]string
}

func writeReportHTML(w io.Writer, rep *reconciler.Report) error {
	teams := htmlTable{Header: append([]string{"team", "targets"}, reportColumns...)}
	for _, f := range rep.Teams {
		teams.Rows = append(teams.Rows, append([]string{teamName(f.Name), strconv.Itoa(f.Targets)}, figureCells(f)...))
	}
	targets := htmlTable{Header: append([]string{"target", "team"}, reportColumns...)}
	for _, f := range rep.Targets {
		targets.Rows = append(targets.Rows, append([]string{f.Name, teamName(f.Team)}, figureCells(f)...))
	}
	var sinks [][]string
	for _, s := range rep.Sinks {
		sinks = append(sinks, sinkCells(s))
	}
	return reportPage.Execute(w, map[string]any{
		"Since": rep.Since.Format("2006-01-02 15:04"), "Until": rep.Until.Format("2006-01-02 15:04 MST"), "Records": rep.Records,
		"Charts": reportCharts(rep), "Teams": teams, "Targets": targets, "SinkColumns": sinkColumns, "Sinks": sinks,
	})
}
