package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// visible remembers, for one request, which targets its user may view and
// whether their values are masked.
type visible struct {
	d     *daemon
	a     *auth.Access
	known map[string]auth.Decision
}

func (d *daemon) visible(r *http.Request) *visible {
	return &visible{d: d, a: auth.FromContext(r.Context()), known: map[string]auth.Decision{}}
}

func (v *visible) of(target string) auth.Decision {
	dec, ok := v.known[target]
	if !ok {
		dec = v.a.Allow(auth.View, v.d.tenantOf(target))
		v.known[target] = dec
	}
	return dec
}

// apiTargets lists the last outcome of every target the user may view.
func apiTargets(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		type status struct {
			*reconciler.Outcome
			Error string `json:"error,omitempty"`
			// Owner is the replica reconciling the target (ha.enabled).
			Owner string `json:"owner,omitempty"`
			// Suspended: an operator suspended the target (trueup suspend).
			Suspended *reconciler.Suspension `json:"suspended,omitempty"`
			// Accepted maps objects whose drift is accepted to until when.
			Accepted map[string]time.Time `json:"accepted,omitempty"`
		}
		vis := d.visible(r)
		out := []json.RawMessage{}
		rec := d.gen().r
		owners := rec.Owners()
		seen := map[string]bool{}
		for _, o := range rec.Status() {
			seen[o.Target] = true
			dec := vis.of(o.Target)
			if !dec.Allowed {
				continue
			}
			delete(owners, o.Target)
			b, err := json.Marshal(status{Outcome: o, Error: o.Error(), Owner: rec.Replica(),
				Suspended: rec.Suspended(o.Target), Accepted: rec.Acceptances(o.Target)})
			if err != nil {
				http.Error(w, "encode target "+o.Target+": "+err.Error(), http.StatusInternalServerError)
				return
			}
			if dec.Masked {
				b = auth.MaskJSON(b)
			}
			out = append(out, b)
		}
		out = append(out, notReconciled(d, seen, owners, vis)...)
		out = append(out, elsewhere(owners, vis)...)
		writeJSON(w, out)
	}
}

// notReconciled are this replica's targets without an outcome yet:
// suspended (in the config, or by an operator) or still pending.
func notReconciled(d *daemon, seen map[string]bool, owners map[string]string, vis *visible) []json.RawMessage {
	var out []json.RawMessage
	rec := d.gen().r
	for _, t := range d.gen().cfg.Targets {
		if _, other := owners[t.Name]; seen[t.Name] || other && !t.Suspend || !vis.of(t.Name).Allowed {
			continue
		}
		s := rec.Suspended(t.Name)
		if t.Suspend {
			s = &reconciler.Suspension{By: "config", Reason: "suspend: true"}
		}
		b, _ := json.Marshal(struct {
			Target    string                 `json:"target"`
			Pending   bool                   `json:"pending,omitempty"`
			Suspended *reconciler.Suspension `json:"suspended,omitempty"`
		}{t.Name, s == nil, s})
		out = append(out, b)
	}
	return out
}

// elsewhere are the targets this replica does not reconcile (ha.enabled),
// each with the replica that does ("" while none does).
func elsewhere(owners map[string]string, vis *visible) []json.RawMessage {
	var out []json.RawMessage
	for _, t := range slices.Sorted(maps.Keys(owners)) {
		if !vis.of(t).Allowed {
			continue
		}
		b, _ := json.Marshal(struct {
			Target string `json:"target"`
			Owner  string `json:"owner"`
		}{t, owners[t]})
		out = append(out, b)
	}
	return out
}

// apiEpisode is an episode as the API shows it.
type apiEpisode struct {
	ID          string              `json:"id"`
	Target      string              `json:"target"`
	Object      string              `json:"object"`
	Drift       drift.Status        `json:"drift"`
	Status      state.EpisodeStatus `json:"status"`
	Fields      []drift.FieldDiff   `json:"fields"`
	Actor       *drift.Actor        `json:"actor,omitempty"`
	Opened      time.Time           `json:"opened"`
	LastSeen    time.Time           `json:"lastSeen"`
	Closed      *time.Time          `json:"closed,omitempty"`
	PullRequest string              `json:"pullRequest,omitempty"`
}

func toAPIEpisode(e state.Episode, masked bool) apiEpisode {
	out := apiEpisode{ID: e.ID, Target: e.Target, Object: e.Object, Drift: e.Drift, Status: e.Status, Fields: e.Fields,
		Actor: e.Actor, Opened: e.Opened, LastSeen: e.LastSeen, PullRequest: e.PullRequest}
	if !e.Closed.IsZero() {
		out.Closed = &e.Closed
	}
	if masked {
		out.Fields = auth.MaskFields(e.Fields)
	}
	return out
}

// apiEpisodes lists the episodes in live state (open ones, and those
// closed within the last day) of the targets the user may view.
// Query: target, status, open=true.
func apiEpisodes(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := state.EpisodeFilter{Target: q.Get("target"), Status: state.EpisodeStatus(q.Get("status")), Open: q.Get("open") == "true"}
		if f.Target != "" {
			if _, ok := d.allow(w, r, auth.View, f.Target); !ok {
				return
			}
		}
		eps, err := d.st.Episodes(nil, f)
		if err != nil {
			http.Error(w, "read state: "+err.Error(), http.StatusInternalServerError)
			return
		}
		vis := d.visible(r)
		out := []apiEpisode{}
		for _, e := range eps {
			if dec := vis.of(e.Target); dec.Allowed {
				out = append(out, toAPIEpisode(e, dec.Masked))
			}
		}
		writeJSON(w, out)
	}
}

// Bounds of one /api/v1/history answer.
const (
	maxHistoryLimit = 1000
	// historyScanPages bounds how many pages of other tenants' records one
	// answer reads through for a viewer; "next" lets the client go on.
	historyScanPages = 20
)

// historyPage is the answer of /api/v1/history: records in Seq order (or
// newest first with order=desc), and the cursor of the next page (pass it
// as after=) when there may be more.
type historyPage struct {
	Records []history.Record `json:"records"`
	Next    int64            `json:"next,omitempty"`
}

// apiHistory queries the history with the filters of 'trueup history'
// (target, object, revision, actor, type, since, until, limit; after and
// order=desc to page), keeping the records of the targets the user may
// view: every record for auditors and admins.
func apiHistory(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := historyFilter(r, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if page, ok := d.historyFor(w, r, f); ok {
			writeJSON(w, page)
		}
	}
}

// historyFilter reads the query of /api/v1/history.
func historyFilter(r *http.Request, now time.Time) (history.Filter, error) {
	q := r.URL.Query()
	ho := historyOptions{target: q.Get("target"), object: q.Get("object"), revision: q.Get("revision"), actor: q.Get("actor"),
		since: q.Get("since"), until: q.Get("until"), limit: 100}
	for _, t := range q["type"] {
		ho.types = append(ho.types, strings.Split(t, ",")...)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			return history.Filter{}, fmt.Errorf("limit %q: use 1 to %d", v, maxHistoryLimit)
		}
		ho.limit = n
	}
	f, err := ho.filter(now)
	if err != nil {
		return f, fmt.Errorf("since/until: %w", err)
	}
	if v := q.Get("after"); v != "" {
		if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterSeq < 0 {
			return f, fmt.Errorf("after %q: use the next of the previous answer", v)
		}
	}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return f, fmt.Errorf("order %q: use asc or desc", q.Get("order"))
	}
	return f, nil
}

// visibleRecords returns up to f.Limit records the user may view, reading
// page after page past those of other tenants (at most historyScanPages).
// historyFor answers the records of f the request's user may view; on
// false it has answered the error (403 for a target the user may not view,
// 500 when the history cannot be read).
func (d *daemon) historyFor(w http.ResponseWriter, r *http.Request, f history.Filter) (historyPage, bool) {
	if f.Target != "" {
		if _, ok := d.allow(w, r, auth.View, f.Target); !ok {
			return historyPage{}, false
		}
	}
	page, err := d.visibleRecords(r.Context(), d.visible(r), f)
	if err != nil {
		http.Error(w, "read history: "+err.Error(), http.StatusInternalServerError)
		return historyPage{}, false
	}
	return page, true
}

func (d *daemon) visibleRecords(ctx context.Context, vis *visible, f history.Filter) (historyPage, error) {
	want := f.Limit
	page := historyPage{Records: []history.Record{}}
	pf := f
	pf.Limit = max(want, 200)
	for range historyScanPages {
		recs, err := d.h.Query(ctx, pf)
		if err != nil {
			return page, err
		}
		for _, rec := range recs {
			dec := vis.of(rec.Target)
			if !dec.Allowed {
				continue
			}
			if dec.Masked {
				rec.Data = auth.MaskJSON(rec.Data)
			}
			page.Records = append(page.Records, rec)
			if len(page.Records) == want {
				page.Next = rec.Seq
				return page, nil
			}
		}
		if len(recs) < pf.Limit {
			return page, nil
		}
		pf.AfterSeq = recs[len(recs)-1].Seq
	}
	page.Next = pf.AfterSeq
	return page, nil
}
