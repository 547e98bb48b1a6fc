package history

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// exportPage is how many records Export reads per query.
const exportPage = 1000

// where returns the WHERE clause (with ? placeholders, "" for none) and its
// arguments for f. maxSeq > 0 also keeps Seq <= maxSeq. The text filters
// are matched by their keys only, so that the clause is answered from an
// index alone; matchesText checks the text of the rows it selects.
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
			add(eq.col+"_key = ?", keyOf(eq.v))
		}
	}
	if len(f.Types) > 0 {
		keys := make([]any, len(f.Types))
		for i, t := range f.Types {
			keys[i] = keyOf(t)
		}
		add("type_key IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Types)), ", ")+")", keys...)
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

// matchesText reports whether r has the texts f asks for: a row whose keys
// match but whose text differs is a key collision.
func (f Filter) matchesText(r Record) bool {
	for _, eq := range []struct{ got, want string }{
		{r.Target, f.Target}, {r.Object, f.Object}, {r.Revision, f.Revision}, {r.Actor, f.Actor},
	} {
		if eq.want != "" && eq.got != eq.want {
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
// maxSeq > 0). Rows come by key (see where); the few whose text differs
// (key collisions) are dropped and the page is filled from after them.
func (s *sqlStore) query(ctx context.Context, f Filter, limit int, maxSeq int64) ([]Record, error) {
	var out []Record
	for {
		want := limit - len(out)
		page, err := s.queryKeys(ctx, f, want, maxSeq)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if f.matchesText(r) {
				out = append(out, r)
			}
		}
		if len(page) < want || len(out) >= limit {
			return out, nil
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

// queryKeys returns up to limit records whose keys match f.
func (s *sqlStore) queryKeys(ctx context.Context, f Filter, limit int, maxSeq int64) ([]Record, error) {
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
