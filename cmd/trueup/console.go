package main

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/notifications"
)

// The web console: server-rendered pages (html/template, no script needed
// to read them) for the targets (/), one target (/targets/{name}), one
// drift episode (/episodes/{id}) and the history (/history). Every page
// shares the layout in console/layout.html.

//go:embed console/*.html
var consoleFiles embed.FS

// consoleFuncs are the helpers every console template may call.
var consoleFuncs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"ago": sinceNow,
	// seg escapes an id as one path segment: an episode id holds "/", and
	// "//" for a cluster-scoped object, which the mux would clean away.
	"seg":     url.PathEscape,
	"short":   short,
	"value":   value,
	"gitLive": func(f drift.FieldDiff) string { return notifications.GitLive(value(f.Desired), value(f.Live)) },
	"firstLine": func(s string) string {
		line, _, _ := strings.Cut(s, "\n")
		return line
	},
	"query":      queryWith,
	"stateClass": func(s string) string { return strings.ReplaceAll(s, " ", "-") },
}

// consolePage parses the layout with one page's template.
func consolePage(file string) *template.Template {
	return template.Must(template.New("layout.html").Funcs(consoleFuncs).ParseFS(consoleFiles, "console/layout.html", "console/"+file))
}

// renderPage executes t into a buffer first, so a template error is a 500
// and not half a page.
func renderPage(w http.ResponseWriter, t *template.Template, name string, data any) {
	renderStatus(w, http.StatusOK, t, name, data)
}

// renderStatus is renderPage answering with another status code.
func renderStatus(w http.ResponseWriter, code int, t *template.Template, name string, data any) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// sinceNow says how long before now t was, roughly.
func sinceNow(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String() + " ago"
	case d < time.Hour:
		return d.Round(time.Minute).String() + " ago"
	case d < 48*time.Hour:
		return d.Round(time.Hour).String() + " ago"
	}
	return t.UTC().Format("2006-01-02")
}

// queryWith is u's query with key set to value ("" removes it), as a
// relative URL "?..." for links that keep the other parameters.
func queryWith(q url.Values, kv ...string) template.URL {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			c.Del(kv[i])
		} else {
			c.Set(kv[i], kv[i+1])
		}
	}
	// url.Values.Encode escapes every value: the result is a safe URL.
	return template.URL("?" + c.Encode())
}
