package reconciler

import (
	"context"
	"time"

	"github.com/trueup-dev/trueup/reconciler/history"
)

// following is Follow's place in the history: the last record it read,
// the records this process stored since (counted when stored), and the
// records of other processes it has seen once.
type following struct {
	on     bool
	cursor int64
	own    map[int64]bool
	// seen are other processes' records read at the last pass: counted
	// at the next one unless this process stored them in between (its
	// records are counted right after their append returns, which may be
	// a moment after another reader sees them).
	seen []history.Record
}

// Follow counts, every interval until ctx ends, the records other
// processes append to the history: `trueup apply` on a laptop, or a
// replica that reconciled a target before this one took it over. Only
// records of targets this replica owns are counted (with several
// replicas, each counts its own targets). Call it after Restore; it
// starts at the history's head then. A failed read is passed to onError
// and tried again at the next interval.
func (m *Metrics) Follow(ctx context.Context, h history.Store, interval time.Duration, onError func(error)) {
	if m == nil || h == nil {
		return
	}
	p := m.platform
	p.mu.Lock()
	p.follow = following{on: true, own: map[int64]bool{}}
	p.mu.Unlock()
	for started := false; !started; {
		head, err := h.Query(ctx, history.Filter{Desc: true, Limit: 1})
		if started = err == nil; started {
			p.startAt(head)
		} else if ctx.Err() == nil {
			onError(err)
		}
		if !started && !sleep(ctx, interval) {
			return
		}
	}
	for sleep(ctx, interval) {
		if err := p.catchUp(ctx, h); err != nil && ctx.Err() == nil {
			onError(err)
		}
	}
}

// startAt puts the cursor at the history's head (the newest record, if
// any): what this process stored up to there is not read again.
func (p *platformMetrics) startAt(head []history.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(head) > 0 {
		p.follow.cursor = head[0].Seq
	}
	for seq := range p.follow.own {
		if seq <= p.follow.cursor {
			delete(p.follow.own, seq)
		}
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// catchUp reads the figure records after the cursor and counts those of
// other processes seen at the previous pass.
func (p *platformMetrics) catchUp(ctx context.Context, h history.Store) error {
	p.mu.Lock()
	cursor := p.follow.cursor
	p.mu.Unlock()
	var read []history.Record
	err := pages(ctx, h, history.Filter{AfterSeq: cursor, Types: figureTypes, Limit: 1000}, func(r history.Record) error {
		read = append(read, r)
		return nil
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &p.follow
	for _, r := range f.seen {
		if !f.own[r.Seq] && (p.owns == nil || p.owns(r.Target)) {
			for _, fc := range p.tally.add(r) {
				p.apply(fc)
			}
		}
		delete(f.own, r.Seq)
	}
	f.seen = f.seen[:0]
	for _, r := range read {
		f.cursor = r.Seq
		if f.own[r.Seq] {
			delete(f.own, r.Seq)
			continue
		}
		f.seen = append(f.seen, r)
	}
	return nil
}
