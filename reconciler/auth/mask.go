package auth

import (
	"bytes"
	"encoding/json"

	"github.com/trueup-dev/trueup/drift"
)

// MaskFields returns a copy of fields with every value masked, as Secret
// values are: for a user whose role binding says maskValues. Paths stay.
func MaskFields(fields []drift.FieldDiff) []drift.FieldDiff {
	if fields == nil {
		return nil
	}
	out := make([]drift.FieldDiff, len(fields))
	for i, f := range fields {
		f.Desired, f.Live = maskPair(f.Desired != nil, f.Live != nil)
		f.Masked, f.LiveDigest = true, ""
		out[i] = f
	}
	return out
}

// maskPair is the markers of a masked value present in Git and/or live,
// as drift.MaskSecret writes them.
func maskPair(git, live bool) (any, any) {
	switch {
	case git && live:
		return drift.MaskedChanged, drift.MaskedChanged
	case git:
		return drift.MaskedAdded, nil
	case live:
		return nil, drift.MaskedRemoved
	}
	return nil, nil
}

// MaskJSON masks every field diff inside a JSON document (an outcome, an
// episode, a history record's data): every object with a "path" and a
// "git", "desired" or "live" member has those values replaced by masked
// markers. A document that is not JSON is returned as null: never
// unmasked.
func MaskJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return json.RawMessage("null")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(maskValue(v)); err != nil {
		return json.RawMessage("null")
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

// maskValue masks the field diffs in v, in place.
func maskValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if isFieldDiff(x) {
			maskFieldDiff(x)
			return x
		}
		for k, e := range x {
			x[k] = maskValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = maskValue(e)
		}
	}
	return v
}

func isFieldDiff(m map[string]any) bool {
	if _, ok := m["path"].(string); !ok {
		return false
	}
	for _, k := range []string{"git", "desired", "live"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

func maskFieldDiff(m map[string]any) {
	git := m["git"] != nil || m["desired"] != nil
	git2, live := maskPair(git, m["live"] != nil)
	delete(m, "desired")
	m["git"], m["live"], m["masked"] = git2, live, true
}
