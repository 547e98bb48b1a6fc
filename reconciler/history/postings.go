package history

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Filterable columns, in the posting key (see postingKey).
const (
	colTarget   = "target"
	colObject   = "object"
	colRevision = "revision"
	colType     = "type"
	colActor    = "actor"
)

// postingKey is the key under which a segment holding a record whose
// column has value is posted: keyOf(column + "\x00" + value), computed
// without building that string.
func postingKey(column, value string) int64 {
	return int64(fnv(fnv(fnv(fnvOffset, column), "\x00"), value))
}

// postingKeys are the distinct posting keys of recs' non-empty filterable
// values, sorted.
func postingKeys(recs []Record) []int64 {
	keys := make([]int64, 0, 8+len(recs))
	var prev Record
	for i, r := range recs {
		for _, c := range [5]struct{ col, v, prev string }{
			{colTarget, r.Target, prev.Target}, {colObject, r.Object, prev.Object},
			{colRevision, r.Revision, prev.Revision}, {colType, r.Type, prev.Type},
			{colActor, r.Actor, prev.Actor},
		} {
			if c.v != "" && (i == 0 || c.v != c.prev) {
				keys = append(keys, postingKey(c.col, c.v))
			}
		}
		prev = r
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// formatKeys is keys as the posting_keys column stores them: a JSON array.
func formatKeys(keys []int64) string {
	b := make([]byte, 0, 2+21*len(keys))
	b = append(b, '[')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, k, 10)
	}
	return string(append(b, ']'))
}

// parseKeys reads a posting_keys column; false when it is not one.
func parseKeys(s string) ([]int64, bool) {
	inner, open := strings.CutPrefix(s, "[")
	inner, closed := strings.CutSuffix(inner, "]")
	if !open || !closed {
		return nil, false
	}
	if inner == "" {
		return nil, true
	}
	var keys []int64
	for f := range strings.SplitSeq(inner, ",") {
		k, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, false
		}
		keys = append(keys, k)
	}
	return keys, true
}

// Postings are written for several segments at once: an Append stores its
// segment's keys in the posting_keys column, and when the segments after
// history_posted.through_seq (the unposted tail) reach one of these
// limits, it posts them all, sorted, so that a key's new postings share
// a leaf page instead of each segment dirtying a page per key. Queries
// read the tail through posting_keys.
const (
	postLagSegments = 32
	postLagRecords  = 4096
)

// postingDue reports whether the tail, with seg appended after h, has
// reached a limit (records counted from the last posted segment's start).
func postingDue(h head, seg segment) bool {
	return h.unposted+1 >= postLagSegments || seg.last-h.posted >= postLagRecords
}

// postTail inserts the postings of the segments after through and moves
// history_posted past them. Postings already there are kept, and the row
// of history_posted is written whole, so that a damaged table heals
// instead of failing every append.
func postTail(ctx context.Context, tx *sql.Tx, d *dialect, through int64) error {
	insert := `INSERT INTO ` + tablePostings + ` (key, first_seq) ` + d.segmentPostings("s.first_seq > ?") +
		` ORDER BY 1, 2 ON CONFLICT DO NOTHING`
	if _, err := tx.ExecContext(ctx, d.rebind(insert), through); err != nil {
		return fmt.Errorf("post the segments after %d: %w", through, err)
	}
	for _, stmt := range []string{`DELETE FROM ` + tablePosted,
		`INSERT INTO ` + tablePosted + ` (through_seq) SELECT COALESCE(MAX(first_seq), 0) FROM ` + tableSegments} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("move %s: %w", tablePosted, err)
		}
	}
	return nil
}

// readPosted returns history_posted.through_seq: segments up to it are
// posted.
func readPosted(ctx context.Context, q querier) (int64, error) {
	var through int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(through_seq), 0) FROM `+tablePosted).Scan(&through)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", tablePosted, err)
	}
	return through, nil
}
