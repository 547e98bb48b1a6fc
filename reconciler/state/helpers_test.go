package state

import (
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// fired reports whether a watch channel in ws is closed. memdb closes the
// channels before Commit returns, so no waiting is needed.
func fired(ws memdb.WatchSet) bool {
	for ch := range ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

func deployment(name string) drift.ObjectRef {
	return drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: name}
}

func configMap(name string) drift.ObjectRef {
	return drift.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: name}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
