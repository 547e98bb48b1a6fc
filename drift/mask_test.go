package drift

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	oldPassword = "hunter2-old"
	newPassword = "correct-horse"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// secret returns a Secret document with data and optional annotations.
func secret(data map[string]any, annotations map[string]any) map[string]any {
	meta := map[string]any{"name": "db", "namespace": "shop", "labels": map[string]any{"app": "db"}}
	if annotations != nil {
		meta["annotations"] = annotations
	}
	s := map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta}
	if data != nil {
		s["data"] = data
	}
	return s
}

func TestMaskSecret(t *testing.T) {
	lastApplied := func(pw string) map[string]any {
		return map[string]any{LastAppliedAnnotation: `{"data":{"password":"` + b64(pw) + `"}}`}
	}
	tests := []struct {
		name          string
		live, desired map[string]any
		ignore        []string
		want          []FieldDiff
	}{
		{
			name:    "unchanged",
			live:    secret(map[string]any{"password": b64(oldPassword)}, nil),
			desired: secret(map[string]any{"password": b64(oldPassword)}, nil),
		},
		{
			name:    "changed value",
			live:    secret(map[string]any{"password": b64(newPassword)}, nil),
			desired: secret(map[string]any{"password": b64(oldPassword)}, nil),
			want:    []FieldDiff{{Path: "/data/password", Live: MaskedChanged, Desired: MaskedChanged, Masked: true}},
		},
		{
			name:    "key only in Git",
			live:    secret(map[string]any{"user": b64("app")}, nil),
			desired: secret(map[string]any{"user": b64("app"), "password": b64(oldPassword)}, nil),
			want:    []FieldDiff{{Path: "/data/password", Live: nil, Desired: MaskedAdded, Masked: true}},
		},
		{
			name:    "key only live",
			live:    secret(map[string]any{"user": b64("app"), "token": b64(newPassword)}, nil),
			desired: secret(map[string]any{"user": b64("app")}, nil),
			want:    []FieldDiff{{Path: "/data/token", Live: MaskedRemoved, Desired: nil, Masked: true}},
		},
		{
			name:    "data absent live: one masked diff per key",
			live:    secret(nil, nil),
			desired: secret(map[string]any{"password": b64(oldPassword), "user": b64("app")}, nil),
			want: []FieldDiff{
				{Path: "/data/password", Live: nil, Desired: MaskedAdded, Masked: true},
				{Path: "/data/user", Live: nil, Desired: MaskedAdded, Masked: true},
			},
		},
		{
			name:    "stringData",
			live:    map[string]any{"kind": "Secret", "stringData": map[string]any{"password": newPassword}},
			desired: map[string]any{"kind": "Secret", "stringData": map[string]any{"password": oldPassword}},
			want:    []FieldDiff{{Path: "/stringData/password", Live: MaskedChanged, Desired: MaskedChanged, Masked: true}},
		},
		{
			name: "data of the wrong type is masked whole",
			live: secret(map[string]any{"password": b64(newPassword)}, nil),
			desired: map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": b64(oldPassword),
				"metadata": map[string]any{"name": "db", "namespace": "shop", "labels": map[string]any{"app": "db"}}},
			want: []FieldDiff{{Path: "/data", Live: MaskedChanged, Desired: MaskedChanged, Masked: true}},
		},
		{
			name:    "last-applied annotation is masked",
			live:    secret(map[string]any{"password": b64(newPassword)}, lastApplied(newPassword)),
			desired: secret(map[string]any{"password": b64(newPassword)}, lastApplied(oldPassword)),
			want: []FieldDiff{{Path: "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
				Live: MaskedChanged, Desired: MaskedChanged, Masked: true}},
		},
		{
			name:    "annotations absent live: last-applied masked at its own path",
			live:    secret(map[string]any{"password": b64(newPassword)}, nil),
			desired: secret(map[string]any{"password": b64(newPassword)}, map[string]any{"a": "1", LastAppliedAnnotation: "{}"}),
			want: []FieldDiff{
				{Path: "/metadata/annotations/a", Live: nil, Desired: "1"},
				{Path: "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
					Live: nil, Desired: MaskedAdded, Masked: true},
			},
		},
		{
			name: "fields outside data are shown",
			live: secret(map[string]any{"password": b64(newPassword)}, nil),
			desired: func() map[string]any {
				s := secret(map[string]any{"password": b64(oldPassword)}, nil)
				s["type"] = "kubernetes.io/basic-auth"
				return s
			}(),
			want: []FieldDiff{
				{Path: "/data/password", Live: MaskedChanged, Desired: MaskedChanged, Masked: true},
				{Path: "/type", Live: "Opaque", Desired: "kubernetes.io/basic-auth"},
			},
		},
		{
			name:    "ignored key",
			live:    secret(map[string]any{"password": b64(newPassword)}, nil),
			desired: secret(map[string]any{"password": b64(oldPassword)}, nil),
			ignore:  []string{"/data/password"},
		},
		{
			name:    "whole Secret absent live",
			live:    nil,
			desired: map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "db"}, "data": map[string]any{"password": b64(oldPassword)}},
			want: []FieldDiff{
				{Path: "/data/password", Live: nil, Desired: MaskedAdded, Masked: true},
				{Path: "/kind", Live: nil, Desired: "Secret"},
				{Path: "/metadata/name", Live: nil, Desired: "db"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, fn := range []struct {
				name string
				diff func(live, desired map[string]any, ignore []string) []FieldDiff
			}{{"DiffFields", DiffFields}, {"MaskSecret", MaskSecret}} {
				got := fn.diff(tt.live, tt.desired, tt.ignore)
				if !reflect.DeepEqual(withoutDigests(t, got), tt.want) {
					t.Fatalf("%s =\n%s\nwant\n%s", fn.name, asJSON(t, got), asJSON(t, tt.want))
				}
				assertNoSecret(t, got, oldPassword, newPassword)
			}
		})
	}
}

// withoutDigests checks that every masked field with a live value has a
// live digest, and returns the fields without them, to compare.
func withoutDigests(t *testing.T, fields []FieldDiff) []FieldDiff {
	t.Helper()
	out := slices.Clone(fields)
	for i, f := range out {
		if f.Masked && f.Live != nil && f.LiveDigest == "" {
			t.Errorf("%s: masked with a live value, but no live digest", f.Path)
		}
		out[i].LiveDigest = ""
	}
	return out
}

func TestMaskSecretWithoutKind(t *testing.T) {
	// A partial document that does not say it is a Secret: DiffFields
	// cannot know, MaskSecret masks it anyway.
	live := map[string]any{"data": map[string]any{"password": b64(newPassword)}}
	desired := map[string]any{"data": map[string]any{"password": b64(oldPassword)}}
	got := MaskSecret(live, desired, nil)
	want := []FieldDiff{{Path: "/data/password", Live: MaskedChanged, Desired: MaskedChanged, Masked: true}}
	if !reflect.DeepEqual(withoutDigests(t, got), want) {
		t.Fatalf("MaskSecret = %s", asJSON(t, got))
	}
	assertNoSecret(t, got, oldPassword, newPassword)
}

func TestDiffFieldsDoesNotMaskConfigMaps(t *testing.T) {
	live := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"key": "a"}}
	desired := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"key": "b"}}
	got := DiffFields(live, desired, nil)
	want := []FieldDiff{{Path: "/data/key", Live: "a", Desired: "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DiffFields = %s", asJSON(t, got))
	}
}

func TestIsSecret(t *testing.T) {
	tests := []struct {
		name string
		ref  ObjectRef
		want bool
	}{
		{name: "core Secret", ref: ObjectRef{Version: "v1", Kind: "Secret"}, want: true},
		{name: "other group", ref: ObjectRef{Group: "bitnami.com", Version: "v1alpha1", Kind: "Secret"}, want: false},
		{name: "ConfigMap", ref: ObjectRef{Version: "v1", Kind: "ConfigMap"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsSecret(tt.ref); got != tt.want {
				t.Fatalf("IsSecret = %v, want %v", got, tt.want)
			}
		})
	}
}

// assertNoSecret fails when a secret value, or its base64, appears anywhere
// in the JSON encoding of v.
func assertNoSecret(t *testing.T, v any, secrets ...string) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	for _, s := range secrets {
		for _, form := range []string{s, b64(s)} {
			if strings.Contains(string(raw), form) {
				t.Fatalf("secret %q leaked into %s", form, raw)
			}
		}
	}
}
