package helmrepo

import (
	"errors"
	"testing"
)

func TestResolveVersion(t *testing.T) {
	available := []string{"1.0.0", "1.2.0", "1.10.1", "v2.0.0", "2.1.0-rc.1", "latest", "3.0.0+build.1"}
	tests := []struct {
		name, want, got string
		err             error
	}{
		{name: "exact", want: "1.2.0", got: "1.2.0"},
		{name: "exact non-semver string", want: "latest", got: "latest"},
		{name: "exact with a v prefix in the index", want: "2.0.0", got: "v2.0.0"},
		{name: "caret", want: "^1", got: "1.10.1"},
		{name: "tilde", want: "~1.2", got: "1.2.0"},
		{name: "and range", want: ">=1.1 <2", got: "1.10.1"},
		{name: "or range", want: "^1 || ^2", got: "v2.0.0"},
		{name: "empty is the highest stable", want: "", got: "3.0.0+build.1"},
		{name: "prerelease only when asked", want: ">=2.1.0-0 <2.2", got: "2.1.0-rc.1"},
		{name: "no match", want: "^4", err: ErrNotFound},
		{name: "garbage", want: "not a version !!", err: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveVersion(tt.want, available)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.got {
				t.Fatalf("resolveVersion(%q) = %q, %v; want %q", tt.want, got, err, tt.got)
			}
		})
	}
}
