package state

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/drift"
)

// maxBytesPerObject is the budget of one managed object in the store.
const maxBytesPerObject = 2048

// objectHeap stores n managed objects (ten targets) with a status and
// returns the heap the store holds per object: the Object rows, their
// strings and every index.
// Each object gets its own copies of its strings, as objects decoded from a
// cluster would, so nothing is shared that a real store could not share.
func objectHeap(tb testing.TB, n int, status drift.Status) float64 {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	s := newStore(tb)
	const targets = 10
	for tg := range targets {
		target := fmt.Sprint("team-", tg)
		objs := make([]Object, 0, n/targets)
		for i := range n / targets {
			objs = append(objs, Object{
				Target: strings.Clone(target),
				Ref: drift.ObjectRef{
					Group: strings.Clone("apps"), Version: strings.Clone("v1"), Kind: strings.Clone("Deployment"),
					Namespace: fmt.Sprint("namespace-", i%50), Name: fmt.Sprint("deployment-", i),
				},
				Status:          status,
				ResourceVersion: fmt.Sprint(100000000 + tg*n + i),
				Updated:         t0,
			})
		}
		must(tb, s.UpsertObjects(target, objs))
	}

	runtime.GC()
	runtime.ReadMemStats(&after)
	objs, err := s.Objects(nil, "team-0")
	must(tb, err)
	if len(objs) != n/targets {
		tb.Fatalf("stored %d objects of team-0, want %d", len(objs), n/targets)
	}
	runtime.KeepAlive(s)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// TestObjectMemory keeps the store within its memory budget per managed
// object, in steady state (in sync) and in the worst case (every object
// drifted, so in the status index too). go test -run TestObjectMemory -v
// prints the figures.
func TestObjectMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap of 10,000 objects")
	}
	for _, status := range []drift.Status{drift.InSync, drift.Drifted} {
		perObject := objectHeap(t, 10_000, status)
		t.Logf("%s: %.0f bytes per managed object at 10,000 objects", status, perObject)
		if perObject > maxBytesPerObject {
			t.Errorf("%s: %.0f bytes per managed object, budget %d", status, perObject, maxBytesPerObject)
		}
	}
}

// BenchmarkObjectMemory reports the heap per managed object at 10,000
// objects, in sync and drifted:
// go test -run '^$' -bench ObjectMemory ./reconciler/state/
func BenchmarkObjectMemory(b *testing.B) {
	var inSync, drifted float64
	for b.Loop() {
		inSync = objectHeap(b, 10_000, drift.InSync)
		drifted = objectHeap(b, 10_000, drift.Drifted)
	}
	b.ReportMetric(inSync, "bytes/object")
	b.ReportMetric(drifted, "bytes/drifted-object")
}
