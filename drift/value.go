package drift

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
)

// normalize returns a deep copy of a JSON-like value in the canonical form
// the diff works on and reports:
//
//   - objects are map[string]any, arrays []any;
//   - numbers are int64 when they are integral and fit, float64 otherwise,
//     whatever their Go type (int, int32, uint8, float64, json.Number, ...);
//   - object members whose value is null are dropped (null and absent are
//     the same to Kubernetes);
//   - strings, bools and nil stay as they are.
//
// Any other type (typed structs, maps and slices) goes through
// encoding/json first; a value that JSON cannot encode (a channel, a func)
// becomes nil, so the diff never fails on it.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, secretDigest:
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil {
				continue
			}
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case float64:
		return normalizeFloat(x)
	case float32:
		return normalizeFloat(float64(x))
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return normalizeUint(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return normalizeUint(x)
	case json.Number:
		return normalizeNumber(x)
	}
	return normalizeViaJSON(v)
}

func normalizeFloat(f float64) any {
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f)
	}
	return f
}

func normalizeUint(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return float64(u)
}

func normalizeNumber(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(string(n), 64); err == nil {
		return normalizeFloat(f)
	}
	return string(n)
}

// normalizeViaJSON handles types the switch does not know (typed structs,
// typed maps and slices) by a JSON round trip.
func normalizeViaJSON(v any) any {
	if rv := reflect.ValueOf(v); (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Map ||
		rv.Kind() == reflect.Slice || rv.Kind() == reflect.Interface) && rv.IsNil() {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil
	}
	return normalize(out)
}

// equal compares two normalized values.
func equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}
