package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// v1Chain is a chain as version 1 stored it after one retention run:
// records 1..5 removed, runs of records of three targets (some without data,
// one with every escape the encoding knows), and checkpoint 31 naming
// record 5. It returns the stored records.
func v1Chain(t *testing.T) []Record {
	t.Helper()
	var recs []Record
	for i := range 30 {
		r := Record{Time: t0.Add(time.Duration(i) * time.Second), Type: TypeApply,
			Target: []string{"web", "db", "cache"}[i/4%3], Object: fmt.Sprintf("Deployment.apps/prod/o%d", i%7),
			Revision: "main@sha1:abc", Actor: "alice", Outcome: "succeeded", Message: "applied"}
		if i%3 != 0 {
			r.Data = json.RawMessage(fmt.Sprintf(`{"i":%d,"s":"<&>\u00e9"}`, i))
		}
		if i == 12 {
			r.Message = goldenRecord.Message
		}
		n, err := normalize(r, t0)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, n)
	}
	link(recs, 0, "")
	cp, err := checkpoint(t0.Add(time.Hour), t0.Add(5*time.Second), 5, 5, recs[4].Hash)
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, cp)
	link(recs[30:], 30, recs[29].Hash)
	return recs[5:]
}

// writeV1 creates a version-1 database on e and stores recs as its rows.
func writeV1(t *testing.T, e *env, recs []Record) {
	t.Helper()
	ctx := context.Background()
	if err := migrateTo(ctx, e.raw, e.d, 1); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		var data any
		if len(r.Data) > 0 {
			data = string(r.Data)
		}
		e.exec(t, `INSERT INTO history_records (`+recordColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.Time.UnixNano(), r.Type, r.Target, r.Object, r.Revision, r.Actor, r.Outcome, r.Message, data, r.PrevHash, r.Hash)
	}
}

func TestUpgradeFromVersion1(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("every record moves into segments and the chain verifies", func(t *testing.T) {
				e := b.newEnv(t)
				want := v1Chain(t)
				writeV1(t, e, want)
				s := e.open(t)
				res := mustVerifyOK(t, s, int64(len(want)))
				if res.HeadSeq != 31 || res.HeadHash != want[len(want)-1].Hash {
					t.Errorf("head after the upgrade = %d %s, want 31 %s", res.HeadSeq, res.HeadHash, want[len(want)-1].Hash)
				}
				got, err := s.Query(context.Background(), Filter{})
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("records after the upgrade differ (%v):\n got %+v\nwant %+v", err, got, want)
				}
				for _, r := range want {
					if g, err := s.Get(context.Background(), r.Seq); err != nil || !reflect.DeepEqual(g, r) {
						t.Errorf("get %d = %+v (%v), want %+v", r.Seq, g, err, r)
					}
				}
				// Runs of one target: 6..8 db, 9..12 cache, 13..16 web,
				// 17..20 db, 21..24 cache, 25..28 web, 29..30 db, 31 the
				// checkpoint; all posted.
				var segments, posted int64
				if err := e.raw.QueryRow(`SELECT COUNT(*), (SELECT through_seq FROM history_posted) FROM history_segments`).Scan(&segments, &posted); err != nil {
					t.Fatal(err)
				}
				if segments != 8 || posted != 31 {
					t.Errorf("%d segments posted through %d, want 8 through 31", segments, posted)
				}
				if recs, err := s.Query(context.Background(), Filter{Target: "db", Object: "Deployment.apps/prod/o3"}); err != nil || !reflect.DeepEqual(seqs(recs), []int64{18}) {
					t.Errorf("query through the postings = %v (%v), want [18]", seqs(recs), err)
				}
				var n int
				if err := e.raw.QueryRow(`SELECT COUNT(*) FROM history_records`).Scan(&n); err == nil {
					t.Errorf("history_records is still there with %d rows", n)
				}
				mustAppend(t, s, numbered(2)...)
				mustVerifyOK(t, s, int64(len(want))+2)
			})
			t.Run("moved and posted a few rows at a time", func(t *testing.T) {
				e := b.newEnv(t)
				want := v1Chain(t)
				writeV1(t, e, want)
				migrateV2(t, e, 4)
				s := e.open(t)
				mustVerifyOK(t, s, int64(len(want)))
				var postings, unposted int64
				if err := e.raw.QueryRow(`SELECT COUNT(*), (SELECT COUNT(*) FROM history_segments WHERE first_seq > (SELECT through_seq FROM history_posted)) FROM history_postings`).Scan(&postings, &unposted); err != nil {
					t.Fatal(err)
				}
				if unposted != 0 || postings == 0 {
					t.Errorf("%d postings, %d segments unposted, want all posted", postings, unposted)
				}
				for _, f := range []Filter{{Target: "db"}, {Object: "Deployment.apps/prod/o3"}, {Types: []string{TypeCheckpoint}}} {
					var wantSeqs []int64
					for _, r := range want {
						if (f.Target == "" || r.Target == f.Target) && (f.Object == "" || r.Object == f.Object) && (len(f.Types) == 0 || r.Type == f.Types[0]) {
							wantSeqs = append(wantSeqs, r.Seq)
						}
					}
					if got, err := s.Query(context.Background(), f); err != nil || !reflect.DeepEqual(seqs(got), wantSeqs) {
						t.Errorf("query %+v = %v (%v), want %v", f, seqs(got), err, wantSeqs)
					}
				}
			})
			t.Run("a record changed in version 1 is still found", func(t *testing.T) {
				e := b.newEnv(t)
				recs := v1Chain(t)
				recs[4].Message = "nothing happened" // record 10
				writeV1(t, e, recs)
				expectBroken(t, e.open(t), 10, "record 10: hash does not match")
			})
			t.Run("a record removed in version 1 is still missing", func(t *testing.T) {
				e := b.newEnv(t)
				recs := v1Chain(t)
				writeV1(t, e, append(recs[:6:6], recs[7:]...)) // record 12
				expectBroken(t, e.open(t), 12, "record 12 is missing")
			})
		})
	}
}

// migrateV2 runs migration 2 on e's version-1 database as migrate does,
// with the mover reading page rows at a time.
func migrateV2(t *testing.T, e *env, page int) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	m := migrations[1]
	m.step = func(ctx context.Context, tx *sql.Tx, d *dialect) error {
		return moveRecordPages(ctx, tx, d, page)
	}
	saved := migrations[1]
	migrations[1] = m
	defer func() { migrations[1] = saved }()
	if err := applyMigration(ctx, tx, e.d, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
