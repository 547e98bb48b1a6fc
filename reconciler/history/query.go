package history

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// exportPage is how many records Export reads per query.
const exportPage = 1000

// where returns the WHERE clause (with ? placeholders, "" for none) and its
// arguments for f. maxSeq > 0 also keeps Seq <= maxSeq.
func (f Filter) where(maxSeq int64) (string, []any) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, arg ...any) {
		conds = append(conds, cond)
		args = append(args, arg...)
	}
	for _, eq := range []struct{ col, v string }{
		{"target", f.Target}, {"object", f.Object}, {"revision", f.Revision}, {"actor", f.Actor},
	} {
		if eq.v != "" {
			add(eq.col+" = ?", eq.v)
		}
	}
	if len(f.Types) > 0 {
		types := make([]any, len(f.Types))
		for i, t := range f.Types {
			types[i] = t
		}
		add("type IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Types)), ", ")+")", types...)
	}
	if !f.Since.IsZero() {
		add("time_ns >= ?", clampNanos(f.Since))
	}
	if !f.Until.IsZero() {
		add("time_ns < ?", clampNanos(f.Until))
	}
	if f.AfterSeq > 0 {
		if f.Desc {
			add("seq < ?", f.AfterSeq)
		} else {
			add("seq > ?", f.AfterSeq)
		}
	}
	if maxSeq > 0 {
		add("seq <= ?", maxSeq)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
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
// maxSeq > 0).
func (s *sqlStore) query(ctx context.Context, f Filter, limit int, maxSeq int64) ([]Record, error) {
	where, args := f.where(maxSeq)
	order := " ORDER BY seq"
	if f.Desc {
		order += " DESC"
	}
	// The page's sequence numbers come from the indexes alone (each index
	// ends in seq), and only then are its rows read: a filter matching
	// thousands of rows costs an index range, not thousands of row reads.
	q := s.d.rebind(`SELECT ` + columns + ` FROM ` + tableRecords + ` WHERE seq IN (SELECT seq FROM ` + tableRecords +
		where + order + ` LIMIT ?)` + order)
	rows, err := s.db.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Query implements Store.
func (s *sqlStore) Query(ctx context.Context, f Filter) ([]Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultQueryLimit
	}
	recs, err := s.query(ctx, f, limit, 0)
	if err != nil {
		return nil, s.errorf("query", err)
	}
	return recs, nil
}

// Export implements Store. It pages through the records with Seq cursors
// and stops at the head the chain had when Export started, so a busy writer
// cannot keep it going.
func (s *sqlStore) Export(ctx context.Context, w io.Writer, f Filter) error {
	var maxSeq int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM `+tableRecords).Scan(&maxSeq); err != nil {
		return s.errorf("export: read head", err)
	}
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
		recs, err := s.query(ctx, f, page, maxSeq)
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
