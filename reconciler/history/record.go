package history

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// Record types. Append accepts every type but Checkpoint, which only Retain
// writes (it anchors the chain after old records were removed).
const (
	TypeReconcile     = "reconcile"
	TypeApply         = "apply"
	TypePrune         = "prune"
	TypeHeal          = "heal"
	TypeDriftOpened   = "drift-opened"
	TypeDriftUpdated  = "drift-updated"
	TypeDriftResolved = "drift-resolved"
	TypePruneBlocked  = "prune-blocked"
	TypePullRequest   = "pull-request"
	TypeNotification  = "notification"
	TypeManual        = "manual"
	TypeCheckpoint    = "checkpoint"
	// Compliance: a policy finding on live (or about-to-be-applied) state
	// opened, was resolved, or is exempt by a PolicyException.
	TypeComplianceViolation = "compliance-violation"
	TypeComplianceResolved  = "compliance-resolved"
	TypeComplianceExempt    = "compliance-exempt"
	// Freeze windows: a new revision first held by a window, and an
	// operator letting a held revision through (actor and reason).
	TypeFreezeHeld     = "freeze-held"
	TypeFreezeOverride = "freeze-override"
	// Operators' actions: a target suspended or resumed at run time, a
	// drift episode accepted for a while (its Data is the closed episode
	// and until when).
	TypeSuspend       = "suspend"
	TypeResume        = "resume"
	TypeDriftAccepted = "drift-accepted"
)

// knownTypes are the types a stored record may have.
var knownTypes = map[string]bool{
	TypeReconcile: true, TypeApply: true, TypePrune: true, TypeHeal: true,
	TypeDriftOpened: true, TypeDriftUpdated: true, TypeDriftResolved: true,
	TypePruneBlocked: true, TypePullRequest: true, TypeNotification: true,
	TypeManual: true, TypeCheckpoint: true,
	TypeComplianceViolation: true, TypeComplianceResolved: true, TypeComplianceExempt: true,
	TypeFreezeHeld: true, TypeFreezeOverride: true,
	TypeSuspend: true, TypeResume: true, TypeDriftAccepted: true,
}

// Record is one entry of the history. Append assigns Seq, PrevHash and Hash
// (and Time when it is zero); the caller fills in the rest.
type Record struct {
	// Seq numbers the chain from 1, without gaps.
	Seq int64 `json:"seq"`
	// Time is when the event happened, stored in UTC with nanoseconds.
	Time time.Time `json:"time"`
	// Type is one of the Type* constants.
	Type string `json:"type"`
	// Target is the reconciled target's name ("" for daemon-wide records).
	Target string `json:"target"`
	// Object is "Kind.group/namespace/name" (drift.ObjectRef.String) or "".
	Object string `json:"object"`
	// Revision is the Git revision (commit) the record is about.
	Revision string `json:"revision"`
	// Actor is who caused it: a commit author, a field manager, a user.
	Actor string `json:"actor"`
	// Outcome is a short result word: succeeded, failed, blocked, ...
	Outcome string `json:"outcome"`
	// Message is a human sentence.
	Message string `json:"message"`
	// Data holds the details as a JSON value (masked diff, commit author,
	// committer, message and signature, trigger, duration, counts, ...).
	// Append stores it compacted; nil and JSON null are the same.
	Data json.RawMessage `json:"data"`
	// PrevHash is the previous record's Hash ("" before the first record).
	PrevHash string `json:"prev_hash"`
	// Hash is the hex SHA-256 of the record's canonical encoding.
	Hash string `json:"hash"`
}

// Filter selects records for Query and Export. Zero fields do not filter.
type Filter struct {
	Target   string
	Object   string
	Revision string
	Actor    string
	// Types keeps records of any of these types.
	Types []string
	// Since keeps records with Time >= Since; Until keeps Time < Until.
	Since, Until time.Time
	// Limit caps the result. For Query, 0 means DefaultQueryLimit; for
	// Export, 0 means everything.
	Limit int
	// AfterSeq is the paging cursor: the Seq of the last record of the
	// previous page. Ascending pages return Seq > AfterSeq, descending
	// pages (Desc) Seq < AfterSeq. 0 starts at the beginning (or the end).
	AfterSeq int64
	// Desc returns the newest records first.
	Desc bool
}

// DefaultQueryLimit is how many records Query returns when Filter.Limit is 0.
const DefaultQueryLimit = 1000

// VerifyResult is what Verify found. When OK is false, FirstBroken is the
// sequence number of the first record that is missing or does not check, and
// Reason says why.
type VerifyResult struct {
	OK bool
	// Records counts the records that checked, in chain order, before the
	// first broken one (all of them when OK).
	Records int64
	// FirstBroken is the Seq of the first broken record, 0 when OK.
	FirstBroken int64
	Reason      string
	// HeadSeq and HeadHash name the last record checked: publishing them
	// elsewhere (a Git tag, a ticket) lets an auditor detect a rewrite of the
	// whole chain or a removal of its tail, which no chain can detect by itself.
	HeadSeq  int64
	HeadHash string
}

// Store is the audit history. Implementations are safe for concurrent use,
// also by several processes sharing one database.
type Store interface {
	// Append stores recs as one batch in one transaction and returns them
	// with Seq, Time, PrevHash and Hash assigned. Either all are stored or
	// none, but for the drift-updated and drift-resolved records of an
	// episode the chain already resolved, which are dropped (an episode
	// closes once, whichever process closes it first) and left out of
	// the result.
	Append(ctx context.Context, recs ...Record) ([]Record, error)
	// Get returns the record with sequence number seq, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, seq int64) (Record, error)
	// Query returns the records that match f, in Seq order.
	Query(ctx context.Context, f Filter) ([]Record, error)
	// Verify walks the whole chain in Seq order, recomputing every hash.
	// A broken chain is a result, not an error; the error is for failing to
	// read.
	Verify(ctx context.Context) (VerifyResult, error)
	// Export writes the records that match f as JSON lines, one Record each.
	Export(ctx context.Context, w io.Writer, f Filter) error
	// Retain removes the oldest records, those before the first record at
	// or after before, and appends a checkpoint record that anchors the rest.
	Retain(ctx context.Context, before time.Time) (removed int64, err error)
	Close() error
}

// Errors to branch on with errors.Is.
var (
	// ErrNotFound: no record has the requested sequence number.
	ErrNotFound = errors.New("record not found")
	// ErrInvalidRecord: Append refused a record (unknown type, data that is
	// not JSON, text that is not UTF-8, a time out of range).
	ErrInvalidRecord = errors.New("invalid record")
	// ErrSchemaTooNew: the database was migrated by a newer trueup.
	ErrSchemaTooNew = errors.New("history schema is newer than this trueup")
)
