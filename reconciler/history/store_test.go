package history

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// suiteCase is one test of the suite, run on a fresh database of each backend.
type suiteCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// TestStore is the one suite that runs against both backends.
func TestStore(t *testing.T) {
	var cases []suiteCase
	cases = append(cases, appendCases()...)
	cases = append(cases, queryCases()...)
	cases = append(cases, tamperCases()...)
	cases = append(cases, retainCases()...)
	cases = append(cases, concurrencyCases()...)
	cases = append(cases, schemaCases()...)
	cases = append(cases, episodeCases()...)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, b.newEnv(t)) })
			}
		})
	}
}

func appendCases() []suiteCase {
	return []suiteCase{
		{name: "append assigns seq, time, prev hash and hash", run: func(t *testing.T, e *env) {
			s := e.open(t, WithClock(fixedClock()))
			ctx := context.Background()
			first := mustAppend(t, s,
				Record{Type: TypeReconcile, Target: "web", Revision: "main@sha1:1", Actor: "alice", Outcome: "succeeded",
					Data: json.RawMessage("{ \"trigger\": \"push\",\n \"duration_ms\": 1200 }")},
				Record{Type: TypeApply, Target: "web", Object: "Deployment.apps/prod/web", Revision: "main@sha1:1"},
				Record{Type: TypePrune, Target: "web", Object: "ConfigMap/prod/old", Time: t0.In(time.FixedZone("CEST", 7200))},
			)
			if got := seqs(first); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
				t.Fatalf("seqs = %v, want [1 2 3]", got)
			}
			if first[0].PrevHash != "" {
				t.Errorf("record 1 prev_hash = %q, want empty", first[0].PrevHash)
			}
			for i, r := range first {
				if r.Hash != HashRecord(r) || len(r.Hash) != 64 {
					t.Errorf("record %d hash %q is not the hash of its content", r.Seq, r.Hash)
				}
				if i > 0 && r.PrevHash != first[i-1].Hash {
					t.Errorf("record %d prev_hash does not link to record %d", r.Seq, r.Seq-1)
				}
			}
			if want := t0.Add(time.Second); !first[0].Time.Equal(want) || first[0].Time.Location() != time.UTC {
				t.Errorf("zero time became %v, want the clock's %v in UTC", first[0].Time, want)
			}
			if !first[2].Time.Equal(t0) || first[2].Time.Location() != time.UTC {
				t.Errorf("explicit time stored as %v, want %v in UTC", first[2].Time, t0)
			}
			if got := string(first[0].Data); got != `{"trigger":"push","duration_ms":1200}` {
				t.Errorf("data = %s, want it compacted with member order kept", got)
			}

			second := mustAppend(t, s, Record{Type: TypeDriftOpened, Target: "web"})
			if second[0].Seq != 4 || second[0].PrevHash != first[2].Hash {
				t.Errorf("second batch starts at seq %d prev %q, want 4 after %q", second[0].Seq, second[0].PrevHash, first[2].Hash)
			}
			for _, want := range append(first, second...) {
				got, err := s.Get(ctx, want.Seq)
				if err != nil {
					t.Fatalf("get %d: %v", want.Seq, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("get %d = %+v, want what append returned %+v", want.Seq, got, want)
				}
			}
			mustVerifyOK(t, s, 4)
		}},
		{name: "the tail is posted when it reaches its limit", run: func(t *testing.T, e *env) {
			s := e.open(t)
			recs := appendEach(t, s, numbered(postLagSegments+3)...)
			var posted, postings int64
			if err := e.raw.QueryRow(`SELECT through_seq, (SELECT COUNT(*) FROM history_postings) FROM history_posted`).Scan(&posted, &postings); err != nil {
				t.Fatal(err)
			}
			// Each record is a segment posted under its target, type,
			// revision and actor.
			if posted != postLagSegments || postings != 4*postLagSegments {
				t.Errorf("posted through %d with %d postings, want through %d with %d", posted, postings, postLagSegments, 4*postLagSegments)
			}
			got, err := s.Query(context.Background(), Filter{Target: "web", Since: recs[30].Time, Limit: 4})
			if err != nil || !reflect.DeepEqual(seqs(got), []int64{31, 32, 33, 34}) {
				t.Errorf("query across the posted and the unposted segments = %v (%v), want [31 32 33 34]", seqs(got), err)
			}
		}},
		{name: "get of a missing record is ErrNotFound", run: func(t *testing.T, e *env) {
			s := e.open(t)
			_, err := s.Get(context.Background(), 42)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("get 42 = %v, want ErrNotFound", err)
			}
			if !strings.HasPrefix(err.Error(), "history "+e.backend+" ") || !strings.Contains(err.Error(), "get 42") {
				t.Errorf("error %q does not start with the store's identity and operation", err)
			}
		}},
		{name: "append of nothing stores nothing", run: func(t *testing.T, e *env) {
			s := e.open(t)
			if out, err := s.Append(context.Background()); err != nil || out != nil {
				t.Fatalf("append() = %v, %v", out, err)
			}
			mustVerifyOK(t, s, 0)
		}},
		{name: "a batch with an invalid record stores none of it", run: func(t *testing.T, e *env) {
			s := e.open(t)
			good := Record{Type: TypeApply, Target: "web"}
			for _, bad := range []struct {
				name string
				rec  Record
			}{
				{"unknown type", Record{Type: "deploy"}},
				{"checkpoint from a caller", Record{Type: TypeCheckpoint}},
				{"data not json", Record{Type: TypeApply, Data: json.RawMessage(`{"a":`)}},
				{"message not utf-8", Record{Type: TypeApply, Message: "bad \xff"}},
				{"nul in target", Record{Type: TypeApply, Target: "a\x00b"}},
				{"time out of range", Record{Type: TypeApply, Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
			} {
				_, err := s.Append(context.Background(), good, bad.rec)
				if !errors.Is(err, ErrInvalidRecord) {
					t.Errorf("%s: append = %v, want ErrInvalidRecord", bad.name, err)
				}
			}
			recs, err := s.Query(context.Background(), Filter{})
			if err != nil || len(recs) != 0 {
				t.Fatalf("after refused batches: %d records, %v; want none", len(recs), err)
			}
		}},
		{name: "text with escapes and data with html round-trips and hashes", run: func(t *testing.T, e *env) {
			s := e.open(t)
			in := Record{Type: TypeNotification, Target: "web", Message: "quote \" backslash \\ tab \t nl \n bell \a é \u2028 <b>",
				Data: json.RawMessage(`{"html":"<b>&amp;</b>","esc":"\u00e9\n","n":1e5}`)}
			out := mustAppend(t, s, in)
			got, err := s.Get(context.Background(), out[0].Seq)
			if err != nil {
				t.Fatal(err)
			}
			if got.Message != in.Message || string(got.Data) != string(in.Data) {
				t.Errorf("round trip changed the record:\n got %q %s\nwant %q %s", got.Message, got.Data, in.Message, in.Data)
			}
			mustVerifyOK(t, s, 1)
		}},
	}
}

// layouts are the ways a test stores its records: queries read segments
// through postings, through the unposted tail's posting_keys, or both, and
// must give the same answers.
var layouts = []struct {
	name  string
	store func(t *testing.T, e *env, s Store, recs []Record) []Record
}{
	{"one segment, unposted", func(t *testing.T, _ *env, s Store, recs []Record) []Record {
		return mustAppend(t, s, recs...)
	}},
	{"a segment per record, unposted", func(t *testing.T, _ *env, s Store, recs []Record) []Record {
		return appendEach(t, s, recs...)
	}},
	{"a segment per record, posted", func(t *testing.T, e *env, s Store, recs []Record) []Record {
		out := appendEach(t, s, recs...)
		e.postAll(t)
		return out
	}},
	{"half posted", func(t *testing.T, e *env, s Store, recs []Record) []Record {
		out := appendEach(t, s, recs[:len(recs)/2]...)
		e.postAll(t)
		return append(out, appendEach(t, s, recs[len(recs)/2:]...)...)
	}},
}

// forEachLayout stores filterData in each layout on a fresh database of
// e's backend and runs check on it.
func forEachLayout(t *testing.T, e *env, check func(t *testing.T, s Store)) {
	for _, layout := range layouts {
		t.Run(layout.name, func(t *testing.T) {
			e := backendEnv(t, e.backend)
			s := e.open(t)
			layout.store(t, e, s, filterData())
			check(t, s)
		})
	}
}

// postAll posts the unposted segments outside the store.
func (e *env) postAll(t testing.TB) {
	t.Helper()
	tx, err := e.raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	through, err := readPosted(context.Background(), tx)
	if err == nil {
		err = postTail(context.Background(), tx, e.d, through)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// filterData are 12 records over 2 targets, 12 minutes, several objects,
// revisions, types and actors.
func filterData() []Record {
	type row struct{ target, object, rev, typ, actor string }
	rows := []row{
		{"web", "", "r1", TypeReconcile, "alice"},                                // 1
		{"web", "Deployment.apps/prod/web", "r1", TypeApply, "alice"},            // 2
		{"web", "Service/prod/web", "r1", TypeApply, "alice"},                    // 3
		{"db", "", "r7", TypeReconcile, "bob"},                                   // 4
		{"db", "StatefulSet.apps/prod/db", "r7", TypeApply, "bob"},               // 5
		{"web", "Deployment.apps/prod/web", "", TypeDriftOpened, "kubectl-edit"}, // 6
		{"web", "Deployment.apps/prod/web", "r1", TypeHeal, "trueup"},            // 7
		{"web", "Deployment.apps/prod/web", "", TypeDriftResolved, "trueup"},     // 8
		{"web", "", "r2", TypeReconcile, "carol"},                                // 9
		{"web", "ConfigMap/prod/old", "r2", TypePrune, "carol"},                  // 10
		{"db", "", "r8", TypeReconcile, "bob"},                                   // 11
		{"web", "Deployment.apps/prod/web", "r2", TypeNotification, "trueup"},    // 12
	}
	recs := make([]Record, len(rows))
	for i, r := range rows {
		recs[i] = Record{Time: t0.Add(time.Duration(i) * time.Minute), Type: r.typ, Target: r.target,
			Object: r.object, Revision: r.rev, Actor: r.actor, Outcome: "succeeded"}
	}
	return recs
}

func queryCases() []suiteCase {
	return []suiteCase{
		{name: "rows whose key collides but whose text differs are skipped and the page is filled", run: func(t *testing.T, e *env) {
			s := e.open(t)
			six := mustAppend(t, s, numbered(6)...)
			// Records 7..9 are posted under target "web" (a forged key
			// collision) while their text names another target.
			forged := numbered(3)
			for i := range forged {
				forged[i].Target = "other"
				forged[i], _ = normalize(forged[i], t0)
			}
			seg := linkSegment(forged, 6, six[5].Hash)
			seg.postings = []int64{postingKey(colTarget, "web")}
			e.insertSegment(t, seg)
			mustAppend(t, s, numbered(3)...) // 10..12, target web
			for _, posted := range []bool{false, true} {
				if posted {
					e.postAll(t)
				}
				for _, f := range []Filter{{Target: "web", Limit: 4, AfterSeq: 4}, {Target: "web", Limit: 4, Desc: true}} {
					recs, err := s.Query(context.Background(), f)
					if err != nil {
						t.Fatal(err)
					}
					want := []int64{5, 6, 10, 11}
					if f.Desc {
						want = []int64{12, 11, 10, 6}
					}
					if got := seqs(recs); !reflect.DeepEqual(got, want) {
						t.Errorf("posted %v: query %+v = %v, want %v", posted, f, got, want)
					}
				}
			}
		}},
		{name: "each filter selects its records", run: func(t *testing.T, e *env) {
			forEachLayout(t, e, func(t *testing.T, s Store) {
				minute := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
				tests := []struct {
					name string
					f    Filter
					want []int64
				}{
					{"all", Filter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
					{"target", Filter{Target: "db"}, []int64{4, 5, 11}},
					{"object", Filter{Object: "Deployment.apps/prod/web"}, []int64{2, 6, 7, 8, 12}},
					{"revision", Filter{Revision: "r2"}, []int64{9, 10, 12}},
					{"actor", Filter{Actor: "trueup"}, []int64{7, 8, 12}},
					{"one type", Filter{Types: []string{TypeReconcile}}, []int64{1, 4, 9, 11}},
					{"types", Filter{Types: []string{TypeDriftOpened, TypeDriftResolved}}, []int64{6, 8}},
					{"since inclusive", Filter{Since: minute(9)}, []int64{10, 11, 12}},
					{"until exclusive", Filter{Until: minute(2)}, []int64{1, 2}},
					{"target and time range", Filter{Target: "web", Since: minute(2), Until: minute(9)}, []int64{3, 6, 7, 8, 9}},
					{"since with nanoseconds", Filter{Since: minute(3).Add(time.Nanosecond)}, []int64{5, 6, 7, 8, 9, 10, 11, 12}},
					{"object and types", Filter{Object: "Deployment.apps/prod/web", Types: []string{TypeHeal, TypeApply}}, []int64{2, 7}},
					{"limit", Filter{Target: "web", Limit: 3}, []int64{1, 2, 3}},
					{"desc with limit", Filter{Target: "web", Desc: true, Limit: 3}, []int64{12, 10, 9}},
					{"after seq", Filter{Target: "web", AfterSeq: 7}, []int64{8, 9, 10, 12}},
					{"desc after seq", Filter{Target: "web", AfterSeq: 7, Desc: true}, []int64{6, 3, 2, 1}},
					{"no match", Filter{Target: "web", Actor: "bob"}, []int64{}},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						got, err := s.Query(context.Background(), tt.f)
						if err != nil {
							t.Fatalf("query: %v", err)
						}
						if gotSeqs := seqs(got); !reflect.DeepEqual(gotSeqs, tt.want) {
							t.Errorf("query %+v = %v, want %v", tt.f, gotSeqs, tt.want)
						}
					})
				}
			})
		}},
		{name: "paging with after seq visits every record once", run: func(t *testing.T, e *env) {
			forEachLayout(t, e, func(t *testing.T, s Store) {
				for _, desc := range []bool{false, true} {
					var all []int64
					f := Filter{Target: "web", Limit: 2, Desc: desc}
					for pages := 0; ; pages++ {
						page, err := s.Query(context.Background(), f)
						if err != nil {
							t.Fatal(err)
						}
						if len(page) == 0 || pages > 10 {
							break
						}
						all = append(all, seqs(page)...)
						f.AfterSeq = page[len(page)-1].Seq
					}
					want := []int64{1, 2, 3, 6, 7, 8, 9, 10, 12}
					if desc {
						want = []int64{12, 10, 9, 8, 7, 6, 3, 2, 1}
					}
					if !reflect.DeepEqual(all, want) {
						t.Errorf("desc=%v: pages gave %v, want %v", desc, all, want)
					}
				}
			})
		}},
		{name: "filters match text that the encoding escapes", run: func(t *testing.T, e *env) {
			s := e.open(t)
			odd := Record{Type: TypeManual, Target: "we\"b\t\u2028é", Object: "a\\b", Revision: "r\n1", Actor: "<x>&",
				Data: json.RawMessage(`{"target":"web","object":"a\\b"}`)}
			mustAppend(t, s, Record{Type: TypeManual, Target: "web", Object: "a\\b"}, odd, Record{Type: TypeManual, Target: "we\"b"})
			for _, f := range []Filter{{Target: odd.Target}, {Object: odd.Object, Revision: odd.Revision}, {Actor: odd.Actor}} {
				got, err := s.Query(context.Background(), f)
				if err != nil || !reflect.DeepEqual(seqs(got), []int64{2}) {
					t.Errorf("query %+v = %v (%v), want [2]", f, seqs(got), err)
				}
			}
		}},
		{name: "query without limit returns the default limit", run: func(t *testing.T, e *env) {
			s := e.open(t)
			mustAppend(t, s, numbered(DefaultQueryLimit+5)...)
			got, err := s.Query(context.Background(), Filter{})
			if err != nil || len(got) != DefaultQueryLimit {
				t.Fatalf("query = %d records, %v; want %d", len(got), err, DefaultQueryLimit)
			}
		}},
		{name: "export writes json lines a reader can rehash", run: func(t *testing.T, e *env) {
			s := e.open(t)
			want := mustAppend(t, s, numbered(2*exportPage+7)...) // several pages
			html := mustAppend(t, s, Record{Type: TypeManual, Actor: "ops", Data: json.RawMessage(`{"note":"<b>a & b</b>"}`)})
			want = append(want, html...)
			var buf bytes.Buffer
			if err := s.Export(context.Background(), &buf, Filter{}); err != nil {
				t.Fatalf("export: %v", err)
			}
			got := readJSONL(t, bytes.NewReader(buf.Bytes()))
			if len(got) != len(want) {
				t.Fatalf("exported %d records, want %d", len(got), len(want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], want[i]) || HashRecord(got[i]) != got[i].Hash {
					t.Fatalf("exported record %d = %+v, want %+v with a hash that checks", i, got[i], want[i])
				}
			}
			if !bytes.Contains(buf.Bytes(), []byte(`"data":{"note":"<b>a & b</b>"}`)) {
				t.Errorf("export escaped the data: it is no longer byte for byte what was hashed")
			}

			filtered := readJSONL(t, bytes.NewReader(mustExport(t, s, Filter{Desc: true, Limit: 3})))
			if got := seqs(filtered); !reflect.DeepEqual(got, []int64{2008, 2007, 2006}) {
				t.Errorf("export desc limit 3 = %v, want [2008 2007 2006]", got)
			}
		}},
	}
}

func mustExport(t *testing.T, s Store, f Filter) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Export(context.Background(), &buf, f); err != nil {
		t.Fatalf("export: %v", err)
	}
	return buf.Bytes()
}

func readJSONL(t *testing.T, r interface{ Read([]byte) (int, error) }) []Record {
	t.Helper()
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", len(out)+1, err, sc.Text())
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func concurrencyCases() []suiteCase {
	return []suiteCase{
		{name: "concurrent appenders on two stores keep one chain", run: func(t *testing.T, e *env) {
			const (
				stores     = 2
				goroutines = 4
				batches    = 15
				perBatch   = 5
			)
			var wg sync.WaitGroup
			errs := make(chan error, stores*goroutines)
			for i := range stores {
				s := e.open(t)
				for g := range goroutines {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs <- appendBatches(s, fmt.Sprintf("s%dg%d", i, g), batches, perBatch)
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			s := e.open(t)
			mustVerifyOK(t, s, stores*goroutines*batches*perBatch)
			all, err := s.Query(context.Background(), Filter{Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			checkBatchesWhole(t, all)
		}},
	}
}

// appendBatches appends batches whose records carry the batch id in Data,
// and checks each batch got consecutive sequence numbers.
func appendBatches(s Store, id string, batches, perBatch int) error {
	for b := range batches {
		recs := make([]Record, perBatch)
		for i := range recs {
			recs[i] = Record{Type: TypeApply, Target: id,
				Data: json.RawMessage(fmt.Sprintf(`{"batch":"%s-%d","size":%d,"i":%d}`, id, b, perBatch, i))}
		}
		out, err := s.Append(context.Background(), recs...)
		if err != nil {
			return err
		}
		for i := 1; i < len(out); i++ {
			if out[i].Seq != out[0].Seq+int64(i) {
				return fmt.Errorf("batch %s-%d got seqs %v: not consecutive", id, b, seqs(out))
			}
		}
	}
	return nil
}

// batchData is the Data of the records appendBatches writes.
type batchData struct {
	Batch string `json:"batch"`
	Size  int    `json:"size"`
	I     int    `json:"i"`
}

// checkBatchesWhole fails unless every batch in recs is complete and its
// records are consecutive. It returns the batch ids.
func checkBatchesWhole(t *testing.T, recs []Record) map[string]bool {
	t.Helper()
	type seen struct {
		size, n   int
		first     int64
		lastIndex int
	}
	batches := map[string]*seen{}
	for _, r := range recs {
		var d batchData
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatalf("record %d: data %s: %v", r.Seq, r.Data, err)
		}
		b := batches[d.Batch]
		if b == nil {
			b = &seen{size: d.Size, first: r.Seq, lastIndex: -1}
			batches[d.Batch] = b
		}
		if r.Seq != b.first+int64(d.I) || d.I != b.lastIndex+1 {
			t.Errorf("batch %s: record %d is item %d: batch not consecutive", d.Batch, r.Seq, d.I)
		}
		b.n++
		b.lastIndex = d.I
	}
	ids := map[string]bool{}
	for id, b := range batches {
		if b.n != b.size {
			t.Errorf("batch %s has %d of its %d records: a partial batch", id, b.n, b.size)
		}
		ids[id] = true
	}
	return ids
}

func schemaCases() []suiteCase {
	return []suiteCase{
		{name: "reopening migrates once and a newer schema is refused", run: func(t *testing.T, e *env) {
			s := e.open(t)
			mustAppend(t, s, numbered(3)...)
			s2 := e.open(t) // same database again
			mustVerifyOK(t, s2, 3)
			var n, max int
			if err := e.raw.QueryRow(`SELECT COUNT(*), MAX(version) FROM `+tableMigrations).Scan(&n, &max); err != nil {
				t.Fatal(err)
			}
			if n != len(migrations) || max != len(migrations) {
				t.Errorf("migrations table has %d rows up to %d, want %d", n, max, len(migrations))
			}
			e.exec(t, `INSERT INTO `+tableMigrations+` (version, applied_ns) VALUES (?, 0)`, len(migrations)+1)
			_, err := e.tryOpen()
			if !errors.Is(err, ErrSchemaTooNew) {
				t.Fatalf("open of a newer schema = %v, want ErrSchemaTooNew", err)
			}
		}},
	}
}
