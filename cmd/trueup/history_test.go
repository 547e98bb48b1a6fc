package main

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
)

// TestHistoryFullCycle applies, drifts, heals and prunes on the real control
// plane through the CLI, then queries the records by every filter, checks
// the chain, and finds a row tampered with directly in SQLite.
func TestHistoryFullCycle(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo targets use fixed namespaces
	cfg, repo := demoSetup(t, env.Kubeconfig)
	run := func(args ...string) (string, int) {
		t.Helper()
		stdout, stderr, code := trueup(t, append(args, "-c", cfg)...)
		if code == exitError {
			t.Fatalf("trueup %s: exit 2\n%s%s", strings.Join(args, " "), stdout, stderr)
		}
		return stdout, code
	}
	records := func(args ...string) []history.Record {
		t.Helper()
		out, _ := run(append([]string{"history", "-o", "json"}, args...)...)
		var recs []history.Record
		if err := json.Unmarshal([]byte(out), &recs); err != nil {
			t.Fatalf("history json: %v\n%s", err, out)
		}
		return recs
	}

	// 1. apply, 2. drift + heal, 3. a commit that drops the Service: prune.
	run("apply", "web")
	kubectl(t, env, "-n", "web", "scale", "deployment", "web", "--replicas=6")
	run("apply", "web")
	files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
	dep := string(files["apps/web/deployment.yaml"].Content)
	files["apps/web/deployment.yaml"] = gitrepo.File(dep[:strings.Index(dep, "\n---")+1])
	head := repo.Commit(t, files, gitrepo.CommitOptions{Message: "Drop the web Service"}).String()
	run("apply", "web")

	t.Run("each record type is there", func(t *testing.T) {
		want := map[string]int{history.TypeManual: 3, history.TypeApply: 3, history.TypeHeal: 1, history.TypePrune: 1,
			history.TypeDriftOpened: 1, history.TypeDriftResolved: 1}
		got := map[string]int{}
		for _, r := range records("--target", "web") {
			got[r.Type]++
			if r.Type == history.TypeManual && !strings.HasPrefix(r.Actor, "cli:") {
				t.Errorf("manual record %d has actor %q, want the CLI user", r.Seq, r.Actor)
			}
		}
		for typ, n := range want {
			if got[typ] != n {
				t.Errorf("%s records: got %d, want %d (all: %v)", typ, got[typ], n, got)
			}
		}
	})
	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want func(history.Record) bool
		}{
			{"type", []string{"--type", "prune"}, func(r history.Record) bool { return r.Type == "prune" && r.Object == "Service/web/web" }},
			{"object", []string{"--object", "Deployment.apps/web/web"}, func(r history.Record) bool { return r.Object == "Deployment.apps/web/web" }},
			{"revision", []string{"--revision", head}, func(r history.Record) bool { return r.Revision == head }},
			{"actor", []string{"--actor", "kubectl"}, func(r history.Record) bool { return r.Actor == "kubectl" }},
			{"since", []string{"--since", "1h", "--type", "manual"}, func(r history.Record) bool { return r.Type == "manual" }},
			{"until in the past", []string{"--until", "2000-01-01T00:00:00Z"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				recs := records(tt.args...)
				if tt.want == nil {
					if len(recs) != 0 {
						t.Fatalf("want no records, got %d", len(recs))
					}
					return
				}
				if len(recs) == 0 {
					t.Fatal("no records")
				}
				for _, r := range recs {
					if !tt.want(r) {
						t.Errorf("record %d does not match: %+v", r.Seq, r)
					}
				}
			})
		}
	})
	t.Run("heal record carries the masked diff and show prints it", func(t *testing.T) {
		heal := records("--type", "heal")[0]
		out, _ := run("history", "show", strconv.FormatInt(heal.Seq, 10))
		if !strings.Contains(out, "/spec/replicas") || !strings.Contains(out, `"prev_hash"`) {
			t.Fatalf("show lacks the diff or the chain:\n%s", out)
		}
	})
	t.Run("csv and jsonl export", func(t *testing.T) {
		out, _ := run("history", "-o", "csv", "--target", "web")
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(rows) < 10 || rows[0][0] != "SEQ" {
			t.Fatalf("csv: %v, %d rows", err, len(rows))
		}
		out, _ = run("history", "export", "--format", "jsonl", "--target", "web")
		if n := strings.Count(out, "\n"); n != len(rows)-1 {
			t.Fatalf("export has %d lines, csv %d records", n, len(rows)-1)
		}
	})
	t.Run("verify passes, then finds a tampered row", func(t *testing.T) {
		out, code := run("history", "verify")
		if code != 0 || !strings.Contains(out, "chain intact") {
			t.Fatalf("verify: exit %d\n%s", code, out)
		}
		db, err := sql.Open("sqlite", filepath.Join(filepath.Dir(cfg), "data", "history.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// Records are stored a batch to a row (a segment): change record
		// 3's outcome inside its segment's body.
		var first int64
		var body string
		if err := db.QueryRow(`SELECT first_seq, body FROM history_segments WHERE first_seq <= 3 ORDER BY first_seq DESC LIMIT 1`).Scan(&first, &body); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(body, "\n")
		tampered := regexp.MustCompile(`"outcome":"[^"]*"`).ReplaceAllString(lines[3-first], `"outcome":"tampered"`)
		if tampered == lines[3-first] {
			t.Fatalf("record 3 has no outcome to change: %s", lines[3-first])
		}
		lines[3-first] = tampered
		if _, err := db.Exec(`UPDATE history_segments SET body = ? WHERE first_seq = ?`, strings.Join(lines, "\n"), first); err != nil {
			t.Fatal(err)
		}
		out, code = run("history", "verify")
		if code != exitFailed || !strings.Contains(out, "broken at record 3") {
			t.Fatalf("tampering not found: exit %d\n%s", code, out)
		}
	})
}
