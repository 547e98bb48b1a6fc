package drift

import (
	"slices"
	"testing"
)

func TestSplitPointer(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "whole document", in: "", want: nil},
		{name: "root member with empty name", in: "/", want: []string{""}},
		{name: "nested", in: "/spec/replicas", want: []string{"spec", "replicas"}},
		{name: "slash escaped", in: "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
			want: []string{"metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"}},
		{name: "tilde escaped", in: "/a~0b", want: []string{"a~b"}},
		{name: "escape order ~01 is ~1 literally", in: "/~01", want: []string{"~1"}},
		{name: "index", in: "/spec/containers/0/image", want: []string{"spec", "containers", "0", "image"}},
		{name: "no leading slash", in: "spec/replicas", wantErr: true},
		{name: "dangling tilde", in: "/a~", wantErr: true},
		{name: "bad escape", in: "/a~2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitPointer(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SplitPointer(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("SplitPointer(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !tt.wantErr && JoinPointer(got...) != tt.in {
				t.Fatalf("JoinPointer(%q) = %q, want %q", got, JoinPointer(got...), tt.in)
			}
		})
	}
}

func TestArrayIndex(t *testing.T) {
	tests := []struct {
		name  string
		token string
		n     int
		want  int
		ok    bool
	}{
		{name: "zero", token: "0", n: 1, want: 0, ok: true},
		{name: "in range", token: "12", n: 13, want: 12, ok: true},
		{name: "out of range", token: "1", n: 1},
		{name: "leading zero", token: "01", n: 5},
		{name: "dash (append)", token: "-", n: 5},
		{name: "negative", token: "-1", n: 5},
		{name: "not a number", token: "name", n: 5},
		{name: "empty", token: "", n: 5},
		{name: "overflow", token: "99999999999999999999999", n: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := arrayIndex(tt.token, tt.n)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("arrayIndex(%q, %d) = %d, %v; want %d, %v", tt.token, tt.n, got, ok, tt.want, tt.ok)
			}
		})
	}
}
