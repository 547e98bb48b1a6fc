package notifications

import "sync"

// item is a queued event with the fingerprint of the event as the
// producer gave it (the event itself is already redacted).
type item struct {
	ev Event
	fp string
}

// queue is a bounded FIFO that drops its oldest item when full. push never
// blocks; the worker waits on wake.
type queue struct {
	mu      sync.Mutex
	items   []item
	max     int
	dropped int
	last    Event // the latest dropped event
	wake    chan struct{}
}

func newQueue(max int) *queue {
	return &queue{max: max, wake: make(chan struct{}, 1)}
}

// push appends it, dropping the oldest item when the queue is full.
func (q *queue) push(it item) {
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.last = q.items[0].ev
		q.dropped++
		q.items[0] = item{}
		q.items = q.items[1:]
	}
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop removes and returns the oldest item.
func (q *queue) pop() (item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return item{}, false
	}
	it := q.items[0]
	q.items[0] = item{}
	q.items = q.items[1:]
	return it, true
}

// takeDropped returns and resets the drop count and the latest dropped event.
func (q *queue) takeDropped() (int, Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, last := q.dropped, q.last
	q.dropped, q.last = 0, Event{}
	return n, last
}

// drain empties the queue, counting what it held as dropped.
func (q *queue) drain() {
	for {
		it, ok := q.pop()
		if !ok {
			return
		}
		q.mu.Lock()
		q.dropped++
		q.last = it.ev
		q.mu.Unlock()
	}
}
