package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// twoTenantsConfig has targets a (tenant team-a), b (team-b) and loose
// (no tenant).
func twoTenantsConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`apiVersion: trueup.dev/v1alpha1
kind: Config
sources: [{name: s, url: "https://git.example.com/s.git"}]
clusters: [{name: c, kubeconfig: {path: /k}}]
targets:
  - {name: a, source: s, cluster: c}
  - {name: b, source: s, cluster: c}
  - {name: loose, source: s, cluster: c}
tenants:
  - {name: team-a, targets: [a]}
  - {name: team-b, targets: [b]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A viewer pages through a history where its tenant's records are few
// among others': every page is full of its own records only, and
// following "next" returns each of them once.
func TestHistoryPagesKeepOnlyTheViewersTenant(t *testing.T) {
	cfg := twoTenantsConfig(t)
	h, err := history.OpenSQLite(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var recs []history.Record
	wantA := 0
	for i := range 1500 {
		target := []string{"b", "loose", ""}[i%3]
		if i%50 == 0 {
			target = "a"
			wantA++
		}
		recs = append(recs, history.Record{Type: history.TypeReconcile, Target: target, Outcome: "succeeded", Message: fmt.Sprint(i)})
	}
	if _, err := h.Append(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	d := newDaemon(cfg, nil, nil, h, nil)
	viewer := auth.NewPolicy([]config.RoleBinding{{Role: config.RoleViewer, Users: []string{"v"}, Tenants: []string{"team-a"}}}).Access(auth.User{Name: "v"})

	seen := map[int64]bool{}
	for _, order := range []string{"asc", "desc"} {
		clear(seen)
		after, pages := "", 0
		for {
			req := httptest.NewRequest("GET", "/api/v1/history?limit=7&order="+order+after, nil)
			req = req.WithContext(auth.WithAccess(req.Context(), viewer))
			rec := httptest.NewRecorder()
			apiHistory(d).ServeHTTP(rec, req)
			var page historyPage
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			for _, r := range page.Records {
				if r.Target != "a" || seen[r.Seq] {
					t.Fatalf("%s page %d: record %d of target %q (seen before: %v)", order, pages, r.Seq, r.Target, seen[r.Seq])
				}
				seen[r.Seq] = true
			}
			if page.Next == 0 {
				break
			}
			if len(page.Records) != 7 && len(seen) != wantA {
				t.Fatalf("%s page %d has %d records and a next page", order, pages, len(page.Records))
			}
			after, pages = fmt.Sprintf("&after=%d", page.Next), pages+1
		}
		if len(seen) != wantA {
			t.Errorf("%s: %d records of target a, want %d", order, len(seen), wantA)
		}
	}
}
