package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// checkpointData is the Data of a checkpoint record: the retention run that
// removed records 1..ThroughSeq (or the ones after an older checkpoint), and
// the hash of record ThroughSeq, which the first remaining record's PrevHash
// must equal.
type checkpointData struct {
	Before      string `json:"before"`
	Removed     int64  `json:"removed"`
	ThroughSeq  int64  `json:"through_seq"`
	ThroughHash string `json:"through_hash"`
}

// Retain implements Store. The chain has no holes and a segment goes
// whole, so it removes the longest prefix of segments whose records are
// all older than before; a segment with an older record after a newer one
// stays until the newer one goes. The checkpoint is appended in the same
// transaction, as a segment of its own.
func (s *sqlStore) Retain(ctx context.Context, before time.Time) (int64, error) {
	var removed int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, h head) error {
		keep, err := s.firstKept(ctx, tx, clampNanos(before), h)
		if err != nil {
			return err
		}
		var through head
		q := s.d.rebind(`SELECT last_seq, head_hash FROM ` + tableSegments + ` WHERE first_seq < ? ORDER BY first_seq DESC LIMIT 1`)
		err = tx.QueryRowContext(ctx, q, keep).Scan(&through.seq, &through.hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing before keep
		}
		if err != nil {
			return fmt.Errorf("read the last segment before %d: %w", keep, err)
		}
		if removed, err = s.removeSegments(ctx, tx, keep); err != nil {
			return err
		}
		cp, err := checkpoint(s.now(), before, removed, through.seq, through.hash)
		if err != nil {
			return err
		}
		return s.appendSegment(ctx, tx, h, linkSegment([]Record{cp}, h.seq, h.hash))
	})
	if err != nil {
		return 0, s.errorf(fmt.Sprintf("retain before %s", formatTime(before)), err)
	}
	if removed > 0 {
		s.maintain(ctx)
	}
	return removed, nil
}

// firstKept returns the first_seq of the first segment with a record at
// or after beforeNS, or the head's Seq + 1 when there is none.
func (s *sqlStore) firstKept(ctx context.Context, tx *sql.Tx, beforeNS int64, h head) (int64, error) {
	keep := h.seq + 1
	// The first segment whose run_max_time_ns reaches beforeNS is the first
	// with a record that new: one step of its index.
	q := s.d.rebind(`SELECT first_seq FROM ` + tableSegments + ` WHERE run_max_time_ns >= ? ORDER BY run_max_time_ns, first_seq LIMIT 1`)
	err := tx.QueryRowContext(ctx, q, beforeNS).Scan(&keep)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find the first segment to keep: %w", err)
	}
	return keep, nil
}

// removeSegments deletes the segments before keep and their postings
// (found through posting_keys), and returns how many records they held.
func (s *sqlStore) removeSegments(ctx context.Context, tx *sql.Tx, keep int64) (int64, error) {
	var removed int64
	q := s.d.rebind(`SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM ` + tableSegments + ` WHERE first_seq < ?`)
	if err := tx.QueryRowContext(ctx, q, keep).Scan(&removed); err != nil {
		return 0, fmt.Errorf("count the records before %d: %w", keep, err)
	}
	del := `DELETE FROM ` + tablePostings + ` WHERE (key, first_seq) IN (` + s.d.segmentPostings("s.first_seq < ?") + `)`
	if _, err := tx.ExecContext(ctx, s.d.rebind(del), keep); err != nil {
		return 0, fmt.Errorf("delete the postings before %d: %w", keep, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM `+tableSegments+` WHERE first_seq < ?`), keep); err != nil {
		return 0, fmt.Errorf("delete the segments before %d: %w", keep, err)
	}
	return removed, nil
}

// checkpoint builds the checkpoint record of a retention run.
func checkpoint(now, before time.Time, removed, through int64, hash string) (Record, error) {
	data, err := json.Marshal(checkpointData{
		Before: formatTime(before), Removed: removed, ThroughSeq: through, ThroughHash: hash,
	})
	if err != nil {
		return Record{}, fmt.Errorf("encode checkpoint: %w", err)
	}
	return normalize(Record{
		Time:    now,
		Type:    TypeCheckpoint,
		Actor:   "trueup",
		Outcome: "succeeded",
		Message: fmt.Sprintf("retention removed %d records older than %s, through record %d", removed, formatTime(before), through),
		Data:    data,
	}, now)
}
