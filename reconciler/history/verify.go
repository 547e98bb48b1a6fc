package history

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// anchor is where the stored chain starts: after record seq, whose hash was
// hash. Without retention it is (0, "").
type anchor struct {
	seq  int64
	hash string
	// checkpoint is the Seq of the checkpoint record that set the anchor.
	checkpoint int64
}

// Verify implements Store. It reads one snapshot: the newest checkpoint
// first (the anchor), then every segment in first_seq order as a stream.
func (s *sqlStore) Verify(ctx context.Context) (VerifyResult, error) {
	tx, err := s.db.BeginTx(ctx, s.d.readTx)
	if err != nil {
		return VerifyResult{}, s.errorf("verify: begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	a, broken, err := s.readAnchor(ctx, tx)
	if err != nil {
		return VerifyResult{}, s.errorf("verify: read checkpoint", err)
	}
	if broken != nil {
		return *broken, nil
	}
	posted, err := readPosted(ctx, tx)
	if err != nil {
		return VerifyResult{}, s.errorf("verify", err)
	}
	res, postings, err := walk(ctx, tx, a, posted)
	if err != nil {
		return VerifyResult{}, s.errorf("verify", err)
	}
	if res.OK {
		broken, err := checkPostings(ctx, tx, postings)
		if err != nil {
			return VerifyResult{}, s.errorf("verify: read postings", err)
		}
		if broken != nil {
			broken.Records, broken.HeadSeq, broken.HeadHash = res.Records, res.HeadSeq, res.HeadHash
			return *broken, nil
		}
	}
	return res, nil
}

// postingSums are the postings the posted segments must have in
// history_postings: per segment (by first_seq), the count and an
// order-independent sum of mixed (key, first_seq) pairs, with last_seq.
type postingSums map[int64]*postingSum

type postingSum struct {
	last       int64
	count, sum uint64
}

func (p postingSums) add(first int64, key int64) {
	ps := p[first]
	if ps == nil {
		ps = &postingSum{}
		p[first] = ps
	}
	ps.count++
	ps.sum += mixPosting(key, first)
}

// mixPosting spreads a posting over 64 bits (splitmix64), so that sums of
// different sets differ.
func mixPosting(key, first int64) uint64 {
	z := uint64(key) ^ (uint64(first) * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// checkPostings compares history_postings with what the posted segments'
// records give. The postings are an index, outside the chain, but an index
// with a row removed hides its segment from filtered queries, so a
// difference is reported at the segment's first record.
func checkPostings(ctx context.Context, tx *sql.Tx, want postingSums) (*VerifyResult, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key, first_seq FROM `+tablePostings)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := postingSums{}
	for rows.Next() {
		var key, first int64
		if err := rows.Scan(&key, &first); err != nil {
			return nil, err
		}
		got.add(first, key)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var bad []int64
	for first, w := range want {
		if g := got[first]; g == nil || g.count != w.count || g.sum != w.sum {
			bad = append(bad, first)
		}
	}
	for first := range got {
		if want[first] == nil {
			bad = append(bad, first)
		}
	}
	if len(bad) == 0 {
		return nil, nil
	}
	first := slices.Min(bad)
	if w := want[first]; w != nil {
		return brokenAt(first, 0, "segment %d..%d: the postings index does not match its records (a filtered query could miss them)", first, w.last), nil
	}
	return brokenAt(first, 0, "the postings index names segment %d, which is not a posted segment", first), nil
}

// readAnchor finds the newest checkpoint and checks its own hash before
// trusting the anchor it carries. A checkpoint that does not check is a
// broken result.
func (s *sqlStore) readAnchor(ctx context.Context, tx *sql.Tx) (anchor, *VerifyResult, error) {
	cps, err := s.query(ctx, tx, Filter{Types: []string{TypeCheckpoint}, Desc: true}, 1, 0)
	if err != nil || len(cps) == 0 {
		return anchor{}, nil, err
	}
	cp := cps[0]
	if HashRecord(cp) != cp.Hash {
		return anchor{}, brokenAt(cp.Seq, 0, "checkpoint record %d: hash does not match its content", cp.Seq), nil
	}
	var d checkpointData
	if err := json.Unmarshal(cp.Data, &d); err != nil || d.ThroughSeq <= 0 || d.ThroughSeq >= cp.Seq {
		return anchor{}, brokenAt(cp.Seq, 0, "checkpoint record %d: data names no valid retention boundary", cp.Seq), nil
	}
	return anchor{seq: d.ThroughSeq, hash: d.ThroughHash, checkpoint: cp.Seq}, nil, nil
}

// walk streams the segments in first_seq order and checks each record of
// each (see walker).
// It also returns the postings that the segments up to posted must have.
func walk(ctx context.Context, tx *sql.Tx, a anchor, posted int64) (VerifyResult, postingSums, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+segmentColumns+` FROM `+tableSegments+` ORDER BY first_seq`)
	if err != nil {
		return VerifyResult{}, nil, err
	}
	defer rows.Close()
	w := walker{a: a, expect: a.seq + 1, prev: a.hash}
	postings := postingSums{}
	for rows.Next() {
		g, err := readSegment(rows)
		if err != nil {
			return VerifyResult{}, nil, fmt.Errorf("read segment after record %d: %w", w.expect-1, err)
		}
		if res := w.segment(g); res != nil {
			return *res, nil, nil
		}
		if g.first <= posted {
			keys, _ := parseKeys(g.keys) // checked against the records by w.segment
			for _, k := range keys {
				postings.add(g.first, k)
			}
			if ps := postings[g.first]; ps != nil {
				ps.last = g.last
			}
		}
	}
	if err := rows.Err(); err != nil {
		return VerifyResult{}, nil, fmt.Errorf("read segments: %w", err)
	}
	return VerifyResult{OK: true, Records: w.n, HeadSeq: w.expect - 1, HeadHash: w.prev}, postings, nil
}

// walker checks the chain segment by segment: each record continues it
// (no gap, PrevHash equal to the previous Hash, Hash equal to the hash of
// the content, stored as its canonical encoding, data that is JSON), and
// each segment's columns agree with its body.
type walker struct {
	a anchor
	n int64 // records checked
	// segments counts the segments checked; runMax is the last one's
	// run_max_time_ns.
	segments, runMax int64
	expect           int64  // the next Seq
	prev             string // the last Hash
	buf              []byte
}

// segment checks g and returns the broken result, or nil.
func (w *walker) segment(g storedSeg) *VerifyResult {
	start := *w
	lines := splitLines(g.body)
	if len(lines) == 0 {
		return w.broken(w.expect, "segment %d..%d holds no records", g.first, g.last)
	}
	got := storedSeg{first: w.expect, headHash: w.prev}
	recs := make([]Record, 0, len(lines))
	for i, line := range lines {
		r, canon, err := parseLine(line)
		if err != nil {
			return w.broken(w.expect, "record %d: stored form is not readable: %v", w.expect, err)
		}
		if res := w.record(r, canon); res != nil {
			return res
		}
		ns := r.Time.UnixNano()
		if i == 0 {
			got.first, got.minTime, got.maxTime = r.Seq, ns, ns
		}
		got.last, got.headHash = r.Seq, r.Hash
		got.minTime, got.maxTime = min(got.minTime, ns), max(got.maxTime, ns)
		recs = append(recs, r)
	}
	got.keys = formatKeys(postingKeys(recs))
	if g.last > got.last && g.first == got.first {
		return w.broken(got.last+1, "record %d is missing (segment %d..%d ends at record %d)", got.last+1, g.first, g.last, got.last)
	}
	got.runMax = max(got.maxTime, w.runMax)
	if w.segments == 0 {
		// Retention may have removed newer records before it.
		got.runMax = max(got.maxTime, g.runMax)
	}
	if reason := g.disagrees(got); reason != "" {
		return start.broken(got.first, "segment %d..%d: %s", g.first, g.last, reason)
	}
	w.segments, w.runMax = w.segments+1, g.runMax
	return nil
}

// disagrees says which column of g differs from what its body holds
// (got), or "".
func (g storedSeg) disagrees(got storedSeg) string {
	switch {
	case g.first != got.first:
		return fmt.Sprintf("first_seq %d does not match its first record %d", g.first, got.first)
	case g.last != got.last:
		return fmt.Sprintf("last_seq %d does not match its last record %d", g.last, got.last)
	case g.headHash != got.headHash:
		return fmt.Sprintf("head_hash does not match the hash of its last record %d", got.last)
	case g.minTime != got.minTime || g.maxTime != got.maxTime:
		return fmt.Sprintf("time range %d..%d does not match its records' %d..%d", g.minTime, g.maxTime, got.minTime, got.maxTime)
	case g.runMax != got.runMax:
		return fmt.Sprintf("run_max_time_ns %d is not the greatest time up to it, %d", g.runMax, got.runMax)
	case g.keys != got.keys:
		return "posting_keys does not match its records"
	}
	return ""
}

// record checks that r, stored as canon, continues the chain.
func (w *walker) record(r Record, canon string) *VerifyResult {
	w.buf = appendCanonical(w.buf[:0], r)
	sum := sha256.Sum256(w.buf)
	reason := check(r, hex.EncodeToString(sum[:]), w.expect, w.prev, w.a)
	switch {
	case reason != "":
	case string(w.buf) != canon:
		reason = fmt.Sprintf("record %d: stored bytes are not its canonical encoding", r.Seq)
	case len(r.Data) > 0 && !json.Valid(r.Data):
		reason = fmt.Sprintf("record %d: data is not JSON", r.Seq)
	}
	if reason != "" {
		first := r.Seq
		if r.Seq > w.expect || r.Seq < w.expect && w.expect > w.a.seq+1 {
			first = w.expect // the missing one, or the one a repeated record stands in for
		}
		return w.broken(first, "%s", reason)
	}
	w.n++
	w.expect, w.prev = r.Seq+1, r.Hash
	return nil
}

// broken is the failed result at seq after the records checked so far.
func (w *walker) broken(seq int64, format string, args ...any) *VerifyResult {
	res := brokenAt(seq, w.n, format, args...)
	res.HeadSeq, res.HeadHash = w.expect-1, w.prev
	return res
}

// check returns why r, whose content hashes to hash, does not continue the
// chain at expect after prev, or "". It does not judge the type: a newer
// trueup may know more types, and the hash covers it.
func check(r Record, hash string, expect int64, prev string, a anchor) string {
	switch {
	case r.Seq < expect && a.checkpoint > 0 && r.Seq <= a.seq:
		return fmt.Sprintf("record %d is stored although checkpoint %d removed the records through %d", r.Seq, a.checkpoint, a.seq)
	case r.Seq < expect && expect == a.seq+1:
		return fmt.Sprintf("record %d: sequence numbers start at 1", r.Seq)
	case r.Seq < expect:
		return fmt.Sprintf("record %d: record %d is stored again here", expect, r.Seq)
	case r.Seq > expect:
		return fmt.Sprintf("record %d is missing (the next stored record is %d)", expect, r.Seq)
	case r.PrevHash != prev && expect == a.seq+1 && a.checkpoint > 0:
		return fmt.Sprintf("record %d: prev_hash does not match the hash of record %d kept by checkpoint %d", r.Seq, a.seq, a.checkpoint)
	case r.PrevHash != prev:
		return fmt.Sprintf("record %d: prev_hash does not match the hash of record %d", r.Seq, r.Seq-1)
	case hash != r.Hash:
		return fmt.Sprintf("record %d: hash does not match its content", r.Seq)
	}
	return ""
}

// brokenAt is a failed VerifyResult.
func brokenAt(seq, checked int64, format string, args ...any) *VerifyResult {
	return &VerifyResult{FirstBroken: seq, Records: checked, Reason: fmt.Sprintf(format, args...)}
}
