package kube

import (
	"errors"
	"slices"
	"testing"

	"github.com/trueup-dev/trueup/drift"
)

func TestInventoryRoundTrip(t *testing.T) {
	refs := []drift.ObjectRef{
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "api"},
		{Version: "v1", Kind: "Namespace", Name: "web"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "system:odd/name_x"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "a"},
	}
	data, err := encodeInventory(refs)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := []drift.ObjectRef{refs[2], refs[0], refs[3], refs[1], refs[0]}
	again, err := encodeInventory(shuffled)
	if err != nil {
		t.Fatal(err)
	}
	if data != again {
		t.Errorf("encoding depends on order or duplicates:\n%s\nvs\n%s", data, again)
	}
	got, _, err := decodeInventory(map[string]string{inventoryFormatKey: inventoryFormat, inventoryObjectsKey: data})
	if err != nil {
		t.Fatal(err)
	}
	if want := sortRefs(refs); !slices.Equal(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
	const want = `[
{"version":"v1","kind":"ConfigMap","namespace":"web","name":"a"},
{"version":"v1","kind":"Namespace","name":"web"},
{"group":"apps","version":"v1","kind":"Deployment","namespace":"web","name":"api"},
{"group":"rbac.authorization.k8s.io","version":"v1","kind":"ClusterRole","name":"system:odd/name_x"}
]
`
	if data != want {
		t.Errorf("encoded:\n%s\nwant:\n%s", data, want)
	}
}

func TestDecodeInventoryErrors(t *testing.T) {
	tests := []struct {
		name string
		data map[string]string
	}{
		{"no data", nil},
		{"unknown format", map[string]string{inventoryFormatKey: "v9", inventoryObjectsKey: "[]"}},
		{"no objects key", map[string]string{inventoryFormatKey: inventoryFormat}},
		{"not json", map[string]string{inventoryFormatKey: inventoryFormat, inventoryObjectsKey: "<html>bad gateway</html>"}},
		{"entry without name", map[string]string{inventoryFormatKey: inventoryFormat, inventoryObjectsKey: `[{"version":"v1","kind":"ConfigMap"}]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeInventory(tt.data)
			if !errors.Is(err, ErrInventory) {
				t.Fatalf("err = %v, want ErrInventory", err)
			}
			if IsRetryable(err) {
				t.Errorf("a corrupt inventory must be terminal")
			}
		})
	}
}

func TestDecodeEmptyInventory(t *testing.T) {
	got, _, err := decodeInventory(map[string]string{inventoryFormatKey: inventoryFormat, inventoryObjectsKey: "[\n]\n"})
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want empty, nil", got, err)
	}
}

func TestInventoryApplied(t *testing.T) {
	tests := []struct {
		name string
		inv  Inventory
		want bool
	}{
		{name: "missing", inv: Inventory{}, want: false},
		{name: "healthy revision", inv: Inventory{Found: true, Revision: "b"}, want: true},
		{name: "other revision", inv: Inventory{Found: true, Revision: "a"}, want: false},
		{name: "attempt of it failed", inv: Inventory{Found: true, Revision: "a", Attempted: "b"}, want: false},
		{name: "later attempt failed", inv: Inventory{Found: true, Revision: "b", Attempted: "c"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.inv.Applied("b"); got != tt.want {
				t.Errorf("Applied(b) = %v, want %v", got, tt.want)
			}
		})
	}
}
