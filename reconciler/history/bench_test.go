package history

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchRecord is a record of realistic size: an apply with a small masked
// diff and commit details.
func benchRecord(target string, i int) Record {
	return Record{
		Type: TypeApply, Target: target, Object: fmt.Sprintf("Deployment.apps/prod/app-%d", i%500),
		Revision: "main@sha1:4f2a9c0d1e7b8a6c5d4e3f2a1b0c9d8e7f6a5b4c", Actor: "alice@example.com",
		Outcome: "succeeded", Message: "server-side applied",
		Data: json.RawMessage(`{"diff":[{"path":"/spec/replicas","before":2,"after":3}],"commit":{"author":"alice@example.com","signature":"good"},"trigger":"push","duration_ms":412}`),
	}
}

// BenchmarkAppendBatch appends batches of 100 records (one reconcile's
// worth, each record about another object) and of 1,000, and reports
// records/s. SQLite commits with synchronous=FULL, PostgreSQL with its
// defaults (fsync on, synchronous_commit on): every batch is durable.
func BenchmarkAppendBatch(b *testing.B) {
	for _, be := range backends {
		for _, size := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, size), func(b *testing.B) {
				s := be.newEnv(b).open(b)
				batch := make([]Record, size)
				for i := range batch {
					batch[i] = benchRecord("web", i)
				}
				b.ResetTimer()
				for range b.N {
					if _, err := s.Append(context.Background(), batch...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// Shape of the query benchmark's table: 1,000,000 records over 50 targets
// and 30 days, appended as the reconciler appends them: one batch (one
// segment) per reconcile of one target, 100 records each, targets round
// robin, times increasing with Seq as they do when the store stamps them.
const (
	bigRecords = 1_000_000
	bigTargets = 50
	bigBatch   = 100
	bigSpan    = 30 * 24 * time.Hour
)

var bigBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// bigStores holds one loaded store per backend for the whole benchmark run.
var bigStores struct {
	sync.Mutex
	m map[string]Store
}

// bigStore returns the backend's store with the big table, loading it on
// first use. The parent benchmark owns the database, so the sub-benchmarks'
// repeated runs reuse it.
func bigStore(parent *testing.B, be backend) Store {
	bigStores.Lock()
	defer bigStores.Unlock()
	if s, ok := bigStores.m[be.name]; ok {
		return s
	}
	start := time.Now()
	e := be.newEnv(parent)
	s := e.open(parent)
	bulkLoad(parent, e, bigChain(parent))
	parent.Logf("%s: loaded %d records in %s", be.name, bigRecords, time.Since(start).Round(time.Millisecond))
	if res, err := s.Verify(context.Background()); err != nil || !res.OK || res.Records != bigRecords {
		parent.Fatalf("%s: the loaded table is no valid chain: %+v %v", be.name, res, err)
	}
	if bigStores.m == nil {
		bigStores.m = map[string]Store{}
	}
	bigStores.m[be.name] = s
	return s
}

// bigChain builds the records of the big table as a valid chain, times
// increasing with Seq over bigSpan, one target per batch of bigBatch,
// targets round robin.
func bigChain(b *testing.B) []Record {
	step := bigSpan / bigRecords
	recs := make([]Record, bigRecords)
	for i := range recs {
		r := benchRecord(fmt.Sprintf("target-%02d", (i/bigBatch)%bigTargets), i)
		r.Time = bigBase.Add(time.Duration(i) * step)
		var err error
		if recs[i], err = normalize(r, r.Time); err != nil {
			b.Fatal(err)
		}
	}
	link(recs, 0, "")
	return recs
}

// bulkLoad writes linked records straight into the tables, bypassing
// Append, as the segments Append would write for batches of bigBatch, and
// posts them: in one transaction (SQLite with synchronous off), then
// ANALYZE.
func bulkLoad(b *testing.B, e *env, recs []Record) {
	ctx := context.Background()
	conn, err := e.raw.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	finish := "ANALYZE"
	if e.backend == "sqlite" {
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = OFF"); err != nil {
			b.Fatal(err)
		}
	} else {
		finish = "VACUUM ANALYZE" // what autovacuum does to an insert-only table
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	runMax := int64(math.MinInt64)
	for i := 0; i < len(recs); i += bigBatch {
		seg := storedSegment(recs[i:min(i+bigBatch, len(recs))])
		seg.runMax = max(seg.runMax, runMax)
		runMax = seg.runMax
		if err := writeSegment(ctx, tx, e.d, nil, seg); err != nil {
			b.Fatalf("%s: bulk insert: %v", e.backend, err)
		}
	}
	if err := postTail(ctx, tx, e.d, 0); err != nil {
		b.Fatalf("%s: post: %v", e.backend, err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, finish); err != nil {
		b.Fatalf("%s: %s: %v", e.backend, finish, err)
	}
}

// BenchmarkQueryTargetTimeRange queries one random target over a random
// window with limit 100 on a table of 1,000,000 records, and reports the
// p50 and p99 latency of one Query. A 1-day window matches ~670 records of
// the target, a 7-day window ~4,700.
func BenchmarkQueryTargetTimeRange(b *testing.B) {
	for _, be := range backends {
		for _, window := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
			b.Run(fmt.Sprintf("%s/window=%dd", be.name, window/(24*time.Hour)), func(sb *testing.B) {
				s := bigStore(b, be)
				rng := rand.New(rand.NewPCG(1, 2))
				lat := make([]time.Duration, 0, sb.N)
				sb.ResetTimer()
				for range sb.N {
					since := bigBase.Add(time.Duration(rng.Int64N(int64(bigSpan - window))))
					f := Filter{Target: fmt.Sprintf("target-%02d", rng.IntN(bigTargets)), Since: since, Until: since.Add(window), Limit: 100}
					t := time.Now()
					recs, err := s.Query(context.Background(), f)
					lat = append(lat, time.Since(t))
					if err != nil || len(recs) != 100 {
						sb.Fatalf("query %+v: %d records, %v", f, len(recs), err)
					}
				}
				slices.Sort(lat)
				sb.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
				sb.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
