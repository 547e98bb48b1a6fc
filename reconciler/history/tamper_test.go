package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// tamperCases change stored segments with plain SQL, as someone with
// database access would: a record inside a body, a body, or a segment's
// columns. Verify must name the first broken record. The ten records are
// stored as three segments: 1..3, 4..7 and 8..10.
func tamperCases() []suiteCase {
	tests := []struct {
		name   string
		tamper func(t *testing.T, e *env, s Store)
		broken int64
		reason string
	}{
		{name: "one byte of a message", broken: 5, reason: "record 5: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.editLines(t, 5, func(lines []string, i int) []string {
					lines[i] = strings.Replace(lines[i], `"message":"reconciled"`, `"message":"reconcilex"`, 1)
					return lines
				})
			}},
		{name: "update of data", broken: 5, reason: "record 5: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.rewriteRecord(t, 5, func(r *Record) { r.Data = json.RawMessage(`{"i":999}`) })
			}},
		{name: "whitespace added to data", broken: 5, reason: "record 5: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.rewriteRecord(t, 5, func(r *Record) { r.Data = json.RawMessage(`{"i": 4}`) })
			}},
		{name: "time moved by a nanosecond", broken: 7, reason: "record 7: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.rewriteRecord(t, 7, func(r *Record) { r.Time = r.Time.Add(time.Nanosecond) })
			}},
		{name: "type changed", broken: 3, reason: "record 3: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.rewriteRecord(t, 3, func(r *Record) { r.Type = TypeApply })
			}},
		{name: "record rewritten with its hash recomputed", broken: 6, reason: "record 6: prev_hash does not match the hash of record 5",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.rewriteRecord(t, 5, func(r *Record) {
					r.Actor = "mallory"
					r.Hash = HashRecord(*r)
				})
			}},
		{name: "delete of a middle record", broken: 5, reason: "record 5 is missing (the next stored record is 6)",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.editLines(t, 5, func(lines []string, i int) []string { return slices.Delete(lines, i, i+1) })
			}},
		{name: "delete of the first record", broken: 1, reason: "record 1 is missing",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.editLines(t, 1, func(lines []string, i int) []string { return slices.Delete(lines, i, i+1) })
			}},
		{name: "two records swapped", broken: 4, reason: "record 4 is missing (the next stored record is 5)",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.editLines(t, 4, func(lines []string, i int) []string {
					lines[i], lines[i+1] = lines[i+1], lines[i]
					return lines
				})
			}},
		{name: "body cut after a record", broken: 7, reason: "record 7 is missing (segment 4..7 ends at record 6)",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.editLines(t, 7, func(lines []string, i int) []string { return lines[:i] })
			}},
		{name: "body cut inside a record", broken: 6, reason: "record 6: stored form is not readable",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.editLines(t, 6, func(lines []string, i int) []string {
					lines[i] = lines[i][:len(lines[i])/2]
					return lines[:i+1]
				})
			}},
		{name: "first_seq changed", broken: 4, reason: "segment 5..7: first_seq 5 does not match its first record 4",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_segments SET first_seq = 5 WHERE first_seq = 4`)
			}},
		{name: "last_seq changed", broken: 4, reason: "segment 4..6: last_seq 6 does not match its last record 7",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_segments SET last_seq = 6 WHERE first_seq = 4`)
			}},
		{name: "head_hash changed", broken: 4, reason: "segment 4..7: head_hash does not match the hash of its last record 7",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_segments SET head_hash = ? WHERE first_seq = 4`, strings.Repeat("0", 64))
			}},
		{name: "time range narrowed", broken: 4, reason: "segment 4..7: time range",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_segments SET max_time_ns = max_time_ns - 1 WHERE first_seq = 4`)
			}},
		{name: "run_max_time_ns lowered", broken: 4, reason: "segment 4..7: run_max_time_ns",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_segments SET run_max_time_ns = run_max_time_ns - 1 WHERE first_seq = 4`)
			}},
		{name: "segment removed", broken: 4, reason: "record 4 is missing (the next stored record is 8)",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `DELETE FROM history_segments WHERE first_seq = 4`)
			}},
		{name: "segments reordered", broken: 1, reason: "record 1 is missing (the next stored record is 8)",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_segments SET first_seq = -1 WHERE first_seq = 1`)
				e.exec(t, `UPDATE history_segments SET first_seq = 1 WHERE first_seq = 8`)
				e.exec(t, `UPDATE history_segments SET first_seq = 8 WHERE first_seq = -1`)
			}},
		{name: "forged record appended with a made-up prev hash", broken: 11, reason: "record 11: prev_hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				forged := Record{Seq: 11, Time: t0, Type: TypeManual, Actor: "mallory", PrevHash: strings.Repeat("0", 64)}
				forged.Hash = HashRecord(forged)
				e.insertSegment(t, storedSegment([]Record{forged}))
			}},
	}
	var cases []suiteCase
	for _, tt := range tests {
		cases = append(cases, suiteCase{name: "tamper: " + tt.name, run: func(t *testing.T, e *env) {
			s := e.open(t)
			appendTenInThree(t, s)
			mustVerifyOK(t, s, 10)
			tt.tamper(t, e, s)
			if res := expectBroken(t, s, tt.broken, tt.reason); res.Records != tt.broken-1 {
				t.Errorf("verify counted %d good records before record %d, want %d", res.Records, tt.broken, tt.broken-1)
			}
		}})
	}
	// The postings are an index outside the chain; a row removed from it
	// would hide its segment from filtered queries, so Verify checks it.
	for _, pt := range []struct {
		name   string
		tamper func(t *testing.T, e *env)
		broken int64
		reason string
	}{
		{name: "a posting removed", broken: 5, reason: "segment 5..5: the postings index does not match its records",
			tamper: func(t *testing.T, e *env) {
				e.exec(t, `DELETE FROM history_postings WHERE first_seq = 5 AND key = ?`, postingKey(colTarget, "web"))
			}},
		{name: "a posting moved to another segment", broken: 5, reason: "segment 5..5: the postings index does not match",
			tamper: func(t *testing.T, e *env) {
				e.exec(t, `UPDATE history_postings SET first_seq = 99 WHERE first_seq = 5 AND key = ?`, postingKey(colTarget, "web"))
			}},
		{name: "a posting added for a segment that does not exist", broken: 1000, reason: "names segment 1000",
			tamper: func(t *testing.T, e *env) {
				e.exec(t, `INSERT INTO history_postings (key, first_seq) VALUES (?, 1000)`, postingKey(colTarget, "web"))
			}},
	} {
		cases = append(cases, suiteCase{name: "tamper: " + pt.name, run: func(t *testing.T, e *env) {
			s := e.open(t)
			appendEach(t, s, numbered(40)...) // 40 one-record segments: the first ones are posted
			mustVerifyOK(t, s, 40)
			pt.tamper(t, e)
			if res := expectBroken(t, s, pt.broken, pt.reason); res.Records != 40 || res.HeadSeq != 40 {
				t.Errorf("verify = %+v, want the whole chain checked before the index", res)
			}
		}})
	}
	cases = append(cases, suiteCase{name: "tamper: a cut tail shows only in the head", run: func(t *testing.T, e *env) {
		s := e.open(t)
		recs := appendTenInThree(t, s)
		e.exec(t, `DELETE FROM history_segments WHERE first_seq = 8`)
		res := mustVerifyOK(t, s, 7)
		if res.HeadSeq != 7 || res.HeadHash != recs[6].Hash {
			t.Errorf("head = %d %s, want 7 %s: a published head 10 is how an auditor sees the cut", res.HeadSeq, res.HeadHash, recs[6].Hash)
		}
	}})
	return cases
}

// appendTenInThree appends numbered(10) as three batches: segments 1..3,
// 4..7 and 8..10.
func appendTenInThree(t *testing.T, s Store) []Record {
	t.Helper()
	recs := numbered(10)
	var out []Record
	for _, b := range [][2]int{{0, 3}, {3, 7}, {7, 10}} {
		out = append(out, mustAppend(t, s, recs[b[0]:b[1]]...)...)
	}
	return out
}

// appendEach appends each record as a batch of its own: a segment each.
func appendEach(t *testing.T, s Store, recs ...Record) []Record {
	t.Helper()
	var out []Record
	for _, r := range recs {
		out = append(out, mustAppend(t, s, r)...)
	}
	return out
}

// segmentHolding reads, outside the store, the segment whose range holds
// seq.
func segmentHolding(t testing.TB, db *sql.DB, d *dialect, seq int64) storedSeg {
	t.Helper()
	q := d.rebind(`SELECT ` + segmentColumns + ` FROM history_segments WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1`)
	g, err := readSegment(db.QueryRow(q, seq))
	if err != nil {
		t.Fatalf("read the segment of record %d: %v", seq, err)
	}
	return g
}

// editBodyLines rewrites, with plain SQL, the body of the segment holding
// seq: edit gets its lines and the index of seq's line.
func editBodyLines(t testing.TB, db *sql.DB, d *dialect, seq int64, edit func(lines []string, i int) []string) {
	t.Helper()
	g := segmentHolding(t, db, d, seq)
	lines := edit(splitLines(g.body), int(seq-g.first))
	body := strings.Join(lines, "\n") + "\n"
	if _, err := db.Exec(d.rebind(`UPDATE history_segments SET body = ? WHERE first_seq = ?`), body, g.first); err != nil {
		t.Fatalf("update the body of segment %d: %v", g.first, err)
	}
}

// editLines is editBodyLines on e's database.
func (e *env) editLines(t testing.TB, seq int64, edit func(lines []string, i int) []string) {
	t.Helper()
	editBodyLines(t, e.raw, e.d, seq, edit)
}

// rewriteRecord changes record seq in its body, as an UPDATE of a column
// did: the line is written again from the changed record with the hash it
// then has (unchanged unless change sets it).
func (e *env) rewriteRecord(t testing.TB, seq int64, change func(r *Record)) {
	t.Helper()
	e.editLines(t, seq, func(lines []string, i int) []string {
		r, _, err := parseLine(lines[i])
		if err != nil {
			t.Fatalf("record %d: %v", seq, err)
		}
		change(&r)
		lines[i] = r.Hash + " " + string(Canonical(r))
		return lines
	})
}

// insertSegment writes seg and its postings outside the store.
func (e *env) insertSegment(t testing.TB, seg segment) {
	t.Helper()
	tx, err := e.raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := writeSegment(context.Background(), tx, e.d, nil, seg); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// expectBroken verifies and wants the chain broken first at seq, with a
// reason containing reason.
func expectBroken(t *testing.T, s Store, seq int64, reason string) VerifyResult {
	t.Helper()
	res, err := s.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if res.OK || res.FirstBroken != seq || !strings.Contains(res.Reason, reason) {
		t.Fatalf("verify = %+v, want broken first at %d because %q", res, seq, reason)
	}
	return res
}

// checkpoints returns the stored checkpoint records and their data.
func checkpoints(t *testing.T, s Store) ([]Record, []checkpointData) {
	t.Helper()
	recs, err := s.Query(context.Background(), Filter{Types: []string{TypeCheckpoint}})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]checkpointData, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Data, &data[i]); err != nil {
			t.Fatalf("checkpoint %d data %s: %v", r.Seq, r.Data, err)
		}
	}
	return recs, data
}

func retain(t *testing.T, s Store, before time.Time, want int64) {
	t.Helper()
	n, err := s.Retain(context.Background(), before)
	if err != nil {
		t.Fatalf("retain: %v", err)
	}
	if n != want {
		t.Fatalf("retain before %s removed %d, want %d", before, n, want)
	}
}

func retainCases() []suiteCase {
	later := func() time.Time { return t0.Add(time.Hour) } // checkpoint times
	return []suiteCase{
		{name: "retain removes the old prefix and the checkpoint anchors the rest", run: func(t *testing.T, e *env) {
			s := e.open(t, WithClock(later))
			ctx := context.Background()
			orig := appendEach(t, s, numbered(10)...) // t0 .. t0+9m, a segment each
			e.postAll(t)

			retain(t, s, t0.Add(5*time.Minute), 5)
			var left int
			if err := e.raw.QueryRow(`SELECT COUNT(*) FROM history_postings WHERE first_seq <= 5`).Scan(&left); err != nil || left != 0 {
				t.Errorf("%d postings of removed segments are left (%v)", left, err)
			}
			for seq := int64(1); seq <= 5; seq++ {
				if _, err := s.Get(ctx, seq); !errors.Is(err, ErrNotFound) {
					t.Errorf("record %d still there after retention: %v", seq, err)
				}
			}
			cps, data := checkpoints(t, s)
			if len(cps) != 1 || cps[0].Seq != 11 || cps[0].PrevHash != orig[9].Hash || !cps[0].Time.Equal(later()) {
				t.Fatalf("checkpoints = %+v, want one at seq 11 after record 10, at the clock's time", cps)
			}
			want := checkpointData{Before: formatTime(t0.Add(5 * time.Minute)), Removed: 5, ThroughSeq: 5, ThroughHash: orig[4].Hash}
			if data[0] != want {
				t.Errorf("checkpoint data = %+v, want %+v", data[0], want)
			}
			first, err := s.Get(ctx, 6)
			if err != nil || first.PrevHash != data[0].ThroughHash {
				t.Errorf("first remaining record prev_hash = %q (%v), want the checkpoint's %q", first.PrevHash, err, data[0].ThroughHash)
			}
			mustVerifyOK(t, s, 6) // 6..10 and the checkpoint

			mustAppend(t, s, Record{Time: t0.Add(20 * time.Minute), Type: TypeApply}, Record{Time: t0.Add(21 * time.Minute), Type: TypeApply})
			retain(t, s, t0.Add(8*time.Minute), 3) // 6, 7, 8
			mustVerifyOK(t, s, 6)                  // 9, 10, cp 11, 12, 13, cp 14
			retain(t, s, t0.Add(8*time.Minute), 0)
			if cps, _ := checkpoints(t, s); len(cps) != 2 {
				t.Errorf("a retention that removed nothing wrote a checkpoint: %d checkpoints", len(cps))
			}

			retain(t, s, t0.Add(48*time.Hour), 6) // everything, checkpoints included
			res := mustVerifyOK(t, s, 1)
			if res.HeadSeq != 15 {
				t.Errorf("head after removing everything = %d, want the new checkpoint 15", res.HeadSeq)
			}
			mustAppend(t, s, Record{Type: TypeReconcile})
			mustVerifyOK(t, s, 2)
		}},
		{name: "retain keeps an old record that follows a newer one", run: func(t *testing.T, e *env) {
			s := e.open(t, WithClock(later))
			appendEach(t, s,
				Record{Time: t0, Type: TypeApply},
				Record{Time: t0.Add(10 * time.Minute), Type: TypeApply},
				Record{Time: t0.Add(time.Minute), Type: TypeApply},
				Record{Time: t0.Add(20 * time.Minute), Type: TypeApply})
			retain(t, s, t0.Add(5*time.Minute), 1)
			if _, err := s.Get(context.Background(), 3); err != nil {
				t.Errorf("old record 3 after newer record 2 was removed: %v", err)
			}
			mustVerifyOK(t, s, 4)
		}},
		{name: "retain removes whole segments only", run: func(t *testing.T, e *env) {
			s := e.open(t, WithClock(later))
			recs := numbered(10)
			mustAppend(t, s, recs[:4]...) // t0 .. t0+3m
			mustAppend(t, s, recs[4:]...) // t0+4m .. t0+9m
			retain(t, s, t0.Add(6*time.Minute), 4)
			if _, err := s.Get(context.Background(), 5); err != nil {
				t.Errorf("record 5, older than before in a segment with newer ones, was removed: %v", err)
			}
			mustVerifyOK(t, s, 7)
			if got, err := s.Query(context.Background(), Filter{Until: t0.Add(6 * time.Minute)}); err != nil || !reflect.DeepEqual(seqs(got), []int64{5, 6}) {
				t.Errorf("records before the cut still stored = %v (%v), want [5 6]", seqs(got), err)
			}
		}},
		{name: "retain of nothing older writes no checkpoint", run: func(t *testing.T, e *env) {
			s := e.open(t, WithClock(later))
			retain(t, s, t0, 0) // empty store
			mustAppend(t, s, numbered(3)...)
			retain(t, s, t0, 0)
			if cps, _ := checkpoints(t, s); len(cps) != 0 {
				t.Errorf("checkpoints = %v, want none", seqs(cps))
			}
			mustVerifyOK(t, s, 3)
		}},
		{name: "tampering after retention is found", run: func(t *testing.T, e *env) {
			for _, tt := range []struct {
				name   string
				tamper func(t *testing.T, e *env)
				broken int64
				reason string
			}{
				{"first remaining record deleted", func(t *testing.T, e *env) {
					e.exec(t, `DELETE FROM history_segments WHERE first_seq = 6`)
				}, 6, "record 6 is missing"},
				{"checkpoint anchor changed", func(t *testing.T, e *env) {
					e.rewriteRecord(t, 11, func(r *Record) {
						r.Data = json.RawMessage(strings.Replace(string(r.Data), `"through_seq":5`, `"through_seq":4`, 1))
					})
				}, 11, "checkpoint record 11: hash does not match"},
				{"removed record put back", func(t *testing.T, e *env) {
					r := numbered(1)[0]
					r.Seq = 3
					r.Hash = HashRecord(r)
					e.insertSegment(t, storedSegment([]Record{r}))
				}, 3, "record 3 is stored although checkpoint 11 removed the records through 5"},
				{"first remaining record rewritten", func(t *testing.T, e *env) {
					e.rewriteRecord(t, 6, func(r *Record) { r.PrevHash = strings.Repeat("a", 64) })
				}, 6, "does not match the hash of record 5 kept by checkpoint 11"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					e := backendEnv(t, e.backend)
					s := e.open(t, WithClock(later))
					appendEach(t, s, numbered(10)...)
					retain(t, s, t0.Add(5*time.Minute), 5)
					mustVerifyOK(t, s, 6)
					tt.tamper(t, e)
					expectBroken(t, s, tt.broken, tt.reason)
				})
			}
		}},
	}
}

// backendEnv makes a fresh env of the named backend.
func backendEnv(t *testing.T, name string) *env {
	for _, b := range backends {
		if b.name == name {
			return b.newEnv(t)
		}
	}
	panic(fmt.Sprintf("no backend %q", name))
}
