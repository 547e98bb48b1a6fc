package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// historyTypes are the record types the history form offers.
var historyTypes = []string{history.TypeReconcile, history.TypeManual, history.TypeApply, history.TypeHeal, history.TypePrune,
	history.TypePruneBlocked, history.TypeDriftOpened, history.TypeDriftUpdated, history.TypeDriftResolved, history.TypePullRequest,
	history.TypeNotification, history.TypeComplianceViolation, history.TypeComplianceResolved, history.TypeComplianceExempt,
	history.TypeSuspend, history.TypeResume, history.TypeDriftAccepted, history.TypeCheckpoint}

// historyPageSize is how many records one page of /history shows unless
// the form asks for another limit; an export takes up to maxHistoryLimit.
const historyPageSize = 50

// historyPageData is what console/history.html shows.
type historyPageData struct {
	consoleUser
	// Query is the request's query, as the form's values and the base of
	// the paging and export links.
	Query    url.Values
	Types    []string
	Selected map[string]bool
	Records  []history.Record
	// Next is the cursor of the next page, 0 on the last one.
	Next int64
	Err  string
}

var historyBrowser = consolePage("history.html")

// historyHandler serves /history: the filters of 'trueup history' as a
// GET form, newest first by default, a page at a time; ?format=csv or
// json exports the records the filters match (up to 1000, from the
// page's cursor on). Like /api/v1/history, only the records of targets
// the user may view, masked as their binding says.
func historyHandler(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		format := q.Get("format")
		if format != "" && format != "csv" && format != "json" {
			http.Error(w, "format "+strconv.Quote(format)+": use csv or json (or none for the page)", http.StatusBadRequest)
			return
		}
		f, err := consoleHistoryFilter(q, format != "")
		page := historyPageData{consoleUser: userOf(r), Query: q, Types: historyTypes, Selected: map[string]bool{}}
		for _, t := range f.Types {
			page.Selected[t] = true
		}
		if err != nil {
			if format != "" {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			page.Err = err.Error()
			renderStatus(w, http.StatusBadRequest, historyBrowser, "layout.html", page)
			return
		}
		res, ok := d.historyFor(w, r, f)
		if !ok {
			return
		}
		if format != "" {
			exportRecords(w, format, res.Records)
			return
		}
		page.Records, page.Next = res.Records, res.Next
		renderPage(w, historyBrowser, "layout.html", page)
	}
}

// consoleHistoryFilter is /api/v1/history's filter with the console's
// defaults: newest first, a page of historyPageSize (an export: the most
// the API answers at once).
func consoleHistoryFilter(q url.Values, export bool) (history.Filter, error) {
	c := url.Values{}
	for k, v := range q {
		if len(v) > 0 && v[0] != "" || k == "type" {
			c[k] = v
		}
	}
	if c.Get("order") == "" {
		c.Set("order", "desc")
	}
	if c.Get("limit") == "" {
		c.Set("limit", strconv.Itoa(historyPageSize))
		if export {
			c.Set("limit", strconv.Itoa(maxHistoryLimit))
		}
	}
	var types []string
	for _, t := range c["type"] {
		if t != "" {
			types = append(types, t)
		}
	}
	c["type"] = types
	r := &http.Request{URL: &url.URL{RawQuery: c.Encode()}}
	return historyFilter(r, time.Now())
}

// exportRecords writes records as 'trueup history -o csv|json' does, as
// a download.
func exportRecords(w http.ResponseWriter, format string, recs []history.Record) {
	var b bytes.Buffer
	if err := writeRecords(&b, format, recs); err != nil {
		http.Error(w, "export history: "+err.Error(), http.StatusInternalServerError)
		return
	}
	ctype := map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}[format]
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="trueup-history.`+format+`"`)
	_, _ = w.Write(b.Bytes())
}

// recordPageData is what console/record.html shows.
type recordPageData struct {
	consoleUser
	history.Record
	// Details is the record's data, indented.
	Details string
}

var recordPage = consolePage("record.html")

// recordHandler serves /history/{seq}: one record in full, with its data
// masked as the user's binding says, to a user who may view its target
// (daemon-wide records: auditors and admins).
func recordHandler(d *daemon) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
		if err != nil || seq < 1 {
			http.Error(w, "record "+strconv.Quote(r.PathValue("seq"))+": use the # of a record of /history", http.StatusBadRequest)
			return
		}
		rec, err := d.h.Get(r.Context(), seq)
		switch {
		case errors.Is(err, history.ErrNotFound):
			http.Error(w, "no record "+strconv.FormatInt(seq, 10)+" (removed by retention, or not written yet): list records at /history", http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, "read history: "+err.Error(), http.StatusInternalServerError)
			return
		}
		dec := d.visible(r).of(rec.Target)
		if !dec.Allowed {
			http.Error(w, "forbidden: record "+strconv.FormatInt(seq, 10)+" is about a target you may not view: "+dec.Reason, http.StatusForbidden)
			return
		}
		if dec.Masked {
			rec.Data = auth.MaskJSON(rec.Data)
		}
		page := recordPageData{consoleUser: userOf(r), Record: rec}
		var b bytes.Buffer
		if len(rec.Data) > 0 && json.Indent(&b, rec.Data, "", "  ") == nil {
			page.Details = b.String()
		}
		renderPage(w, recordPage, "layout.html", page)
	}
}
