package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Segments a query reads per statement: a few at first (a filter that
// names a target or an object finds its records in one or two), then more
// while the filter keeps missing.
const (
	firstSegmentPage = 2
	maxSegmentPage   = 64
)

// eqFilters are f's equality filters as (column, value), most selective
// first: the first one drives the search for segments.
func (f Filter) eqFilters() [][2]string {
	var out [][2]string
	for _, eq := range [][2]string{
		{colObject, f.Object}, {colRevision, f.Revision}, {colTarget, f.Target}, {colActor, f.Actor},
	} {
		if eq[1] != "" {
			out = append(out, eq)
		}
	}
	return out
}

// segmentFilter finds the candidate segments of a filter: those posted
// under every equality filter's key and under one of the types' keys,
// whose time range meets the filter's, in first_seq order after a cursor.
// One posting list drives (it is read in order and stops at the page
// size); the other keys are probed per segment. Segments after posted
// have no postings yet: tail checks their posting_keys instead. Records
// are then matched exactly (matcher), so a key collision costs a segment
// read, never a wrong record.
type segmentFilter struct {
	d      *dialect
	f      Filter
	maxSeq int64
	// posted is history_posted.through_seq when the query started.
	posted int64
	// eqKeys and typeKeys are the posting keys of the filter.
	eqKeys, typeKeys []int64
	// drivers are the posting lists read in order (several: one per type,
	// merged); none: the segments table is. probeEq and probeTypes are the
	// keys probed per segment.
	drivers, probeEq, probeTypes []int64
}

func newSegmentFilter(d *dialect, f Filter, maxSeq int64) *segmentFilter {
	sf := &segmentFilter{d: d, f: f, maxSeq: maxSeq}
	for _, eq := range f.eqFilters() {
		sf.eqKeys = append(sf.eqKeys, postingKey(eq[0], eq[1]))
	}
	for _, t := range f.Types {
		sf.typeKeys = append(sf.typeKeys, postingKey(colType, t))
	}
	switch {
	case len(sf.eqKeys) > 0:
		sf.drivers, sf.probeEq, sf.probeTypes = sf.eqKeys[:1], sf.eqKeys[1:], sf.typeKeys
	case len(sf.typeKeys) > 0:
		sf.drivers = sf.typeKeys
	}
	return sf
}

// conds collects the conditions of a statement and their arguments in
// the order of their placeholders.
type conds struct {
	list []string
	args []any
}

func (c *conds) add(cond string, args ...any) {
	c.list = append(c.list, cond)
	c.args = append(c.args, args...)
}

func (c *conds) where() string {
	if len(c.list) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.list, " AND ")
}

// placeholders is n comma-separated ?.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// order is the ORDER BY of col in the filter's direction.
func (sf *segmentFilter) order(col string) string {
	if sf.f.Desc {
		return " ORDER BY " + col + " DESC"
	}
	return " ORDER BY " + col
}

// bounds adds the conditions of the cursor and maxSeq on the first_seq
// column col; the one on the segment s itself goes to seg.
func (sf *segmentFilter) bounds(c, seg *conds, col string, after int64) {
	switch {
	case after > 0 && sf.f.Desc:
		c.add(col+" < ?", after)
	case after > 0:
		// The segment holding record after, and those after it.
		c.add(col+` >= (SELECT COALESCE(MAX(first_seq), 0) FROM `+tableSegments+` WHERE first_seq <= ?)`, after)
		seg.add("s.last_seq > ?", after)
	}
	if sf.maxSeq > 0 {
		c.add(col+" <= ?", sf.maxSeq)
	}
	if !sf.f.Since.IsZero() {
		// Segments before the first whose run_max_time_ns reaches Since
		// hold only older records: one step of its index bounds the range.
		c.add(col+` >= COALESCE((SELECT first_seq FROM `+tableSegments+` WHERE run_max_time_ns >= ? ORDER BY run_max_time_ns, first_seq LIMIT 1), ?)`,
			clampNanos(sf.f.Since), int64(math.MaxInt64))
	}
}

// timeConds adds the conditions on the time range of the segment s.
func (sf *segmentFilter) timeConds(seg *conds) {
	if !sf.f.Since.IsZero() {
		seg.add("s.max_time_ns >= ?", clampNanos(sf.f.Since))
	}
	if !sf.f.Until.IsZero() {
		seg.add("s.min_time_ns < ?", clampNanos(sf.f.Until))
	}
}

// page returns the statement reading up to n candidate segments (among the
// posted ones when there are drivers) after the cursor (Seq > after
// ascending, Seq < after descending; 0: none) and its arguments.
func (sf *segmentFilter) page(after int64, n int) (string, []any) {
	var (
		streams []string
		args    []any
	)
	if len(sf.drivers) == 0 {
		q, a := sf.segmentStream(after, n)
		streams, args = append(streams, q), append(args, a...)
	}
	for i, k := range sf.drivers {
		q, a := sf.postingStream(k, after, n)
		if len(sf.drivers) > 1 {
			q = fmt.Sprintf("SELECT first_seq FROM (%s) AS c%d", q, i)
		}
		streams, args = append(streams, q), append(args, a...)
	}
	q := `SELECT ` + segmentColumns + ` FROM ` + tableSegments + ` WHERE first_seq IN (` +
		strings.Join(streams, " UNION ALL ") + `)` + sf.order("first_seq") + ` LIMIT ?`
	return sf.d.rebind(q), append(args, n)
}

// segmentStream selects the first n candidate segments' first_seq in
// order from the segments table (a filter without keys).
func (sf *segmentFilter) segmentStream(after int64, n int) (string, []any) {
	var c conds
	sf.bounds(&c, &c, "s.first_seq", after)
	sf.timeConds(&c)
	q := `SELECT s.first_seq FROM ` + tableSegments + ` s` + c.where() + sf.order("s.first_seq") + ` LIMIT ?`
	return q, append(c.args, n)
}

// postingStream selects the first n candidate segments' first_seq in
// order from the posting list of key, bounded by the cursor, maxSeq and
// posted, so that the index range read in order is itself bounded. The
// segment's own conditions are one correlated subquery per posting: a
// join would let the planner read the segments in order instead, through
// every segment before the time range (their times grow with first_seq,
// which no planner knows).
func (sf *segmentFilter) postingStream(key int64, after int64, n int) (string, []any) {
	var c, seg conds
	c.add("p.key = ?", key)
	sf.bounds(&c, &seg, "p.first_seq", after)
	c.add("p.first_seq <= ?", sf.posted)
	sf.timeConds(&seg)
	if len(seg.list) > 0 {
		c.add(`(SELECT `+strings.Join(seg.list, " AND ")+` FROM `+tableSegments+` s WHERE s.first_seq = p.first_seq)`, seg.args...)
	}
	for _, k := range sf.probeEq {
		c.add(`EXISTS (SELECT 1 FROM `+tablePostings+` e WHERE e.key = ? AND e.first_seq = p.first_seq)`, k)
	}
	if len(sf.probeTypes) > 0 {
		args := make([]any, len(sf.probeTypes))
		for i, k := range sf.probeTypes {
			args[i] = k
		}
		c.add(`EXISTS (SELECT 1 FROM `+tablePostings+` e WHERE e.key IN (`+placeholders(len(args))+`) AND e.first_seq = p.first_seq)`, args...)
	}
	q := `SELECT p.first_seq FROM ` + tablePostings + ` p` + c.where() + sf.order("p.first_seq") + ` LIMIT ?`
	return q, append(c.args, n)
}

// tail returns the candidate segments after posted, in order: those whose
// posting_keys hold the filter's keys.
func (sf *segmentFilter) tail(ctx context.Context, q querier, after int64) ([]storedSeg, error) {
	var c conds
	c.add("s.first_seq > ?", sf.posted)
	sf.bounds(&c, &c, "s.first_seq", after)
	sf.timeConds(&c)
	query, args := `SELECT s.first_seq, s.posting_keys FROM `+tableSegments+` s`+c.where(), c.args
	rows, err := q.QueryContext(ctx, sf.d.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	var (
		found []any
		first int64
		keys  string
	)
	for rows.Next() {
		if err := rows.Scan(&first, &keys); err != nil {
			rows.Close()
			return nil, err
		}
		if sf.holds(keys) {
			found = append(found, first)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil || len(found) == 0 {
		return nil, err
	}
	query = `SELECT ` + segmentColumns + ` FROM ` + tableSegments + ` WHERE first_seq IN (` + placeholders(len(found)) + `)` + sf.order("first_seq")
	return readSegments(ctx, q, sf.d.rebind(query), found...)
}

// holds reports whether a posting_keys column has every equality key and
// one of the type keys. A column that does not parse holds everything:
// the records are matched exactly anyway.
func (sf *segmentFilter) holds(column string) bool {
	keys, ok := parseKeys(column)
	if !ok {
		return true
	}
	has := func(k int64) bool { _, found := slices.BinarySearch(keys, k); return found }
	for _, k := range sf.eqKeys {
		if !has(k) {
			return false
		}
	}
	return len(sf.typeKeys) == 0 || slices.ContainsFunc(sf.typeKeys, has)
}
