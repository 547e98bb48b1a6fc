package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// The states a target is shown in, in the order of the filter's choices.
const (
	stateInSync    = "in sync"
	stateDrifted   = "drifted"
	stateFailed    = "failed"
	stateSuspended = "suspended"
	stateFrozen    = "frozen"
	stateWaiting   = "waiting"       // waits for its dependencies (dependsOn)
	stateManual    = "apply pending" // a new revision waits for a manual apply
	statePending   = "pending"       // not reconciled yet
	stateUnknown   = "unknown"       // some live state could not be read
	stateElsewhere = "elsewhere"     // another replica reconciles it (ha)
)

var consoleStates = []string{stateInSync, stateDrifted, stateFailed, stateSuspended, stateFrozen, stateWaiting, stateManual, statePending, stateUnknown, stateElsewhere}

// consoleUser is what every console page shows of its user.
type consoleUser struct {
	// User names the signed-in user ("" when authentication is off).
	User string
}

func userOf(r *http.Request) consoleUser {
	return consoleUser{User: auth.FromContext(r.Context()).User.Name}
}

// targetRow is one target of the index.
type targetRow struct {
	Name, Tenant, Destination string
	// Commit and Author: the revision last reconciled.
	Commit, Author string
	LastReconcile  time.Time
	State          string
	Error          string
	// Episodes open, and compliance Findings not excepted.
	Episodes, Findings int
	// Owner is the replica that reconciles the target, when not this one.
	Owner string
}

// indexFilter is the index's query: ?state=&destination=&q=.
type indexFilter struct {
	State, Destination, Q string
}

func (f indexFilter) keep(row targetRow) bool {
	return (f.State == "" || row.State == f.State) && (f.Destination == "" || row.Destination == f.Destination) &&
		(f.Q == "" || strings.Contains(strings.ToLower(row.Name), strings.ToLower(f.Q)))
}

// indexPageData is what console/index.html shows.
type indexPageData struct {
	consoleUser
	Filter       indexFilter
	Query        url.Values
	Rows         []targetRow
	Total        int
	States       []string
	Destinations []string
	Now          time.Time
}

var indexPage = consolePage("index.html")

// indexHandler serves / : every target the user may view, filtered by the
// query. With ?partial=rows it answers the table's rows only, which the
// page's script fetches to refresh itself without a reload.
func indexHandler(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := indexFilter{State: q.Get("state"), Destination: q.Get("destination"), Q: strings.TrimSpace(q.Get("q"))}
		rows, err := d.targetRows(d.visible(r))
		if err != nil {
			http.Error(w, "read state: "+err.Error(), http.StatusInternalServerError)
			return
		}
		page := indexPageData{consoleUser: userOf(r), Filter: f, Query: q, Total: len(rows), States: consoleStates, Now: time.Now()}
		for _, row := range rows {
			if !slices.Contains(page.Destinations, row.Destination) {
				page.Destinations = append(page.Destinations, row.Destination)
			}
			if f.keep(row) {
				page.Rows = append(page.Rows, row)
			}
		}
		slices.Sort(page.Destinations)
		name := "layout.html"
		if q.Get("partial") == "rows" {
			name = "partial"
			w.Header().Set("Cache-Control", "no-store")
		}
		renderPage(w, indexPage, name, page)
	}
}

// targetRows are the rows of the targets vis may view, in config order.
func (d *daemon) targetRows(vis *visible) ([]targetRow, error) {
	g := d.gen()
	outcomes := map[string]*reconciler.Outcome{}
	for _, o := range g.r.Status() {
		outcomes[o.Target] = o
	}
	open, err := d.st.Episodes(nil, state.EpisodeFilter{Open: true})
	if err != nil {
		return nil, err
	}
	episodes := map[string]int{}
	for _, e := range open {
		episodes[e.Target]++
	}
	replica, owners := g.r.Replica(), g.r.Owners()
	var rows []targetRow
	for _, t := range g.cfg.Targets {
		if !vis.of(t.Name).Allowed {
			continue
		}
		row := targetRow{Name: t.Name, Tenant: d.tenantOf(t.Name), Destination: destinationOf(t), Episodes: episodes[t.Name]}
		if replica != "" && owners[t.Name] != replica {
			row.Owner = owners[t.Name]
		}
		row.fill(outcomes[t.Name], suspensionOf(g.r, t) != nil)
		rows = append(rows, row)
	}
	return rows, nil
}

// destinationOf names where a target reconciles into.
func destinationOf(t config.Target) string {
	if t.Account != "" {
		return "aws:" + t.Account
	}
	return t.Cluster
}

// fill sets what the last outcome o (nil before the first reconcile)
// says of the target, and its state.
func (row *targetRow) fill(o *reconciler.Outcome, suspended bool) {
	if o != nil {
		row.Commit, row.Author = o.Revision.Commit, o.Revision.Author.Name
		row.LastReconcile, row.Error = o.Start, o.Error()
		for _, f := range o.Compliance {
			if f.Excepted == nil {
				row.Findings++
			}
		}
	}
	row.State = targetStateOf(o, suspended, row.Episodes, row.Owner != "")
}

// targetStateOf is the state the console shows for a target.
func targetStateOf(o *reconciler.Outcome, suspended bool, openEpisodes int, elsewhere bool) string {
	switch {
	case suspended:
		return stateSuspended
	case elsewhere:
		return stateElsewhere
	case o == nil:
		return statePending
	case o.Err != nil:
		return stateFailed
	case o.Action == reconciler.ActionFrozen:
		return stateFrozen
	case o.Action == reconciler.ActionWaiting:
		return stateWaiting
	case o.Action == reconciler.ActionPending:
		return stateManual
	case openEpisodes > 0 || o.Action == reconciler.ActionDetected:
		return stateDrifted
	case o.Action == reconciler.ActionUnknown:
		return stateUnknown
	}
	if c := o.Report.Counts(); c[drift.Drifted]+c[drift.Missing] > 0 && o.Apply == nil {
		return stateDrifted
	}
	return stateInSync
}
