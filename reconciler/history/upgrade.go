package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// recordColumns are the columns of a version-1 history_records row in the
// order scanRecord reads them.
const recordColumns = `seq, time_ns, type, target, object, revision, actor, outcome, message, data, prev_hash, hash`

// Limits of the segments migration 2 groups version-1 records into: runs
// of consecutive records of one target, as one reconcile appends them.
const (
	upgradePage       = 5000
	upgradeMaxRecords = 1000
	upgradeMaxSpan    = time.Minute
)

// moveRecordsToSegments is migration 2's step. It tunes the storage of
// segments (dialect.tuneSegments), then moves the version-1 rows into
// segments (see mover) and drops history_records.
func moveRecordsToSegments(ctx context.Context, tx *sql.Tx, d *dialect) error {
	return moveRecordPages(ctx, tx, d, upgradePage)
}

// moveRecordPages is moveRecordsToSegments reading page rows at a time.
func moveRecordPages(ctx context.Context, tx *sql.Tx, d *dialect, page int) error {
	if d.tuneSegments != nil {
		if err := d.tuneSegments(ctx, tx); err != nil {
			return err
		}
	}
	m := &mover{tx: tx, d: d, page: page}
	if err := m.move(ctx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE `+tableRecords); err != nil {
		return fmt.Errorf("drop %s after moving %d records: %w", tableRecords, m.moved, err)
	}
	return nil
}

// mover reads history_records in Seq order, page rows at a time, groups
// the rows into segments (a run of consecutive sequence numbers of one
// target, at most upgradeMaxRecords spanning at most upgradeMaxSpan),
// writes each with the hash its row stored (a row that was tampered with
// keeps its stored hash, so Verify still finds it) and posts the segments
// of each page, which bounds the sort of one posting statement.
type mover struct {
	tx    *sql.Tx
	d     *dialect
	page  int
	run   []Record
	moved int
	// posted and written are the first_seq of the last posted and of the
	// last written segment; runMax the latter's run_max_time_ns.
	posted, written, runMax int64
}

func (m *mover) move(ctx context.Context) error {
	q := m.d.rebind(`SELECT ` + recordColumns + ` FROM ` + tableRecords + ` WHERE seq > ? ORDER BY seq LIMIT ?`)
	for after := int64(math.MinInt64); ; {
		page, err := readRecordRows(ctx, m.tx, q, after, m.page)
		if err != nil {
			return fmt.Errorf("read %s after %d: %w", tableRecords, after, err)
		}
		for _, r := range page {
			if len(m.run) > 0 && !sameRun(m.run, r) {
				if err := m.flush(ctx); err != nil {
					return err
				}
			}
			m.run = append(m.run, r)
		}
		if len(page) < m.page {
			break
		}
		if err := m.post(ctx); err != nil {
			return err
		}
		after = page[len(page)-1].Seq
	}
	if err := m.flush(ctx); err != nil {
		return err
	}
	return m.post(ctx)
}

// flush writes the run as a segment.
func (m *mover) flush(ctx context.Context) error {
	if len(m.run) == 0 {
		return nil
	}
	seg := storedSegment(m.run)
	if m.moved > 0 {
		seg.runMax = max(seg.runMax, m.runMax)
	}
	if err := writeSegment(ctx, m.tx, m.d, nil, seg); err != nil {
		return err
	}
	m.runMax = seg.runMax
	m.moved, m.written = m.moved+len(m.run), m.run[0].Seq
	m.run = m.run[:0]
	return nil
}

// post posts the segments written since the last post.
func (m *mover) post(ctx context.Context) error {
	if m.written == m.posted {
		return nil
	}
	if err := postTail(ctx, m.tx, m.d, m.posted); err != nil {
		return err
	}
	m.posted = m.written
	return nil
}

// sameRun reports whether r continues the segment run.
func sameRun(run []Record, r Record) bool {
	first, last := run[0], run[len(run)-1]
	span := r.Time.Sub(first.Time)
	return r.Seq == last.Seq+1 && r.Target == first.Target && len(run) < upgradeMaxRecords &&
		span >= -upgradeMaxSpan && span <= upgradeMaxSpan
}

// readRecordRows reads one page of version-1 rows.
func readRecordRows(ctx context.Context, tx *sql.Tx, q string, after int64, page int) ([]Record, error) {
	rows, err := tx.QueryContext(ctx, q, after, page)
	return collect(rows, err, scanRecord)
}

// scanRecord reads one version-1 row selected with recordColumns.
func scanRecord(rows *sql.Rows) (Record, error) {
	var (
		r      Record
		timeNS int64
		data   sql.NullString
	)
	err := rows.Scan(&r.Seq, &timeNS, &r.Type, &r.Target, &r.Object, &r.Revision,
		&r.Actor, &r.Outcome, &r.Message, &data, &r.PrevHash, &r.Hash)
	if err != nil {
		return Record{}, err
	}
	r.Time = time.Unix(0, timeNS).UTC()
	if data.Valid && data.String != "" {
		r.Data = json.RawMessage(data.String)
	}
	return r, nil
}
