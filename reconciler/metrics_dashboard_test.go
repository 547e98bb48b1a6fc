package reconciler_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// dashboardPath is trueup's Grafana dashboard.
const dashboardPath = "../deploy/grafana/trueup.json"

// dashboardQueries are every PromQL query of a Grafana dashboard: panel
// targets' expr (rows' nested panels too) and template variables' queries.
func dashboardQueries(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				walk(c, k)
			}
		case []any:
			for _, c := range v {
				walk(c, key)
			}
		case string:
			if key == "expr" || key == "definition" {
				out = append(out, v)
			}
		}
	}
	walk(doc, "")
	return out
}

var (
	promString     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers   = regexp.MustCompile(`\{[^}]*\}`)
	promRange      = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promLabelVals  = regexp.MustCompile(`label_values\(\s*(?:([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,)?\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)`)
	promIdentifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
	promDuration   = regexp.MustCompile(`\b\d+(?:ms|[smhdwy])\b`)
	promNumber     = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b`)
	promKeywords   = []string{"and", "or", "unless", "offset", "bool", "inf", "nan"}
)

// metricNames are the metric names a PromQL query (or a Grafana
// label_values() variable query) selects: identifiers left once strings,
// label matchers, ranges and grouping clauses are gone, that are not
// called (functions, aggregations) and not keywords.
func metricNames(query string) []string {
	var names []string
	q := promString.ReplaceAllString(query, `""`)
	q = promMatchers.ReplaceAllString(q, " ")
	q = promLabelVals.ReplaceAllStringFunc(q, func(s string) string {
		if m := promLabelVals.FindStringSubmatch(s); m[1] != "" {
			names = append(names, m[1])
		}
		return " "
	})
	q = promRange.ReplaceAllString(q, " ")
	q = promGrouping.ReplaceAllString(q, " ")
	q = promDuration.ReplaceAllString(q, " ")
	q = promNumber.ReplaceAllString(q, " ")
	for _, tok := range promIdentifier.FindAllString(q, -1) {
		tok = strings.TrimSpace(tok)
		if strings.HasSuffix(tok, "(") || slices.Contains(promKeywords, strings.ToLower(tok)) {
			continue
		}
		names = append(names, tok)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name, query string
		want        []string
	}{
		{"plain", `trueup_objects`, []string{"trueup_objects"}},
		{"quantile", `histogram_quantile(0.9, sum by (le, team) (increase(trueup_lead_time_seconds_bucket{team=~"$team"}[$__range])))`,
			[]string{"trueup_lead_time_seconds_bucket"}},
		{"ratio", `sum by (team) (increase(a_total[1d])) / sum without (x) (increase(b_total{l="x{y}"}[1d])) > bool 0.5`, []string{"a_total", "b_total"}},
		{"time", `time() - max by (target) (trueup_last_success_timestamp_seconds)`, []string{"trueup_last_success_timestamp_seconds"}},
		{"matcher with names", `up{job="trueup_fake", instance=~"a|b"} offset 5m`, []string{"up"}},
		{"label_values", `label_values(trueup_applies_total{team=~"$team"}, target)`, []string{"trueup_applies_total"}},
		{"label_values without metric", `label_values(team)`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metricNames(tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("metricNames(%s) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

// checkDashboard checks that every metric the dashboard queries is one
// reg exports (histogram series by their _bucket, _sum and _count names),
// and that every trueup_ metric reg exports has a panel.
func checkDashboard(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[mf.GetName()+s] = true
			}
		}
	}
	queries := dashboardQueries(t, dashboardPath)
	if len(queries) < 10 {
		t.Fatalf("%s: %d queries found", dashboardPath, len(queries))
	}
	used := map[string]bool{}
	for _, q := range queries {
		names := metricNames(q)
		if len(names) == 0 {
			t.Errorf("%s: query selects no metric: %s", dashboardPath, q)
		}
		for _, n := range names {
			if !exported[n] {
				t.Errorf("%s: query names %s, which trueup does not export: %s", dashboardPath, n, q)
			}
			used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
		}
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "trueup_") && !used[mf.GetName()] {
			t.Errorf("%s: no panel shows %s", dashboardPath, mf.GetName())
		}
	}
}
