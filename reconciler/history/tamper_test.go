package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// tamperCases change stored rows with plain SQL, as someone with database
// access would, and expect Verify to name the first broken record.
func tamperCases() []suiteCase {
	tests := []struct {
		name   string
		tamper func(t *testing.T, e *env, s Store)
		broken int64
		reason string
	}{
		{name: "update of a message", broken: 5, reason: "record 5: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_records SET message = 'nothing happened' WHERE seq = 5`)
			}},
		{name: "update of data", broken: 5, reason: "record 5: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_records SET data = '{"i":999}' WHERE seq = 5`)
			}},
		{name: "whitespace added to data", broken: 5, reason: "record 5: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_records SET data = '{"i": 4}' WHERE seq = 5`)
			}},
		{name: "time moved by a nanosecond", broken: 7, reason: "record 7: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_records SET time_ns = time_ns + 1 WHERE seq = 7`)
			}},
		{name: "type changed", broken: 3, reason: "record 3: hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_records SET type = 'apply' WHERE seq = 3`)
			}},
		{name: "record rewritten with its hash recomputed", broken: 6, reason: "record 6: prev_hash does not match the hash of record 5",
			tamper: func(t *testing.T, e *env, s Store) {
				r, err := s.Get(context.Background(), 5)
				if err != nil {
					t.Fatal(err)
				}
				r.Actor = "mallory"
				e.exec(t, `UPDATE history_records SET actor = ?, hash = ? WHERE seq = 5`, r.Actor, HashRecord(r))
			}},
		{name: "delete of a middle record", broken: 5, reason: "record 5 is missing (the next stored record is 6)",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `DELETE FROM history_records WHERE seq = 5`)
			}},
		{name: "delete of the first record", broken: 1, reason: "record 1 is missing",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `DELETE FROM history_records WHERE seq = 1`)
			}},
		{name: "two records swapped", broken: 4, reason: "record 4: prev_hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				e.exec(t, `UPDATE history_records SET seq = -4 WHERE seq = 4`)
				e.exec(t, `UPDATE history_records SET seq = 4 WHERE seq = 5`)
				e.exec(t, `UPDATE history_records SET seq = 5 WHERE seq = -4`)
			}},
		{name: "forged record appended with a made-up prev hash", broken: 11, reason: "record 11: prev_hash does not match",
			tamper: func(t *testing.T, e *env, _ Store) {
				forged := Record{Seq: 11, Time: t0, Type: TypeManual, Actor: "mallory", PrevHash: strings.Repeat("0", 64)}
				forged.Hash = HashRecord(forged)
				e.exec(t, `INSERT INTO history_records (`+columns+`) VALUES (?, ?, ?, '', '', '', ?, '', '', NULL, ?, ?)`,
					forged.Seq, forged.Time.UnixNano(), forged.Type, forged.Actor, forged.PrevHash, forged.Hash)
			}},
	}
	var cases []suiteCase
	for _, tt := range tests {
		cases = append(cases, suiteCase{name: "tamper: " + tt.name, run: func(t *testing.T, e *env) {
			s := e.open(t)
			mustAppend(t, s, numbered(10)...)
			mustVerifyOK(t, s, 10)
			tt.tamper(t, e, s)
			if res := expectBroken(t, s, tt.broken, tt.reason); res.Records != tt.broken-1 {
				t.Errorf("verify counted %d good records before record %d, want %d", res.Records, tt.broken, tt.broken-1)
			}
		}})
	}
	cases = append(cases, suiteCase{name: "tamper: a cut tail shows only in the head", run: func(t *testing.T, e *env) {
		s := e.open(t)
		recs := mustAppend(t, s, numbered(10)...)
		e.exec(t, `DELETE FROM history_records WHERE seq > 8`)
		res := mustVerifyOK(t, s, 8)
		if res.HeadSeq != 8 || res.HeadHash != recs[7].Hash {
			t.Errorf("head = %d %s, want 8 %s: a published head 10 is how an auditor sees the cut", res.HeadSeq, res.HeadHash, recs[7].Hash)
		}
	}})
	return cases
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
			orig := mustAppend(t, s, numbered(10)...) // t0 .. t0+9m

			retain(t, s, t0.Add(5*time.Minute), 5)
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
			mustAppend(t, s,
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
					e.exec(t, `DELETE FROM history_records WHERE seq = 6`)
				}, 6, "record 6 is missing"},
				{"checkpoint anchor changed", func(t *testing.T, e *env) {
					e.exec(t, `UPDATE history_records SET data = REPLACE(data, '"through_seq":5', '"through_seq":4') WHERE seq = 11`)
				}, 11, "checkpoint record 11: hash does not match"},
				{"removed record put back", func(t *testing.T, e *env) {
					r := numbered(1)[0]
					r.Seq = 3
					e.exec(t, `INSERT INTO history_records (`+columns+`) VALUES (?, ?, ?, '', '', '', '', '', '', NULL, '', '')`,
						r.Seq, r.Time.UnixNano(), r.Type)
				}, 3, "record 3 is stored although checkpoint 11 removed the records through 5"},
				{"first remaining record rewritten", func(t *testing.T, e *env) {
					e.exec(t, `UPDATE history_records SET prev_hash = ? WHERE seq = 6`, strings.Repeat("a", 64))
				}, 6, "does not match the hash of record 5 kept by checkpoint 11"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					e := backendEnv(t, e.backend)
					s := e.open(t, WithClock(later))
					mustAppend(t, s, numbered(10)...)
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
