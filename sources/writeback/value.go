package writeback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/trueup-dev/trueup/drift"
)

// normalizeLive turns a live value into the JSON-like form the editor
// writes: map[string]any, []any, string, bool, int64, float64 or nil.
func normalizeLive(v any) (any, error) {
	switch v.(type) {
	case nil, string, bool, int64:
		return v, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value cannot be written as YAML: %w", ErrPath)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("value cannot be written as YAML: %w", ErrPath)
	}
	return canon(out), nil
}

// canon puts a decoded value (yaml.v3, goyaml.v2 or JSON) in one form, so
// values read by different decoders compare equal: string keys, int64 for
// integral numbers that fit, float64 for the others.
func canon(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canon(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(canon(k))] = canon(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canon(e)
		}
		return out
	case int:
		return int64(x)
	case int64:
		return x
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case float64:
		return canonFloat(x)
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return canonFloat(f)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case nil, string, bool:
		return x
	}
	return fmt.Sprint(v)
}

func canonFloat(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return int64(f)
	}
	return f
}

// applyValue returns a copy of doc with v set at tokens (or the value
// there removed), the way the editor sets it: missing parents become
// mappings, the index past the end of a sequence appends.
func applyValue(doc any, tokens []string, v any, remove bool) any {
	if len(tokens) == 0 {
		if remove {
			return nil
		}
		return v
	}
	tok, rest := tokens[0], tokens[1:]
	switch c := doc.(type) {
	case map[string]any:
		out := make(map[string]any, len(c)+1)
		for k, e := range c {
			out[k] = e
		}
		old, ok := c[tok]
		switch {
		case remove && len(rest) == 0:
			delete(out, tok)
		case remove && !ok:
		default:
			out[tok] = applyValue(old, rest, v, remove)
		}
		return out
	case []any:
		i, err := seqIndex(tok, len(c))
		if err != nil {
			return c
		}
		out := append([]any(nil), c...)
		switch {
		case remove && len(rest) == 0 && i < len(c):
			return append(out[:i], out[i+1:]...)
		case i == len(c):
			if remove {
				return out
			}
			return append(out, applyValue(nil, rest, v, remove))
		}
		out[i] = applyValue(c[i], rest, v, remove)
		return out
	}
	if remove {
		return doc
	}
	if tok == "-" {
		return []any{applyValue(nil, rest, v, remove)}
	}
	return map[string]any{tok: applyValue(nil, rest, v, remove)}
}

// masked reports whether v holds one of drift's masked markers anywhere: a
// masked value stands in for a Secret value and must never be written.
func masked(v any) bool {
	switch x := v.(type) {
	case string:
		return x == drift.MaskedValue || x == drift.MaskedChanged || x == drift.MaskedAdded || x == drift.MaskedRemoved
	case map[string]any:
		for _, e := range x {
			if masked(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if masked(e) {
				return true
			}
		}
	}
	return false
}

// pointer formats tokens as a JSON pointer.
func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	return drift.JoinPointer(tokens...)
}
