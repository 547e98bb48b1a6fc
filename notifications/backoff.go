package notifications

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff with jitter.
type Backoff struct {
	// Initial is the wait before the second attempt.
	Initial time.Duration
	// Max caps the exponential wait (not a server's Retry-After).
	Max time.Duration
	// Attempts is the total number of attempts per message, at least 1.
	Attempts int
}

// DefaultBackoff waits about 1s, 2s, 4s, 8s between five attempts, never
// more than 30s.
func DefaultBackoff() Backoff {
	return Backoff{Initial: time.Second, Max: 30 * time.Second, Attempts: 5}
}

// Delay is the wait after failed attempt number attempt (1-based): a random
// duration in [d/2, d] for d = min(Initial*2^(attempt-1), Max), or, when the
// server asked for a wait, that wait plus up to 10% so that many clients do
// not come back at once.
func (b Backoff) Delay(attempt int, serverWait time.Duration) time.Duration {
	if serverWait > 0 {
		return serverWait + jitter(serverWait/10)
	}
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + jitter(d/2)
}

// jitter returns a random duration in [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
