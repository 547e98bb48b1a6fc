package history

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendCompact(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"object", "{ \"a\" : [1, 2.50e+3 ,\"x y\"],\n\t\"b\":{} }", `{"a":[1,2.50e+3,"x y"],"b":{}}`, true},
		{"escapes kept", ` "\u00e9\n\"\\\/" `, `"\u00e9\n\"\\\/"`, true},
		{"literals", `[true,false,null]`, `[true,false,null]`, true},
		{"deep", strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), true},
		{"too deep", strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1), "", false},
		{"leading zero", `01`, "", false},
		{"bare minus", `-`, "", false},
		{"trailing comma", `[1,]`, "", false},
		{"two values", `1 2`, "", false},
		{"control character", "\"a\tb\"", "", false},
		{"bad escape", `"\x"`, "", false},
		{"short unicode escape", `"\u12"`, "", false},
		{"key not a string", `{1:2}`, "", false},
		{"empty", ``, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := appendCompact(nil, []byte(tt.in))
			if ok != tt.ok || ok && string(got) != tt.want {
				t.Errorf("appendCompact(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzAppendCompact: appendCompact accepts what json.Compact accepts and
// writes what it writes.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5, "x"]}`, ` [ ] `, `"\ud83d\ude00"`, `-0.1E-7`, `{"a":{"b":[null,true]}}`, `[1,]`, `01`, "\"\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want bytes.Buffer
		wantErr := json.Compact(&want, in)
		got, ok := appendCompact(nil, in)
		if ok != (wantErr == nil) || ok && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendCompact(%q) = %q, %v; json.Compact: %q, %v", in, got, ok, want.Bytes(), wantErr)
		}
	})
}
