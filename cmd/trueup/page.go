package main

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// targetPage is the daemon's page for one target, the page notifications
// link to: its last reconcile and its open drift episodes with their fields.
var targetPage = template.Must(template.New("target").Funcs(template.FuncMap{
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"gitLive": func(f drift.FieldDiff) string { return notifications.GitLive(value(f.Desired), value(f.Live)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trueup · {{.Name}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}code{font-size:13px}.failed{color:#b00}</style></head>
<body><h1>{{.Name}}</h1>
{{if .Replica}}{{if eq .Owner .Replica}}<p class="owner">Reconciled by replica <b>{{.Owner}}</b> (this one).</p>
{{else if .Owner}}<p class="owner">Reconciled by replica <b>{{.Owner}}</b>, not this one ({{.Replica}}): its last reconcile and open drift episodes are on that replica's page, and in <code>trueup history --target {{.Name}}</code>.</p>
{{else}}<p class="owner">No replica holds this target's Lease at the moment: it is reconciled once one takes it (this one is {{.Replica}}).</p>
{{end}}{{end}}{{if .Elsewhere}}{{else}}{{with .Outcome}}<p>Last reconcile {{when .Start}} ({{.Trigger}}): <b class="{{.Action}}">{{.Action}}</b>{{with .Revision.Commit}} at <code>{{.}}</code>{{end}}.</p>
{{with .Error}}<p class="failed">{{.}}</p>{{end}}{{else}}<p>Not reconciled yet.</p>{{end}}
<h2>Open drift episodes</h2>
{{if .Episodes}}<table><tr><th>object</th><th>since</th><th>changed by</th><th>fields</th></tr>
{{range .Episodes}}<tr id="{{.ID}}"><td><code>{{.Object}}</code></td><td>{{when .Opened}}</td><td>{{with .Actor}}{{.Name}}{{end}}</td>
<td>{{range .Fields}}<code>{{.Path}}: {{gitLive .}}</code><br>{{end}}</td></tr>{{end}}</table>
{{else}}<p>None: live matches Git.</p>{{end}}{{end}}
<p><a href="/api/v1/targets">all targets (JSON)</a></p></body></html>
`))

// targetPageData is what targetPage shows.
type targetPageData struct {
	Name     string
	Outcome  *reconciler.Outcome
	Episodes []state.Episode
	// Replica is this replica's id and Owner the one reconciling the
	// target, when the targets are shared (ha.enabled); Elsewhere: this
	// replica does not reconcile it, so its outcome and episodes here are
	// not shown.
	Replica, Owner string
	Elsewhere      bool
}

// targetHandler serves targetPage to a user who may view the target (403
// otherwise, whether or not the target exists). Field values in episodes
// are masked at the source, like everywhere else, and all of them for a
// user whose role binding says maskValues.
func targetHandler(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		name := req.PathValue("name")
		dec, ok := d.allow(w, req, auth.View, name)
		if !ok {
			return
		}
		var page targetPageData
		page.Name = name
		rec := d.gen().r
		if !rec.HasTarget(name) {
			http.Error(w, "no target "+name+" in this daemon's config", http.StatusNotFound)
			return
		}
		if page.Replica = rec.Replica(); page.Replica != "" {
			page.Owner = rec.Owners()[name]
			page.Elsewhere = page.Owner != page.Replica
		}
		for _, o := range rec.Status() {
			if o.Target == name {
				page.Outcome = o
			}
		}
		eps, err := d.st.Episodes(nil, state.EpisodeFilter{Target: name, Open: true})
		if err != nil {
			http.Error(w, "read state: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if dec.Masked {
			for i := range eps {
				eps[i].Fields = auth.MaskFields(eps[i].Fields)
			}
		}
		page.Episodes = eps
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = targetPage.Execute(w, page)
	}
}

// episodePage is the page of one drift episode, the link of pull requests
// and Slack threads.
var episodePage = template.Must(template.New("episode").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trueup · drift of {{.Object}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}code{font-size:13px}</style></head>
<body><h1>Drift of <code>{{.Object}}</code></h1>
<p>Target <a href="/targets/{{.Target}}">{{.Target}}</a>. Status <b>{{.Status}}</b>. Opened {{when .Opened}}, last seen {{when .LastSeen}}{{if not .Closed.IsZero}}, closed {{when .Closed}}{{end}}.
{{with .Actor}}Last changed by {{.Name}}.{{end}}</p>
{{with .PullRequest}}<p>Pull request: <a href="{{.}}">{{.}}</a></p>{{end}}
<table><tr><th>field</th><th>Git</th><th>live</th></tr>
{{range .Fields}}<tr><td><code>{{.Path}}</code></td><td><code>{{printf "%v" .Desired}}</code></td><td><code>{{printf "%v" .Live}}</code></td></tr>{{end}}</table>
<p>Its history: <code>trueup history --target {{.Target}} --object {{.Object}}</code></p></body></html>
`))

// episodeHandler serves episodePage for an episode in live state (open,
// or closed within the last day; older ones are in the history only), to
// a user who may view its target. An episode id starts with its target's
// name, so another tenant's episode is a 403 whether or not it exists.
func episodeHandler(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		id := req.PathValue("id")
		target, _, _ := strings.Cut(id, "/")
		if _, ok := d.allow(w, req, auth.View, target); !ok {
			return
		}
		ep, err := d.st.Episode(nil, id)
		switch {
		case err != nil:
			http.Error(w, "read state: "+err.Error(), http.StatusInternalServerError)
			return
		case ep == nil:
			http.Error(w, "no episode "+id+" in live state (episodes closed over a day ago are in the history: trueup history --type drift-resolved)", http.StatusNotFound)
			return
		}
		dec, ok := d.allow(w, req, auth.View, ep.Target)
		if !ok {
			return
		}
		if dec.Masked {
			ep.Fields = auth.MaskFields(ep.Fields)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = episodePage.Execute(w, ep)
	}
}
