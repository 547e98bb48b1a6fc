package state

import (
	"errors"
	"testing"

	"github.com/hashicorp/go-memdb"
)

func TestTargets(t *testing.T) {
	s := newStore(t)
	shop := Target{Name: "shop", Destination: "prod-eu", Status: TargetReady, Revision: "main@sha1:abc", LastReconcile: t0, LastAction: "applied"}
	must(t, s.UpsertTarget(shop))
	must(t, s.UpsertTarget(Target{Name: "billing", Destination: "aws-prod", Status: TargetPending}))

	got, err := s.Target(nil, "shop")
	must(t, err)
	if got == nil || *got != shop {
		t.Fatalf("Target(shop) = %+v, want %+v", got, shop)
	}
	if got, err := s.Target(nil, "nope"); err != nil || got != nil {
		t.Fatalf("Target(nope) = %+v, %v; want nil, nil", got, err)
	}
	all, err := s.Targets(nil)
	must(t, err)
	if len(all) != 2 || all[0].Name != "billing" || all[1].Name != "shop" {
		t.Fatalf("Targets = %+v, want billing, shop", all)
	}
}

func TestUpsertTargetInvalid(t *testing.T) {
	s := newStore(t)
	for _, tg := range []Target{{Status: TargetReady}, {Name: "shop"}, {Name: "shop", Status: "healthy"}} {
		if err := s.UpsertTarget(tg); !errors.Is(err, ErrInvalid) {
			t.Errorf("UpsertTarget(%+v) = %v, want ErrInvalid", tg, err)
		}
	}
}

func TestTargetWatch(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertTarget(Target{Name: "shop", Status: TargetPending}))
	must(t, s.UpsertTarget(Target{Name: "billing", Status: TargetPending}))

	one, all := memdb.NewWatchSet(), memdb.NewWatchSet()
	_, err := s.Target(one, "shop")
	must(t, err)
	_, err = s.Targets(all)
	must(t, err)

	must(t, s.UpsertTarget(Target{Name: "billing", Status: TargetReady}))
	if fired(one) {
		t.Error("a write to billing fired the watch on shop")
	}
	if !fired(all) {
		t.Error("a write to billing did not fire the watch on all targets")
	}
	must(t, s.UpsertTarget(Target{Name: "shop", Status: TargetFailed, LastError: "render: boom"}))
	if !fired(one) {
		t.Error("a write to shop did not fire the watch on shop")
	}
}

func TestTargetWatchBeforeCreate(t *testing.T) {
	s := newStore(t)
	ws := memdb.NewWatchSet()
	if got, err := s.Target(ws, "shop"); err != nil || got != nil {
		t.Fatalf("Target = %+v, %v", got, err)
	}
	must(t, s.UpsertTarget(Target{Name: "shop", Status: TargetPending}))
	if !fired(ws) {
		t.Error("creating the target did not fire the watch of its lookup")
	}
}

func TestDeleteTarget(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertTarget(Target{Name: "shop", Status: TargetReady}))
	must(t, s.UpsertTarget(Target{Name: "billing", Status: TargetReady}))
	must(t, s.UpsertObjects("shop", []Object{{Ref: deployment("web")}}))
	must(t, s.UpsertObjects("billing", []Object{{Ref: deployment("api")}}))

	must(t, s.DeleteTarget("shop"))
	if got, _ := s.Target(nil, "shop"); got != nil {
		t.Errorf("shop still stored: %+v", got)
	}
	if objs, _ := s.Objects(nil, "shop"); len(objs) != 0 {
		t.Errorf("shop objects still stored: %+v", objs)
	}
	if objs, _ := s.Objects(nil, "billing"); len(objs) != 1 {
		t.Errorf("billing objects = %+v, want 1", objs)
	}
}
