package kube

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// hangingTransport holds every PATCH (the dry-run and apply calls) once
// hang is set, until the request's own context ends: an API server that
// accepted the connection and never answers.
type hangingTransport struct {
	next http.RoundTripper
	hang *atomic.Bool
	held *atomic.Int32
}

func (h hangingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.hang.Load() && req.Method == http.MethodPatch {
		h.held.Add(1)
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return h.next.RoundTrip(req)
}

// TestApplyToAHungAPIServerEndsAtTheRequestDeadline: the API server answers
// the inventory read, then never answers the apply's requests. The caller's
// context has no deadline (the daemon's), so only the cluster's request
// deadline can end the apply: it must return an error, with nothing
// applied and the inventory unchanged, instead of hanging the target.
func TestApplyToAHungAPIServerEndsAtTheRequestDeadline(t *testing.T) {
	f := newFixture(t)
	var hang atomic.Bool
	var held atomic.Int32
	cfg := rest.CopyConfig(f.env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return hangingTransport{next: rt, hang: &hang, held: &held}
	})
	c, err := NewCluster("hung", cfg, WithRequestTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	objs := parse(t, configMaps("1", "a", "b"))
	if err := c.Prepare(objs, f.ns, f.ns); err != nil {
		t.Fatal(err)
	}
	hang.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := c.Apply(context.Background(), f.ns, objs, testOptions())
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute): // a hang guard, not a timing assert
		t.Fatal("apply to a hung API server never returned: API requests have no deadline")
	}
	if err == nil {
		t.Fatal("apply to a hung API server succeeded")
	}
	if held.Load() == 0 {
		t.Fatal("no request reached the hung API server")
	}
	t.Logf("apply ended with: %v", err)
	if f.configMap("a") != nil || f.configMap("b") != nil {
		t.Error("objects were applied although the API server never answered")
	}
	if inv := f.inventory(f.ns); inv.Found {
		t.Errorf("inventory written after a hung apply: %+v", inv)
	}
}
