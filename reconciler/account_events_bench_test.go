package reconciler_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	awsfixtures "github.com/trueup-dev/trueup/fixtures/aws"
	"github.com/trueup-dev/trueup/reconciler"
)

// BenchmarkCloudEventLatency measures, on moto, the delay from an
// out-of-band bucket change to the reconcile that reports it: with its
// CloudTrail event published on the account's SQS queue (the target's
// interval an hour away, so only the event can wake it), and with polling
// at the shortest interval trueup allows (10s), side by side in one run.
// Each change comes at a random point of the interval, as real edits do.
// The event's own delivery by CloudTrail and EventBridge, which AWS adds
// in production, is not part of it. Run it with -benchtime 1x.
func BenchmarkCloudEventLatency(b *testing.B) {
	const eventSamples, pollSamples, interval = 20, 8, 10 * time.Second
	evRig := newEventsRig(b, time.Hour, "")
	pollRig := newEventsRig(b, interval, noEvents)
	b.ResetTimer()
	ev := measureLatency(b, evRig, eventSamples, 500*time.Millisecond, true)
	poll := measureLatency(b, pollRig, pollSamples, interval, false)
	b.StopTimer()
	p50e, p95e, p50p, p95p := percentile(ev, 50), percentile(ev, 95), percentile(poll, 50), percentile(poll, 95)
	b.ReportMetric(float64(p50e.Milliseconds()), "event-p50-ms")
	b.ReportMetric(float64(p95e.Milliseconds()), "event-p95-ms")
	b.ReportMetric(float64(p50p.Milliseconds()), "poll10s-p50-ms")
	b.ReportMetric(float64(p95p.Milliseconds()), "poll10s-p95-ms")
	b.ReportMetric(float64(p50p)/float64(p50e), "p50-poll/event")
	fmt.Printf("event-to-drift (%d changes): p50 %s p95 %s; polling every %s (%d changes): p50 %s p95 %s; p50 ratio poll/event %.0fx\n",
		len(ev), p50e.Round(time.Millisecond), p95e.Round(time.Millisecond), interval, len(poll), p50p.Round(time.Millisecond), p95p.Round(time.Millisecond), float64(p50p)/float64(p50e))
}

// measureLatency flips the bucket's public access block n times, each at
// a random point within spread, and times each change until a reconcile
// reports it (woken by its event when withEvents).
func measureLatency(b *testing.B, rig *eventsRig, n int, spread time.Duration, withEvents bool) []time.Duration {
	var out []time.Duration
	for i := range n {
		time.Sleep(rand.N(spread))
		open := i%2 == 0 // open: drift; closed again: in sync
		start := time.Now()
		rig.setBlock(b, !open)
		if withEvents {
			rig.send(b, awsfixtures.Call{Account: rig.env.AccountID, Source: "s3.amazonaws.com", Name: "PutBucketPublicAccessBlock",
				Time: start, ID: fmt.Sprintf("bench-%d", i), PrincipalARN: "arn:aws:iam::" + rig.env.AccountID + ":user/bench",
				Params: map[string]any{"bucketName": "trueup-events-logs"}}.EventBridge())
		}
		rig.outcomes.wait(b, fmt.Sprintf("change %d reported", i), func(o *reconciler.Outcome) bool {
			if withEvents && o.Trigger != reconciler.TriggerCloudEvent {
				return false
			}
			for _, obj := range o.Report.Objects {
				if obj.Ref.Name == "trueup-events-logs" {
					return (obj.Status == drift.Drifted) == open
				}
			}
			return false
		})
		out = append(out, time.Since(start))
	}
	return out
}

// percentile is the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100
	return s[max(rank, 1)-1]
}
