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

// Retain implements Store. The chain has no holes, so it removes the
// longest prefix of the chain whose records are all older than before; a
// record older than before that follows a newer one stays until the newer
// one goes. The checkpoint is appended in the same transaction.
func (s *sqlStore) Retain(ctx context.Context, before time.Time) (int64, error) {
	var removed int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, h head) error {
		through, hash, err := s.retentionBoundary(ctx, tx, before, h)
		if err != nil || through == 0 {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM `+tableRecords+` WHERE seq <= ?`), through)
		if err != nil {
			return fmt.Errorf("delete records through %d: %w", through, err)
		}
		if removed, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("count removed records: %w", err)
		}
		cp, err := checkpoint(s.now(), before, removed, through, hash)
		if err != nil {
			return err
		}
		recs := []Record{cp}
		link(recs, h.seq, h.hash)
		return s.insert(ctx, tx, recs)
	})
	if err != nil {
		return 0, s.errorf(fmt.Sprintf("retain before %s", formatTime(before)), err)
	}
	if removed > 0 {
		s.maintain(ctx)
	}
	return removed, nil
}

// retentionBoundary returns the last record to remove and its hash, or 0
// when nothing is to be removed.
func (s *sqlStore) retentionBoundary(ctx context.Context, tx *sql.Tx, before time.Time, h head) (int64, string, error) {
	keep := h.seq + 1 // every record is older than before
	q := s.d.rebind(`SELECT seq FROM ` + tableRecords + ` WHERE time_ns >= ? ORDER BY seq LIMIT 1`)
	err := tx.QueryRowContext(ctx, q, clampNanos(before)).Scan(&keep)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("find first record to keep: %w", err)
	}
	through := keep - 1
	var hash string
	err = tx.QueryRowContext(ctx, s.d.rebind(`SELECT hash FROM `+tableRecords+` WHERE seq = ?`), through).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil // already removed, or nothing before keep
	}
	if err != nil {
		return 0, "", fmt.Errorf("read record %d: %w", through, err)
	}
	return through, hash, nil
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
