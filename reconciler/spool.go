package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trueup-dev/trueup/reconciler/history"
)

// The recorder's queue. Every batch of records goes through it to the
// history, in order. One flusher goroutine appends the head; nobody holds
// the queue's lock while the database is called. A batch waits in memory
// while the database answers; it is spilled to a file of its own in the
// spool folder (dataDir/history-spool) when
//
//   - the database is failing (the last append failed), or the recorder
//     is closed: at once,
//   - more than maxInMemory batches wait,
//   - its reconcile waited appendWait without the batch landing, or its
//     context ended,
//
// so a reconcile never waits on the history longer than appendWait, and
// what it recorded survives a restart. Spilled batches are read back in
// order (file names sort in queue order, also across restarts) when the
// database answers again, and their files removed once appended.
const (
	// appendWait bounds how long a reconcile waits for its batch to land.
	appendWait = 5 * time.Second
	// attemptTimeout bounds one append to the database.
	attemptTimeout = 15 * time.Second
	// maxInMemory caps the batches waiting in memory.
	maxInMemory = 64
	// retryMin and retryMax bound the flusher's backoff.
	retryMin, retryMax = time.Second, 30 * time.Second
	// spoolFolder is the spool's folder under dataDir.
	spoolFolder = "history-spool"
)

// batch is one queued batch of records.
type batch struct {
	// key orders the queue and names the spill file.
	key string
	// recs are the records; nil once spilled (read back from file).
	recs []history.Record
	// file is the spill file, "" while the batch is in memory only.
	file string
	// spilling: a goroutine writes the spill file (only one may).
	spilling bool
	// uncertain: the batch may be in the history already: an earlier
	// process spilled it (and may have appended it and died before removing
	// the file), or an append of it failed after the database might have
	// committed it (a lost answer).
	uncertain bool
	// settled is closed once the batch is durable: appended or spilled;
	// landed tells which.
	settled chan struct{}
	landed  bool
	// durable runs once, when settled.
	durable func()
}

// queue is the recorder's state shared with the flusher (see recorder.mu).
type queue struct {
	dir      string
	log      *slog.Logger
	batches  []*batch
	inMemory int
	// failing is the last append's error while the database fails.
	failing  error
	flushing bool
	lastKey  int64
	loaded   bool
	// stop ends the flusher (Close); flusherDone is closed when it ended.
	stop        chan struct{}
	flusherDone chan struct{}
}

// settle marks b durable; the caller holds rc.mu.
func (b *batch) settle(landed bool) {
	select {
	case <-b.settled:
		return
	default:
	}
	b.landed = landed
	close(b.settled)
	if b.durable != nil {
		go b.durable()
	}
}

// appendBatch queues recs for the history and waits, at most appendWait,
// until they are durable. durable, when set, runs once they are (appended,
// or spilled to the spool). An error says the batch is not in the history
// yet (it is queued or spilled, and appended in order later) or, for a
// batch that could not even be spilled, that it is lost.
func (rc *recorder) appendBatch(ctx context.Context, recs []history.Record, durable func()) error {
	if rc.history == nil {
		if durable != nil {
			durable()
		}
		return nil
	}
	now := time.Now()
	for i := range recs {
		if recs[i].Time.IsZero() {
			recs[i].Time = now
		}
	}
	b := &batch{recs: recs, settled: make(chan struct{}), durable: durable}
	rc.mu.Lock()
	rc.loadLocked()
	b.key = rc.nextKeyLocked(now)
	rc.q.batches = append(rc.q.batches, b)
	rc.q.inMemory++
	rc.startFlusherLocked()
	spillNow := rc.q.failing != nil || rc.q.inMemory > maxInMemory || isClosed(rc.q.stop)
	rc.mu.Unlock()

	if !spillNow {
		timer := time.NewTimer(appendWait)
		defer timer.Stop()
		select {
		case <-b.settled:
		case <-timer.C:
		case <-ctx.Done():
		}
	}
	if err := rc.spill(b); err != nil {
		return err
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if b.landed {
		return nil
	}
	return fmt.Errorf("history: %d records kept in %s and appended in order when the database answers (%d batches wait): %w",
		len(recs), rc.q.dir, len(rc.q.batches), cmpErr(rc.q.failing, errors.New("the database did not answer in time")))
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// nextKeyLocked returns a key after every key so far, also those of
// earlier processes (keys are times in nanoseconds).
func (rc *recorder) nextKeyLocked(now time.Time) string {
	rc.q.lastKey = max(rc.q.lastKey+1, now.UnixNano())
	return fmt.Sprintf("%020d", rc.q.lastKey)
}

// loadLocked queues the batches earlier processes spilled, once.
func (rc *recorder) loadLocked() {
	if rc.q.loaded || rc.q.dir == "" {
		return
	}
	rc.q.loaded = true
	names, err := filepath.Glob(filepath.Join(rc.q.dir, "*.json"))
	if err != nil {
		return
	}
	sort.Strings(names)
	for _, name := range names {
		key := strings.TrimSuffix(filepath.Base(name), ".json")
		var n int64
		if _, err := fmt.Sscanf(key, "%d", &n); err != nil {
			continue
		}
		b := &batch{key: key, file: name, uncertain: true, settled: make(chan struct{})}
		close(b.settled) // already durable
		rc.q.batches = append(rc.q.batches, b)
		rc.q.lastKey = max(rc.q.lastKey, n)
	}
	if len(rc.q.batches) > 0 {
		rc.startFlusherLocked()
	}
}

// startFlusherLocked starts the flusher unless it runs.
func (rc *recorder) startFlusherLocked() {
	if rc.q.stop == nil {
		rc.q.stop = make(chan struct{})
	}
	if rc.q.flushing || len(rc.q.batches) == 0 || isClosed(rc.q.stop) {
		return
	}
	rc.q.flushing = true
	rc.q.flusherDone = make(chan struct{})
	go rc.flush(rc.q.stop, rc.q.flusherDone)
}

// spill writes b to its own file unless it is durable already or another
// goroutine is writing it.
func (rc *recorder) spill(b *batch) error {
	rc.mu.Lock()
	recs, dir := b.recs, rc.q.dir
	skip := isClosed(b.settled) || b.spilling
	if !skip && dir != "" {
		b.spilling = true
	}
	rc.mu.Unlock()
	switch {
	case skip:
		return nil
	case dir == "":
		return errors.New("history: no spool folder: the batch waits in memory only")
	}
	file, err := writeSpill(dir, b.key, recs)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	b.spilling = false
	if err != nil {
		return fmt.Errorf("history: spool %s: %w (records are kept in memory only; check that dataDir is writable)", dir, err)
	}
	if isClosed(b.settled) { // appended while it was being written
		_ = os.Remove(file)
		return nil
	}
	b.file, b.recs = file, nil
	rc.q.inMemory--
	b.settle(false)
	return nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// writeSpill writes recs to dir/key.json durably: a temporary file,
// synced, renamed, and the folder synced.
func writeSpill(dir, key string, recs []history.Record) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	data, err := json.Marshal(recs)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, key+".*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return "", err
	}
	file := filepath.Join(dir, key+".json")
	if err := os.Rename(tmp.Name(), file); err != nil {
		return "", err
	}
	return file, syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// flush appends the queue's head until the queue is empty, backing off
// while the database fails; after a failure it spills what waits in
// memory. It holds rc.mu only to look at and change the queue.
func (rc *recorder) flush(stop, done chan struct{}) {
	defer close(done)
	backoff := retryMin
	for {
		rc.mu.Lock()
		if len(rc.q.batches) == 0 {
			rc.q.flushing, rc.q.failing = false, nil
			rc.mu.Unlock()
			return
		}
		b := rc.q.batches[0]
		recs, file, uncertain := b.recs, b.file, b.uncertain
		rc.mu.Unlock()

		err := rc.appendHead(recs, file, uncertain)
		if err == nil {
			rc.pop(b)
			backoff = retryMin
			continue
		}
		rc.mu.Lock()
		rc.q.failing, b.uncertain = err, true
		var waiting []*batch
		for _, w := range rc.q.batches {
			if w.file == "" {
				waiting = append(waiting, w)
			}
		}
		rc.mu.Unlock()
		for _, w := range waiting {
			if err := rc.spill(w); err != nil {
				rc.q.log.Error("history spool failed", "error", err.Error())
			}
		}
		select {
		case <-stop:
			rc.mu.Lock()
			rc.q.flushing = false
			rc.mu.Unlock()
			return
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		backoff = min(2*backoff, retryMax)
	}
}

// appendHead appends one batch: from memory, or read back from its file. An
// uncertain batch is looked up first.
func (rc *recorder) appendHead(recs []history.Record, file string, uncertain bool) error {
	if recs == nil {
		var err error
		if recs, err = readSpill(file); err != nil {
			// A file that cannot be read is moved aside, not retried
			// forever; the error names it.
			bad := file + ".unreadable"
			_ = os.Rename(file, bad)
			rc.q.log.Error("history spool file unreadable, moved aside; its records are not in the history", "file", bad, "error", err.Error())
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	if uncertain {
		if in, err := inHistory(ctx, rc.history, recs); err != nil || in {
			return err
		}
	}
	stored, err := rc.history.Append(ctx, recs...)
	if err == nil && rc.observe != nil {
		rc.observe(stored) // the platform metrics count what the history holds
	}
	return err
}

func readSpill(file string) ([]history.Record, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var recs []history.Record
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return recs, nil
}

// inHistory reports whether recs were appended already: the history holds
// a record like the first one, to the nanosecond.
func inHistory(ctx context.Context, h history.Store, recs []history.Record) (bool, error) {
	if len(recs) == 0 {
		return true, nil
	}
	r := recs[0]
	got, err := h.Query(ctx, history.Filter{Target: r.Target, Object: r.Object, Types: []string{r.Type},
		Since: r.Time, Until: r.Time.Add(time.Nanosecond), Limit: 100})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(got, func(g history.Record) bool {
		return g.Time.Equal(r.Time) && g.Message == r.Message && g.Actor == r.Actor && g.Revision == r.Revision
	}), nil
}

// pop removes the appended head.
func (rc *recorder) pop(b *batch) {
	rc.mu.Lock()
	rc.q.batches = rc.q.batches[1:]
	rc.q.failing = nil
	file := b.file
	if file == "" {
		rc.q.inMemory--
	}
	b.settle(true)
	rc.mu.Unlock()
	if file != "" {
		_ = os.Remove(file)
	}
}

// queuedAttempt reports whether a queued batch holds the reconcile record
// of attempt.
func (rc *recorder) queuedAttempt(attempt string) bool {
	rc.mu.Lock()
	rc.loadLocked()
	var files []string
	for _, b := range rc.q.batches {
		if b.recs != nil && hasAttempt(b.recs, attempt) {
			rc.mu.Unlock()
			return true
		}
		if b.file != "" {
			files = append(files, b.file)
		}
	}
	rc.mu.Unlock()
	for _, f := range files {
		if recs, err := readSpill(f); err == nil && hasAttempt(recs, attempt) {
			return true
		}
	}
	return false
}

// close stops the flusher and spills what waits in memory.
func (rc *recorder) close() error {
	rc.mu.Lock()
	if rc.q.stop == nil {
		rc.q.stop = make(chan struct{})
	}
	stop, done, flushing := rc.q.stop, rc.q.flusherDone, rc.q.flushing
	select {
	case <-stop:
	default:
		close(stop)
	}
	var waiting []*batch
	for _, b := range rc.q.batches {
		if b.file == "" {
			waiting = append(waiting, b)
		}
	}
	rc.mu.Unlock()
	if flushing {
		<-done
	}
	var errs []error
	for _, b := range waiting {
		errs = append(errs, rc.spill(b))
	}
	return errors.Join(errs...)
}
