package drift

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestNormalize(t *testing.T) {
	type port struct {
		Port int    `json:"port"`
		Name string `json:"name,omitempty"`
	}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{name: "int", in: 3, want: int64(3)},
		{name: "int8", in: int8(-3), want: int64(-3)},
		{name: "int16", in: int16(3), want: int64(3)},
		{name: "int32", in: int32(3), want: int64(3)},
		{name: "uint", in: uint(3), want: int64(3)},
		{name: "uint8", in: uint8(3), want: int64(3)},
		{name: "uint16", in: uint16(3), want: int64(3)},
		{name: "uint32", in: uint32(3), want: int64(3)},
		{name: "uint64 in range", in: uint64(3), want: int64(3)},
		{name: "uint64 beyond int64", in: uint64(math.MaxUint64), want: float64(math.MaxUint64)},
		{name: "integral float64", in: 2.0, want: int64(2)},
		{name: "float32", in: float32(0.5), want: 0.5},
		{name: "huge float stays float", in: 1e300, want: 1e300},
		{name: "json.Number int", in: json.Number("42"), want: int64(42)},
		{name: "json.Number float", in: json.Number("4.5"), want: 4.5},
		{name: "json.Number integral float", in: json.Number("4.0"), want: int64(4)},
		{name: "json.Number garbage", in: json.Number("x"), want: "x"},
		{name: "string slice", in: []string{"a"}, want: []any{"a"}},
		{name: "string map", in: map[string]string{"a": "b"}, want: map[string]any{"a": "b"}},
		{name: "null members dropped, null items kept", in: map[string]any{"a": nil, "l": []any{nil, 1}},
			want: map[string]any{"l": []any{nil, int64(1)}}},
		{name: "struct via JSON", in: port{Port: 80}, want: map[string]any{"port": int64(80)}},
		{name: "typed slice via JSON", in: []port{{Port: 80, Name: "http"}},
			want: []any{map[string]any{"port": int64(80), "name": "http"}}},
		{name: "nil typed map", in: map[string]int(nil), want: nil},
		{name: "nil pointer", in: (*port)(nil), want: nil},
		{name: "not encodable", in: make(chan int), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalize(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("normalize(%#v) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{name: "scalars", a: "a", b: "a", want: true},
		{name: "int and string", a: int64(1), b: "1", want: false},
		{name: "map and list", a: map[string]any{}, b: []any{}, want: false},
		{name: "maps of different size", a: map[string]any{"a": "1"}, b: map[string]any{"a": "1", "b": "2"}, want: false},
		{name: "maps with different keys", a: map[string]any{"a": "1"}, b: map[string]any{"b": "1"}, want: false},
		{name: "lists of different length", a: []any{"a"}, b: []any{"a", "b"}, want: false},
		{name: "list and map", a: []any{}, b: map[string]any{}, want: false},
		{name: "nested equal", a: map[string]any{"l": []any{map[string]any{"x": int64(1)}}},
			b: map[string]any{"l": []any{map[string]any{"x": int64(1)}}}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := equal(tt.a, tt.b); got != tt.want {
				t.Fatalf("equal = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiffFieldsIgnoreInsideReportedLists(t *testing.T) {
	tests := []struct {
		name   string
		ignore []string
		want   []FieldDiff
	}{
		{name: "field of an item", ignore: []string{"/l/1/a"},
			want: []FieldDiff{{Path: "/l", Live: nil, Desired: []any{map[string]any{"a": "1"}, map[string]any{"b": "2"}}}}},
		{name: "whole item", ignore: []string{"/l/0"},
			want: []FieldDiff{{Path: "/l", Live: nil, Desired: []any{map[string]any{"a": "2", "b": "2"}}}}},
		{name: "every item", ignore: []string{"/l/0", "/l/1"}, want: nil},
		{name: "index that is not there", ignore: []string{"/l/7/a", "/l/x"},
			want: []FieldDiff{{Path: "/l", Live: nil,
				Desired: []any{map[string]any{"a": "1"}, map[string]any{"a": "2", "b": "2"}}}}},
		{name: "through a scalar", ignore: []string{"/l/0/a/deeper"},
			want: []FieldDiff{{Path: "/l", Live: nil,
				Desired: []any{map[string]any{"a": "1"}, map[string]any{"a": "2", "b": "2"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := map[string]any{"l": []any{map[string]any{"a": "1"}, map[string]any{"a": "2", "b": "2"}}}
			got := DiffFields(map[string]any{}, desired, tt.ignore)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DiffFields =\n%s\nwant\n%s", asJSON(t, got), asJSON(t, tt.want))
			}
		})
	}
}

func TestMaskSecretInsideLargerValue(t *testing.T) {
	// metadata of the wrong type live: the desired metadata is reported
	// whole, with the last-applied annotation masked inside it.
	live := map[string]any{"kind": "Secret", "metadata": "broken"}
	desired := map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "db",
		"annotations": map[string]any{LastAppliedAnnotation: `{"data":{"password":"` + b64(oldPassword) + `"}}`}}}
	got := DiffFields(live, desired, nil)
	want := []FieldDiff{{Path: "/metadata", Live: "broken", Desired: map[string]any{"name": "db",
		"annotations": map[string]any{LastAppliedAnnotation: MaskedValue}}, Masked: true}}
	if !reflect.DeepEqual(withoutDigests(t, got), want) {
		t.Fatalf("DiffFields =\n%s\nwant\n%s", asJSON(t, got), asJSON(t, want))
	}
	assertNoSecret(t, got, oldPassword)
}
