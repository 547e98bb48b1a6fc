package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
// first (the anchor), then every record in Seq order as a stream.
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
	res, err := walk(ctx, tx, a)
	if err != nil {
		return VerifyResult{}, s.errorf("verify", err)
	}
	return res, nil
}

// readAnchor finds the newest checkpoint and checks its own hash before
// trusting the anchor it carries. A checkpoint that does not check is a
// broken result.
func (s *sqlStore) readAnchor(ctx context.Context, tx *sql.Tx) (anchor, *VerifyResult, error) {
	q := s.d.rebind(`SELECT ` + columns + ` FROM ` + tableRecords + ` WHERE type = ? ORDER BY seq DESC LIMIT 1`)
	cp, err := scanRecord(tx.QueryRowContext(ctx, q, TypeCheckpoint))
	if errors.Is(err, sql.ErrNoRows) {
		return anchor{}, nil, nil
	}
	if err != nil {
		return anchor{}, nil, err
	}
	if HashRecord(cp) != cp.Hash {
		return anchor{}, brokenAt(cp.Seq, 0, "checkpoint record %d: hash does not match its content", cp.Seq), nil
	}
	var d checkpointData
	if err := json.Unmarshal(cp.Data, &d); err != nil || d.ThroughSeq <= 0 || d.ThroughSeq >= cp.Seq {
		return anchor{}, brokenAt(cp.Seq, 0, "checkpoint record %d: data names no valid retention boundary", cp.Seq), nil
	}
	return anchor{seq: d.ThroughSeq, hash: d.ThroughHash, checkpoint: cp.Seq}, nil, nil
}

// walk streams the records in Seq order and checks each: no gap after the
// anchor, PrevHash equal to the previous Hash, Hash equal to the hash of
// the content.
func walk(ctx context.Context, tx *sql.Tx, a anchor) (VerifyResult, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+columns+` FROM `+tableRecords+` ORDER BY seq`)
	if err != nil {
		return VerifyResult{}, err
	}
	defer rows.Close()
	var (
		n      int64
		expect = a.seq + 1
		prev   = a.hash
	)
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return VerifyResult{}, fmt.Errorf("read record after %d: %w", expect-1, err)
		}
		if reason := check(r, expect, prev, a); reason != "" {
			first := r.Seq
			if r.Seq > expect {
				first = expect // the missing one
			}
			res := brokenAt(first, n, "%s", reason)
			res.HeadSeq, res.HeadHash = expect-1, prev
			return *res, nil
		}
		n++
		expect, prev = r.Seq+1, r.Hash
	}
	if err := rows.Err(); err != nil {
		return VerifyResult{}, fmt.Errorf("read records: %w", err)
	}
	return VerifyResult{OK: true, Records: n, HeadSeq: expect - 1, HeadHash: prev}, nil
}

// check returns why r does not continue the chain at expect after prev, or
// "". It does not judge the type: a newer trueup may know more types, and
// the hash covers it.
func check(r Record, expect int64, prev string, a anchor) string {
	switch {
	case r.Seq < expect && a.checkpoint > 0:
		return fmt.Sprintf("record %d is stored although checkpoint %d removed the records through %d", r.Seq, a.checkpoint, a.seq)
	case r.Seq < expect:
		return fmt.Sprintf("record %d: sequence numbers start at 1", r.Seq)
	case r.Seq > expect:
		return fmt.Sprintf("record %d is missing (the next stored record is %d)", expect, r.Seq)
	case r.PrevHash != prev && expect == a.seq+1 && a.checkpoint > 0:
		return fmt.Sprintf("record %d: prev_hash does not match the hash of record %d kept by checkpoint %d", r.Seq, a.seq, a.checkpoint)
	case r.PrevHash != prev:
		return fmt.Sprintf("record %d: prev_hash does not match the hash of record %d", r.Seq, r.Seq-1)
	case HashRecord(r) != r.Hash:
		return fmt.Sprintf("record %d: hash does not match its content", r.Seq)
	}
	return ""
}

// brokenAt is a failed VerifyResult.
func brokenAt(seq, checked int64, format string, args ...any) *VerifyResult {
	return &VerifyResult{FirstBroken: seq, Records: checked, Reason: fmt.Sprintf(format, args...)}
}
