package reconciler

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// The apply journal is a write-ahead log of one apply's object changes, in
// dataDir/journal/<attempt>.jsonl, so that a crash (SIGKILL, OOM, power)
// between the cluster accepting a change and the history recording it
// loses no record:
//
//   - before the apply: a begin line, the reconcile's record as it reads
//     if the reconcile never finishes;
//   - before the changes of a stage are sent: their intents (what the
//     dry-run planned, on which live version) with the objects' records,
//     in one write and one sync (a prune deletion: one intent before it);
//   - after the cluster accepted it: the object's record.
//
// The begin and intent lines are synced before the apply goes on. The reconcile's batch
// names the journal's attempt in its reconcile record; once the batch is
// durable (in the history, or spilled) the journal is removed. The process
// holds an exclusive flock on its journals, so a journal that can be
// locked belongs to a process that died: the next reconcile of its target
// resolves it first. Intents without an accepted line are judged on the
// live objects (kube.Cluster.Accepted), before anything is applied again,
// and the verdicts written to the journal; then, unless the history (or
// the spool) holds the attempt already, the begin record and a record per
// accepted change are appended, and the journal removed.
const journalFolder = "journal"

// errInterrupted is the error of a reconcile that a crash interrupted.
var errInterrupted = errors.New("interrupted: trueup stopped during the apply; the changes the cluster accepted were recorded after the restart")

// journalLine is one line of a journal.
type journalLine struct {
	Begin    *history.Record `json:"begin,omitempty"`
	Intent   *kube.Intent    `json:"intent,omitempty"`
	Applied  bool            `json:"applied,omitempty"`
	Record   *history.Record `json:"record,omitempty"`
	Accepted *bool           `json:"accepted,omitempty"`
}

// applyJournal is an open journal; it implements kube.Journal.
type applyJournal struct {
	attempt string
	path    string
	f       *os.File
	// record builds an object's record.
	record func(kube.Entry) history.Record
}

var _ kube.BatchJournal = (*applyJournal)(nil)

// newAttempt returns a fresh attempt id.
func newAttempt() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openJournal creates the journal of an apply and writes its begin line.
func openJournal(dir, attempt string, begin history.Record, record func(kube.Entry) history.Record) (*applyJournal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, journalErr(dir, err)
	}
	path := filepath.Join(dir, attempt+".jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, journalErr(dir, err)
	}
	j := &applyJournal{attempt: attempt, path: path, f: f, record: record}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		j.remove()
		return nil, journalErr(dir, fmt.Errorf("lock %s: %w", path, err))
	}
	if err := errors.Join(j.write(journalLine{Begin: &begin}), syncDir(dir)); err != nil {
		j.remove()
		return nil, journalErr(dir, err)
	}
	return j, nil
}

func journalErr(dir string, err error) error {
	return fmt.Errorf("apply journal %s: %w (nothing was applied; check that dataDir is writable)", dir, err)
}

// Applying implements kube.Journal.
func (j *applyJournal) Applying(in kube.Intent) error {
	rec := j.record(kube.Entry{Ref: in.Ref, Action: in.Action})
	return j.write(journalLine{Intent: &in, Record: &rec})
}

// ApplyingAll implements kube.BatchJournal: the intents of a stage in one
// write and one sync.
func (j *applyJournal) ApplyingAll(ins []kube.Intent) error {
	var buf []byte
	for _, in := range ins {
		rec := j.record(kube.Entry{Ref: in.Ref, Action: in.Action})
		b, err := j.line(journalLine{Intent: &in, Record: &rec})
		if err != nil {
			return err
		}
		buf = append(buf, b...)
	}
	return j.writeSynced(buf)
}

// Applied implements kube.Journal. The line is not synced: a line lost
// (with the machine, a SIGKILL loses nothing written) or a failed write
// leaves the intent, which a resolution judges on the live object.
func (j *applyJournal) Applied(e kube.Entry) {
	rec := j.record(e)
	_ = j.append(journalLine{Intent: &kube.Intent{Ref: e.Ref, Action: e.Action}, Applied: true, Record: &rec})
}

// write appends one line and syncs it.
func (j *applyJournal) write(l journalLine) error {
	b, err := j.line(l)
	if err != nil {
		return err
	}
	return j.writeSynced(b)
}

// writeSynced appends lines with one write call and syncs them.
func (j *applyJournal) writeSynced(lines []byte) error {
	if err := j.writeLines(lines); err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", j.path, err)
	}
	return nil
}

// append appends one line.
func (j *applyJournal) append(l journalLine) error {
	b, err := j.line(l)
	if err != nil {
		return err
	}
	return j.writeLines(b)
}

// line encodes one line, stamping its record with the time.
func (j *applyJournal) line(l journalLine) ([]byte, error) {
	if l.Record != nil {
		l.Record.Time = time.Now().UTC()
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeLines appends whole lines with one write call (O_APPEND), so lines
// of concurrent writers never mix.
func (j *applyJournal) writeLines(b []byte) error {
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", j.path, err)
	}
	return nil
}

// remove deletes the journal, then releases it.
func (j *applyJournal) remove() {
	if j == nil {
		return
	}
	_ = os.Remove(j.path)
	_ = j.f.Close()
}

// close releases the journal and leaves it for a later resolution (which
// finds the batch if it is still queued).
func (j *applyJournal) close() {
	if j != nil {
		_ = j.f.Close()
	}
}

// journalDir is the folder of the apply journals.
func (r *Reconciler) journalDir() string { return filepath.Join(r.cfg.DataDir, journalFolder) }

// startJournal opens the journal of an apply of out's target; action is
// what the reconcile does (applied or healed). The journal's records are
// the ones objectRecords writes for the same entries.
func (r *Reconciler) startJournal(out *Outcome, action Action, actor string) (*applyJournal, error) {
	o := *out
	o.Action = action
	actor = recordActor(&o, actor)
	reports := reportsByRef(o.Report)
	o.attempt = newAttempt()
	interrupted := o
	interrupted.Action, interrupted.Err = ActionFailed, errInterrupted
	begin := reconcileRecord(&interrupted, actor)
	begin.Time = r.now().UTC()
	j, err := openJournal(r.journalDir(), o.attempt, begin, func(e kube.Entry) history.Record {
		return objectRecord(&o, actor, reports, e)
	})
	if err != nil {
		return nil, err
	}
	out.attempt = o.attempt
	return j, nil
}

// resolveJournals resolves the journals of target that crashed processes
// left. An error means a live object could not be judged: the target must
// not be applied before it is.
func (r *Reconciler) resolveJournals(ctx context.Context, target string, cluster *kube.Cluster) error {
	if r.rec.history == nil || cluster == nil {
		return nil
	}
	names, err := filepath.Glob(filepath.Join(r.journalDir(), "*.jsonl"))
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, r.resolveJournal(ctx, name, target, cluster))
	}
	return errors.Join(errs...)
}

// resolveJournal resolves one journal if it is target's and no live
// process holds it.
func (r *Reconciler) resolveJournal(ctx context.Context, path, target string, cluster *kube.Cluster) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply journal %s: %w", path, err)
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		_ = f.Close() // a live process is applying
		return nil
	}
	j := &applyJournal{path: path, f: f}
	begin, objs, err := readJournal(f)
	switch {
	case err != nil:
		j.close()
		return fmt.Errorf("apply journal %s: %w", path, err)
	case begin == nil: // died before its begin line: it applied nothing
		j.remove()
		return nil
	case begin.Target != target:
		j.close()
		return nil
	}
	if err := j.judge(ctx, target, cluster, objs); err != nil {
		j.close()
		return fmt.Errorf("apply journal %s: %w", path, err)
	}
	j.attempt = attemptOf(*begin)
	if done, err := r.rec.attemptRecorded(ctx, j.attempt, *begin); err != nil || done {
		if done {
			j.remove()
		} else {
			j.close() // resolved at a later reconcile, when the history answers
			r.log.Warn("history unreachable: an interrupted apply is recorded later", "target", target, "journal", path, "error", err.Error())
		}
		return nil
	}
	recs := resolvedRecords(*begin, objs)
	if err := r.rec.appendBatch(ctx, recs, j.remove); err != nil {
		r.log.Warn("history delayed", "target", target, "error", err.Error())
	}
	return nil
}

// journalObject is what a journal says of one object.
type journalObject struct {
	intent   *kube.Intent
	record   history.Record
	applied  bool
	accepted *bool
}

// readJournal reads a journal's lines; a torn last line (a crash in the
// middle of a write) is ignored: its change was never sent.
func readJournal(f *os.File) (*history.Record, []*journalObject, error) {
	var (
		begin *history.Record
		objs  []*journalObject
		byRef = map[drift.ObjectRef]*journalObject{}
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l journalLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l.Begin != nil {
			begin = l.Begin
			continue
		}
		if l.Intent == nil {
			continue
		}
		o := byRef[l.Intent.Ref]
		if o == nil {
			o = &journalObject{intent: l.Intent}
			byRef[l.Intent.Ref] = o
			objs = append(objs, o)
		}
		switch {
		case l.Accepted != nil:
			o.accepted = l.Accepted
		case l.Record == nil:
		case l.Applied:
			o.record, o.applied = *l.Record, true
		case !o.applied:
			o.record = *l.Record
		}
	}
	return begin, objs, sc.Err()
}

// judge asks the cluster about every intent with no outcome yet and writes
// the verdicts down, so a later resolution does not judge again (the
// objects may change after this reconcile).
func (j *applyJournal) judge(ctx context.Context, target string, cluster *kube.Cluster, objs []*journalObject) error {
	for _, o := range objs {
		if o.applied || o.accepted != nil {
			continue
		}
		ok, err := cluster.Accepted(ctx, target, *o.intent)
		if err != nil {
			return err
		}
		o.accepted = &ok
		if err := j.write(journalLine{Intent: o.intent, Accepted: &ok}); err != nil {
			return err
		}
	}
	return nil
}

// resolvedRecords are the records of an interrupted apply: its reconcile
// record and one per change the cluster accepted.
func resolvedRecords(begin history.Record, objs []*journalObject) []history.Record {
	recs := []history.Record{begin}
	for _, o := range objs {
		switch {
		case o.applied:
			recs = append(recs, o.record)
		case o.accepted != nil && *o.accepted:
			rec := o.record
			rec.Message = "the cluster accepted this change; trueup stopped before it saw the answer (judged on the live object after the restart)"
			recs = append(recs, rec)
		}
	}
	recs[0].Time = time.Now().UTC()
	recs[0].Message = fmt.Sprintf("%s; %d changes recorded after the restart", errInterrupted, len(recs)-1)
	return recs
}

// attemptOf is the attempt a reconcile record names, or "".
func attemptOf(rec history.Record) string {
	var d struct {
		Attempt string `json:"attempt"`
	}
	if rec.Type != history.TypeReconcile && rec.Type != history.TypeManual || json.Unmarshal(rec.Data, &d) != nil {
		return ""
	}
	return d.Attempt
}

// hasAttempt reports whether recs hold the reconcile record of attempt.
func hasAttempt(recs []history.Record, attempt string) bool {
	for _, r := range recs {
		if attempt != "" && attemptOf(r) == attempt {
			return true
		}
	}
	return false
}

// attemptRecorded reports whether the batch of attempt is durable already:
// queued (spilled) or in the history.
func (rc *recorder) attemptRecorded(ctx context.Context, attempt string, begin history.Record) (bool, error) {
	if attempt == "" || rc.queuedAttempt(attempt) {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, appendWait)
	defer cancel()
	recs, err := rc.history.Query(ctx, history.Filter{Target: begin.Target, Revision: begin.Revision,
		Types: []string{history.TypeReconcile, history.TypeManual}, Since: begin.Time.Add(-time.Minute), Desc: true, Limit: 1000})
	if err != nil {
		return false, err
	}
	return hasAttempt(recs, attempt), nil
}
