package state

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/trueup-dev/trueup/drift"
)

func TestObjects(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertObjects("shop", []Object{
		{Ref: deployment("web"), Status: drift.InSync, ResourceVersion: "10", Updated: t0},
		{Ref: deployment("api"), Status: drift.Drifted, ResourceVersion: "11", Updated: t0},
		{Ref: configMap("web"), Status: drift.InSync, ResourceVersion: "12", Updated: t0},
	}))
	must(t, s.UpsertObjects("billing", []Object{
		{Ref: deployment("api"), Status: drift.Drifted, ResourceVersion: "7", Updated: t0},
	}))

	t.Run("by target", func(t *testing.T) {
		objs, err := s.Objects(nil, "shop")
		must(t, err)
		if got, want := idsOf(objs), []string{"shop/ConfigMap/shop/web", "shop/Deployment.apps/shop/api", "shop/Deployment.apps/shop/web"}; !slices.Equal(got, want) {
			t.Fatalf("Objects(shop) = %v, want %v", got, want)
		}
		if objs[1].Target != "shop" || objs[1].ResourceVersion != "11" || objs[1].Ref != deployment("api") {
			t.Errorf("object = %+v", objs[1])
		}
	})
	t.Run("by status", func(t *testing.T) {
		objs, err := s.ObjectsByStatus(nil, drift.Drifted)
		must(t, err)
		if got, want := idsOf(objs), []string{"billing/Deployment.apps/shop/api", "shop/Deployment.apps/shop/api"}; !slices.Equal(got, want) {
			t.Fatalf("ObjectsByStatus(drifted) = %v, want %v", got, want)
		}
	})
	t.Run("in sync", func(t *testing.T) {
		objs, err := s.ObjectsByStatus(nil, drift.InSync)
		must(t, err)
		if got, want := idsOf(objs), []string{"shop/ConfigMap/shop/web", "shop/Deployment.apps/shop/web"}; !slices.Equal(got, want) {
			t.Fatalf("ObjectsByStatus(in-sync) = %v, want %v", got, want)
		}
	})
	t.Run("drifted comes back in sync", func(t *testing.T) {
		must(t, s.UpsertObjects("billing", []Object{{Ref: deployment("api"), Status: drift.InSync, ResourceVersion: "8", Updated: t0}}))
		objs, err := s.ObjectsByStatus(nil, drift.Drifted)
		must(t, err)
		if got, want := idsOf(objs), []string{"shop/Deployment.apps/shop/api"}; !slices.Equal(got, want) {
			t.Fatalf("ObjectsByStatus(drifted) = %v, want %v", got, want)
		}
		must(t, s.UpsertObjects("billing", []Object{{Ref: deployment("api"), Status: drift.Drifted, ResourceVersion: "9", Updated: t0}}))
	})
	t.Run("by kind", func(t *testing.T) {
		objs, err := s.ObjectsByKind(nil, "", "ConfigMap")
		must(t, err)
		if got, want := idsOf(objs), []string{"shop/ConfigMap/shop/web"}; !slices.Equal(got, want) {
			t.Fatalf("ObjectsByKind(ConfigMap) = %v, want %v", got, want)
		}
		objs, err = s.ObjectsByKind(nil, "apps", "Deployment")
		must(t, err)
		if len(objs) != 3 {
			t.Fatalf("ObjectsByKind(Deployment.apps) = %v, want 3", idsOf(objs))
		}
	})
	t.Run("one", func(t *testing.T) {
		o, err := s.Object(nil, "billing", deployment("api"))
		must(t, err)
		if o == nil || o.ResourceVersion != "9" {
			t.Fatalf("Object = %+v", o)
		}
		if o, err := s.Object(nil, "billing", deployment("web")); o != nil || err != nil {
			t.Fatalf("Object(absent) = %+v, %v", o, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		must(t, s.DeleteObjects("shop", []drift.ObjectRef{deployment("api"), deployment("never-stored")}))
		objs, err := s.Objects(nil, "shop")
		must(t, err)
		if got, want := idsOf(objs), []string{"shop/ConfigMap/shop/web", "shop/Deployment.apps/shop/web"}; !slices.Equal(got, want) {
			t.Fatalf("after delete: %v, want %v", got, want)
		}
		if objs, _ := s.ObjectsByStatus(nil, drift.Drifted); len(objs) != 1 {
			t.Fatalf("status index still holds the deleted object: %v", idsOf(objs))
		}
	})
}

// A target whose name starts with another's is another target.
func TestObjectsTargetPrefix(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertObjects("shop", []Object{{Ref: deployment("web"), Status: drift.InSync}}))
	must(t, s.UpsertObjects("shop-eu", []Object{{Ref: deployment("web"), Status: drift.InSync}}))
	objs, err := s.Objects(nil, "shop")
	must(t, err)
	if got, want := idsOf(objs), []string{"shop/Deployment.apps/shop/web"}; !slices.Equal(got, want) {
		t.Fatalf("Objects(shop) = %v, want %v", got, want)
	}
	must(t, s.DeleteTarget("shop"))
	if objs, _ := s.Objects(nil, "shop-eu"); len(objs) != 1 {
		t.Fatalf("deleting shop removed shop-eu's objects: %v", idsOf(objs))
	}
}

func TestUpsertObjectsInvalid(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name   string
		target string
		obj    Object
	}{
		{name: "no target", obj: Object{Ref: deployment("web")}},
		{name: "other target", target: "shop", obj: Object{Target: "billing", Ref: deployment("web")}},
		{name: "no name", target: "shop", obj: Object{Ref: drift.ObjectRef{Kind: "ConfigMap"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.UpsertObjects(tt.target, []Object{tt.obj}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("UpsertObjects = %v, want ErrInvalid", err)
			}
		})
	}
	// A failed batch writes nothing.
	err := s.UpsertObjects("shop", []Object{{Ref: deployment("web")}, {Ref: drift.ObjectRef{Kind: "X"}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("UpsertObjects = %v, want ErrInvalid", err)
	}
	if objs, _ := s.Objects(nil, "shop"); len(objs) != 0 {
		t.Fatalf("a failed batch stored %v", idsOf(objs))
	}
}

func TestObjectsWatch(t *testing.T) {
	s := newStore(t)
	must(t, s.UpsertObjects("shop", []Object{{Ref: deployment("web"), Status: drift.InSync, ResourceVersion: "1", Updated: t0}}))
	must(t, s.UpsertObjects("billing", []Object{{Ref: deployment("api"), Status: drift.InSync, ResourceVersion: "1", Updated: t0}}))

	watch := func() (shop, drifted memdb.WatchSet) {
		shop, drifted = memdb.NewWatchSet(), memdb.NewWatchSet()
		_, err := s.Objects(shop, "shop")
		must(t, err)
		_, err = s.ObjectsByStatus(drifted, drift.Drifted)
		must(t, err)
		return shop, drifted
	}

	t.Run("other target", func(t *testing.T) {
		shop, _ := watch()
		must(t, s.UpsertObjects("billing", []Object{{Ref: deployment("api"), Status: drift.InSync, ResourceVersion: "2", Updated: t0}}))
		if fired(shop) {
			t.Error("a write to billing's objects fired the watch on shop's objects")
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		shop, _ := watch()
		must(t, s.UpsertObjects("shop", []Object{{Ref: deployment("web"), Status: drift.InSync, ResourceVersion: "1", Updated: t0.Add(time.Minute)}}))
		if fired(shop) {
			t.Error("an unchanged object fired the watch")
		}
		o, _ := s.Object(nil, "shop", deployment("web"))
		if !o.Updated.Equal(t0) {
			t.Errorf("Updated = %v, want %v (unchanged)", o.Updated, t0)
		}
	})
	t.Run("drifts", func(t *testing.T) {
		shop, drifted := watch()
		must(t, s.UpsertObjects("shop", []Object{{Ref: deployment("web"), Status: drift.Drifted, ResourceVersion: "2", Updated: t0}}))
		if !fired(shop) {
			t.Error("a write to shop's objects did not fire the watch on them")
		}
		if !fired(drifted) {
			t.Error("an object turning drifted did not fire the watch on drifted objects")
		}
	})
	t.Run("delete", func(t *testing.T) {
		shop, _ := watch()
		must(t, s.DeleteObjects("shop", []drift.ObjectRef{deployment("web")}))
		if !fired(shop) {
			t.Error("deleting an object did not fire the watch")
		}
	})
}

func idsOf(objs []Object) []string {
	out := make([]string, len(objs))
	for i := range objs {
		out[i] = objs[i].ID()
	}
	return out
}
