package history

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// exportPage is how many records Export reads per query.
const exportPage = 1000

// matcher picks the records of segments that match a filter, in order.
type matcher struct {
	f                  Filter
	maxSeq             int64
	since, until       int64
	hasSince, hasUntil bool
	// last is the Seq of the last record taken: a page never repeats one,
	// even from segments whose ranges overlap (which Verify reports).
	last int64
	// members are the canonical members of the filter's equality values
	// (see mayMatch).
	members []member
}

// member is a member of the canonical encoding: its name as it stands
// there (`,"target":`) and its value with what follows it
// (`"web","time":`).
type member struct{ name, value string }

func newMatcher(f Filter, maxSeq int64) *matcher {
	m := &matcher{f: f, maxSeq: maxSeq, last: f.AfterSeq}
	for _, eq := range [4][3]string{
		{`,"target":`, f.Target, `,"time":`}, {`,"object":`, f.Object, `,"outcome":`},
		{`,"revision":`, f.Revision, `,"seq":`}, {` {"actor":`, f.Actor, `,"data":`},
	} {
		if eq[1] != "" {
			m.members = append(m.members, member{eq[0], string(appendString(nil, eq[1])) + eq[2]})
		}
	}
	if m.hasSince = !f.Since.IsZero(); m.hasSince {
		m.since = clampNanos(f.Since)
	}
	if m.hasUntil = !f.Until.IsZero(); m.hasUntil {
		m.until = clampNanos(f.Until)
	}
	return m
}

// take appends the matching records of g to out, up to limit in all.
// Lines that do not parse are skipped: Verify reports them.
func (m *matcher) take(g storedSeg, out []Record, limit int) []Record {
	lines := splitLines(g.body)
	for i := range lines {
		if len(out) >= limit {
			break
		}
		line := lines[i]
		if m.f.Desc {
			line = lines[len(lines)-1-i]
		}
		if !m.mayMatch(line) {
			continue
		}
		r, _, err := parseLine(line)
		if err != nil || !m.matches(r) {
			continue
		}
		m.last = r.Seq
		out = append(out, detach(r))
	}
	return out
}

// mayMatch reports whether the line of a record has the values of the
// filter's equality members, without reading the record: each member's
// name is found from the end of the line (the members after it are
// strings and numbers, which cannot hold the name, so the last one found
// is the member itself; the actor follows the hash and its space). A line
// that is not canonical may be skipped: Verify reports it.
func (m *matcher) mayMatch(line string) bool {
	for _, mb := range m.members {
		i := strings.LastIndex(line, mb.name)
		if i < 0 || !strings.HasPrefix(line[i+len(mb.name):], mb.value) {
			return false
		}
	}
	return true
}

// matches reports whether r is after the cursor, at or before maxSeq, in
// the time range and has the texts f asks for (a record whose keys match
// but whose text differs is a key collision).
func (m *matcher) matches(r Record) bool {
	f := m.f
	if m.last > 0 && (f.Desc && r.Seq >= m.last || !f.Desc && r.Seq <= m.last) || m.maxSeq > 0 && r.Seq > m.maxSeq {
		return false
	}
	ns := r.Time.UnixNano()
	if m.hasSince && ns < m.since || m.hasUntil && ns >= m.until {
		return false
	}
	for _, eq := range [4][2]string{
		{r.Target, f.Target}, {r.Object, f.Object}, {r.Revision, f.Revision}, {r.Actor, f.Actor},
	} {
		if eq[1] != "" && eq[0] != eq[1] {
			return false
		}
	}
	return len(f.Types) == 0 || slices.Contains(f.Types, r.Type)
}

// clampNanos is t in Unix nanoseconds, clamped to what int64 holds.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return minTime.UnixNano()
	case t.After(maxTime):
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

// query returns up to limit records matching f (and Seq <= maxSeq when
// maxSeq > 0), reading candidate segments a page at a time: the posted
// ones, and before (descending) or after (ascending) them the unposted
// tail.
func (s *sqlStore) query(ctx context.Context, q querier, f Filter, limit int, maxSeq int64) ([]Record, error) {
	sf := newSegmentFilter(s.d, f, maxSeq)
	m := newMatcher(f, maxSeq)
	var out []Record
	take := func(segs []storedSeg) (int, bool) {
		for _, g := range segs {
			if out = m.take(g, out, limit); len(out) >= limit {
				return len(out), true
			}
		}
		return len(out), false
	}
	if len(sf.drivers) == 0 {
		_, err := sf.pages(ctx, q, f.AfterSeq, limit, take)
		return out, err
	}
	var err error
	if sf.posted, err = readPosted(ctx, q); err != nil {
		return nil, err
	}
	tail := func() (bool, error) {
		segs, err := sf.tail(ctx, q, f.AfterSeq)
		if err != nil {
			return false, err
		}
		_, done := take(segs)
		return done, nil
	}
	first, then := tail, func() (bool, error) { return sf.pages(ctx, q, f.AfterSeq, limit, take) }
	if !f.Desc {
		first, then = then, first
	}
	if done, err := first(); done || err != nil {
		return out, err
	}
	_, err = then()
	return out, err
}

// pages hands the candidate segments after the cursor to take, a page at
// a time, until take says it has enough (true) or there are no more. take
// also says how many records the query has (take(nil): before the first
// page); limit is how many it wants.
func (sf *segmentFilter) pages(ctx context.Context, q querier, after int64, limit int, take func([]storedSeg) (int, bool)) (bool, error) {
	start, _ := take(nil)
	read := 0
	for n := firstSegmentPage; ; {
		query, args := sf.page(after, n)
		segs, err := readSegments(ctx, q, query, args...)
		if err != nil {
			return false, err
		}
		taken, done := take(segs)
		if done {
			return true, nil
		}
		if len(segs) < n {
			return false, nil
		}
		next := segs[len(segs)-1].last
		if sf.f.Desc {
			next = segs[len(segs)-1].first
		}
		if next <= 0 || next == after {
			return false, nil // no progress: only a tampered table gets here
		}
		after, read = next, read+len(segs)
		n = nextPage(n, read, taken-start, limit-taken)
	}
}

// nextPage is how many segments the next page reads, after read segments
// gave taken records and left are still wanted: as many as the rate so far
// says the rest needs, and one more; without a rate yet, four times the
// last page. Reading a segment costs its whole body, so a page that reads
// more than needed costs as much as one more round trip.
func nextPage(last, read, taken, left int) int {
	if taken <= 0 {
		return min(4*last, maxSegmentPage)
	}
	need := (left*read+taken-1)/taken + 1
	return max(1, min(need, maxSegmentPage))
}

// readSegments reads the segments query selects with segmentColumns.
func readSegments(ctx context.Context, q querier, query string, args ...any) ([]storedSeg, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	return collect(rows, err, func(rows *sql.Rows) (storedSeg, error) { return readSegment(rows) })
}

// collect scans every row of rows (or returns err, the query's error).
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Query implements Store.
func (s *sqlStore) Query(ctx context.Context, f Filter) ([]Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultQueryLimit
	}
	recs, err := s.query(ctx, s.db, f, limit, 0)
	if err != nil {
		return nil, s.errorf("query", err)
	}
	return recs, nil
}

// Export implements Store. It pages through the records with Seq cursors
// and stops at the head the chain had when Export started, so a busy writer
// cannot keep it going.
func (s *sqlStore) Export(ctx context.Context, w io.Writer, f Filter) error {
	h, err := readHead(ctx, s.db)
	if err != nil {
		return s.errorf("export", err)
	}
	maxSeq := h.seq
	if maxSeq == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // data stays byte for byte what was hashed
	left := f.Limit
	for {
		page := exportPage
		if f.Limit > 0 {
			page = min(page, left)
		}
		recs, err := s.query(ctx, s.db, f, page, maxSeq)
		if err != nil {
			return s.errorf("export: query", err)
		}
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return s.errorf(fmt.Sprintf("export: write record %d", r.Seq), err)
			}
		}
		left -= len(recs)
		if len(recs) < page || (f.Limit > 0 && left <= 0) {
			break
		}
		f.AfterSeq = recs[len(recs)-1].Seq
	}
	if err := bw.Flush(); err != nil {
		return s.errorf("export: write", err)
	}
	return nil
}
