package main

import (
	"net/http"
	"strings"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// recentHistory is how many records the target page shows.
const recentHistory = 15

// targetPage is the daemon's page for one target, the page notifications
// link to: its last reconcile, its objects with their origin file, its
// open drift episodes side by side (Git | live), what is to be pruned,
// and its recent history.
var targetPage = consolePage("target.html")

// targetPageData is what targetPage shows.
type targetPageData struct {
	consoleUser
	Name    string
	Row     targetRow
	Outcome *reconciler.Outcome
	// Objects are the objects of the last comparison; Prune those that
	// left Git (pending prune, or deleted by the last reconcile).
	Objects  []objectRow
	Prune    []objectRow
	Episodes []state.Episode
	History  []history.Record
	// Replica is this replica's id and Owner the one reconciling the
	// target, when the targets are shared (ha.enabled); Elsewhere: this
	// replica does not reconcile it, so its outcome and episodes here are
	// not shown.
	Replica, Owner string
	Elsewhere      bool
	targetActions
}

// objectRow is one object of the target page.
type objectRow struct {
	Object, Origin string
	Status         drift.Status
	// Applied is what the last reconcile did to it (created, configured,
	// deleted, ...), Message why when it says.
	Applied kube.Action
	Message string
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
		g := d.gen()
		t, found := g.cfg.Target(name)
		if !found || !g.r.HasTarget(name) {
			http.Error(w, "no target "+name+" in this daemon's config", http.StatusNotFound)
			return
		}
		page := targetPageData{consoleUser: userOf(req), Name: name}
		if page.Replica = g.r.Replica(); page.Replica != "" {
			page.Owner = g.r.Owners()[name]
			page.Elsewhere = page.Owner != page.Replica
		}
		for _, o := range g.r.Status() {
			if o.Target == name {
				page.Outcome = o
			}
		}
		eps, err := d.st.Episodes(nil, state.EpisodeFilter{Target: name, Open: true})
		if err != nil {
			http.Error(w, "read state: "+err.Error(), http.StatusInternalServerError)
			return
		}
		for i := range eps {
			eps[i].Fields = maskFor(dec, eps[i].Object, eps[i].Fields)
		}
		page.Episodes = eps
		page.Row = targetRow{Name: name, Tenant: d.tenantOf(name), Destination: destinationOf(*t), Episodes: len(eps)}
		if page.Elsewhere {
			page.Row.Owner = page.Owner
		}
		page.targetActions = d.actionsOf(req, *t)
		page.Row.fill(page.Outcome, page.Suspension != nil)
		page.Objects, page.Prune = objectRows(page.Outcome)
		if page.History, err = d.h.Query(req.Context(), history.Filter{Target: name, Limit: recentHistory, Desc: true}); err != nil {
			http.Error(w, "read history: "+err.Error(), http.StatusInternalServerError)
			return
		}
		renderPage(w, targetPage, "layout.html", page)
	}
}

// maskFor masks every value of fields for a user whose binding says
// maskValues, and those of a Secret for everyone (the detector already
// masks them; this holds should one ever come through unmasked).
func maskFor(dec auth.Decision, object string, fields []drift.FieldDiff) []drift.FieldDiff {
	if dec.Masked || strings.HasPrefix(object, "Secret/") {
		return auth.MaskFields(fields)
	}
	return fields
}

// objectRows lists the objects of the last comparison, with what the last
// reconcile did to each, and apart those that left Git.
func objectRows(o *reconciler.Outcome) (objects, prune []objectRow) {
	if o == nil {
		return nil, nil
	}
	applied := map[drift.ObjectRef]kube.Entry{}
	if o.Apply != nil {
		for _, e := range o.Apply.Entries {
			applied[e.Ref] = e
		}
	}
	for _, r := range o.Report.Objects {
		row := objectRow{Object: r.Ref.String(), Origin: r.Origin, Status: r.Status, Message: r.Error}
		if e, ok := applied[r.Ref]; ok {
			row.Applied, row.Message = e.Action, e.Message
			delete(applied, r.Ref)
		}
		if r.Status == drift.PendingPrune {
			prune = append(prune, row)
			continue
		}
		objects = append(objects, row)
	}
	if o.Apply != nil { // deleted by this reconcile without being compared
		for _, e := range o.Apply.Entries {
			if _, left := applied[e.Ref]; left && e.Action == kube.ActionDeleted {
				prune = append(prune, objectRow{Object: e.Ref.String(), Status: drift.PendingPrune, Applied: e.Action, Message: e.Message})
			}
		}
	}
	return objects, prune
}

// episodePage is the page of one drift episode, the link of pull requests
// and Slack threads.
var episodePage = consolePage("episode.html")

// episodePageData is what episodePage shows.
type episodePageData struct {
	consoleUser
	state.Episode
	targetActions
}

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
		ep.Fields = maskFor(dec, ep.Object, ep.Fields)
		page := episodePageData{consoleUser: userOf(req), Episode: *ep}
		if t, ok := d.gen().cfg.Target(ep.Target); ok {
			page.targetActions = d.actionsOf(req, *t)
		}
		renderPage(w, episodePage, "layout.html", page)
	}
}
