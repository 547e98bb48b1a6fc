package state

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hashicorp/go-memdb"
)

func TestThreads(t *testing.T) {
	s := newStore(t)
	ws := memdb.NewWatchSet()
	if open, err := s.OpenThreads(ws, "oncall"); err != nil || len(open) != 0 {
		t.Fatalf("OpenThreads on an empty store = %v, %v", open, err)
	}
	a := Thread{Notifier: "oncall", Episode: "shop/web/2", Data: json.RawMessage(`{"ts":"1.2"}`)}
	b := Thread{Notifier: "oncall", Episode: "shop/api/1", Data: json.RawMessage(`{"ts":"1.1"}`)}
	other := Thread{Notifier: "audit", Episode: "shop/web/2"}
	for _, th := range []Thread{a, b, other} {
		if err := s.SaveThread(th); err != nil {
			t.Fatal(err)
		}
	}
	if !fired(ws) {
		t.Error("saving a thread did not fire the open-threads watch")
	}
	open, err := s.OpenThreads(nil, "oncall")
	if err != nil || len(open) != 2 || open[0].Episode != "shop/api/1" || open[1].Episode != "shop/web/2" {
		t.Fatalf("OpenThreads = %+v, %v; want the two oncall threads by episode", open, err)
	}
	ws = memdb.NewWatchSet()
	got, err := s.Thread(ws, "oncall", "shop/web/2")
	if err != nil || got == nil || string(got.Data) != `{"ts":"1.2"}` {
		t.Fatalf("Thread = %+v, %v", got, err)
	}
	a.Resolved = true
	if err := s.SaveThread(a); err != nil {
		t.Fatal(err)
	}
	if !fired(ws) {
		t.Error("updating a thread did not fire its watch")
	}
	if open, _ := s.OpenThreads(nil, "oncall"); len(open) != 1 || open[0].Episode != "shop/api/1" {
		t.Errorf("a resolved thread is still open: %+v", open)
	}
	if err := s.SaveThread(Thread{Notifier: "oncall"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a thread without episode: %v, want ErrInvalid", err)
	}
	if err := s.RestoreThreads([]Thread{{Notifier: "audit", Episode: "x"}}); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.OpenThreads(nil, "audit"); len(open) != 2 {
		t.Errorf("restored threads: %+v", open)
	}
	if n, err := s.DeleteResolvedThreads(); err != nil || n != 1 {
		t.Fatalf("DeleteResolvedThreads = %d, %v; want the one resolved thread", n, err)
	}
	if got, _ := s.Thread(nil, "oncall", "shop/web/2"); got != nil {
		t.Error("a resolved thread is still stored")
	}
	if got, _ := s.Thread(nil, "oncall", "shop/api/1"); got == nil {
		t.Error("an open thread was deleted")
	}
}
