package drift

import (
	"slices"
	"strconv"
)

// DiffFields compares two JSON-like documents (decoded JSON or
// unstructured.Unstructured content) and returns one FieldDiff per differing
// field, in document order: object members by name, array elements by
// index. It is pure: no I/O, and the inputs are not modified.
//
// Paths are RFC 6901 JSON pointers (~0 for "~", ~1 for "/"). The model:
//
//   - objects are compared member by member; a member present on one side
//     only is one FieldDiff at its path, carrying its whole value (nil on the
//     side where it is absent);
//   - arrays are compared element by element by index
//     (/spec/template/spec/containers/0/image); when the lengths differ, each
//     extra element is one FieldDiff at its index;
//   - anything else (scalars, or values of different types) is one FieldDiff
//     when the values differ;
//   - a member whose value is null counts as absent;
//   - numbers compare by value whatever their Go type, and the values in
//     the result are normalized: int64 for integral numbers, float64 for
//     others, map[string]any and []any for objects and arrays, always copies
//     of the inputs.
//
// Each ignore path (a JSON pointer) drops the field it names and everything
// under it; when a reported value is an object or array that contains an
// ignored field, the field is removed from the reported values (and the
// FieldDiff dropped if the values become equal). Ignore paths that do not
// parse, and the empty pointer, are skipped: use IgnoreRule.Validate to
// reject them earlier.
//
// When either document is a core Secret (kind Secret, apiVersion v1 or
// unset), DiffFields masks its values exactly as MaskSecret does, so no
// caller gets an unmasked diff of a Secret.
func DiffFields(live, desired map[string]any, ignore []string) []FieldDiff {
	if isSecretObject(live) || isSecretObject(desired) {
		return MaskSecret(live, desired, ignore)
	}
	d := differ{ignore: parsePointers(ignore)}
	d.walk(nil, normalizeDoc(live), normalizeDoc(desired))
	return d.result()
}

// normalizeDoc normalizes a document; a nil map is an absent document.
func normalizeDoc(m map[string]any) any {
	if m == nil {
		return nil
	}
	return normalize(m)
}

// diffEntry is a FieldDiff before it is formatted.
type diffEntry struct {
	path          []string
	live, desired any
	masked        bool
	// liveDigest is FieldDiff.LiveDigest.
	liveDigest string
}

// differ walks two normalized documents side by side.
type differ struct {
	ignore [][]string
	// expand, when set, makes the walk descend into an object present on
	// one side only, reporting its members one by one instead of the whole
	// object at once.
	expand func(path []string) bool
	out    []diffEntry
}

func (d *differ) walk(path []string, live, desired any) {
	if d.ignored(path) || (live == nil && desired == nil) {
		return
	}
	lm, lIsMap := live.(map[string]any)
	dm, dIsMap := desired.(map[string]any)
	if d.descend(path, live, desired, lIsMap, dIsMap) {
		d.walkMaps(path, lm, dm)
		return
	}
	ll, lIsList := live.([]any)
	dl, dIsList := desired.([]any)
	if lIsList && dIsList {
		d.walkLists(path, ll, dl)
		return
	}
	if !equal(live, desired) {
		d.emit(path, live, desired)
	}
}

// descend reports whether the walk goes into the members of two objects:
// always when both sides are objects, and for an object present on one side
// only when expand says so and the object is not empty (an empty object
// against an absent one is reported whole, or the difference would vanish).
func (d *differ) descend(path []string, live, desired any, lIsMap, dIsMap bool) bool {
	switch {
	case lIsMap && dIsMap:
		return true
	case d.expand == nil || !d.expand(path):
		return false
	case lIsMap && desired == nil:
		return len(live.(map[string]any)) > 0
	case dIsMap && live == nil:
		return len(desired.(map[string]any)) > 0
	}
	return false
}

func (d *differ) walkMaps(path []string, live, desired map[string]any) {
	keys := make([]string, 0, len(live)+len(desired))
	for k := range live {
		keys = append(keys, k)
	}
	for k := range desired {
		if _, ok := live[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.walk(child(path, k), live[k], desired[k])
	}
}

func (d *differ) walkLists(path []string, live, desired []any) {
	for i := range max(len(live), len(desired)) {
		p := child(path, strconv.Itoa(i))
		switch {
		case i < len(live) && i < len(desired):
			d.walk(p, live[i], desired[i])
		case i < len(live):
			d.emitUnlessIgnored(p, live[i], nil)
		default:
			d.emitUnlessIgnored(p, nil, desired[i])
		}
	}
}

func (d *differ) emitUnlessIgnored(path []string, live, desired any) {
	if !d.ignored(path) {
		d.emit(path, live, desired)
	}
}

// emit records a difference, first removing ignored fields that lie inside
// the reported values.
func (d *differ) emit(path []string, live, desired any) {
	stripped := false
	for _, ig := range d.ignore {
		if len(ig) > len(path) && hasPrefix(ig, path) {
			if !stripped {
				live, desired, stripped = normalize(live), normalize(desired), true
			}
			live, desired = strip(live, ig[len(path):]), strip(desired, ig[len(path):])
		}
	}
	if stripped {
		if live, desired = compact(live), compact(desired); equal(live, desired) {
			return
		}
	}
	d.out = append(d.out, diffEntry{path: path, live: live, desired: desired})
}

func (d *differ) ignored(path []string) bool {
	for _, ig := range d.ignore {
		if hasPrefix(path, ig) {
			return true
		}
	}
	return false
}

func (d *differ) result() []FieldDiff {
	if len(d.out) == 0 {
		return nil
	}
	out := make([]FieldDiff, len(d.out))
	for i, e := range d.out {
		out[i] = FieldDiff{Path: JoinPointer(e.path...), Live: e.live, Desired: e.desired, Masked: e.masked, LiveDigest: e.liveDigest}
	}
	return out
}

// child returns path extended by one token, never sharing the backing array
// of path.
func child(path []string, token string) []string {
	out := make([]string, len(path)+1)
	copy(out, path)
	out[len(path)] = token
	return out
}

// strip removes the field at tokens (relative to v) from the normalized
// value v, in place, and returns what is left: an object emptied by the
// removal becomes nil, so an object that only held ignored fields counts as
// absent. A removed list item leaves a tombstone, so the indexes of later
// ignore paths still mean what they say; compact drops the tombstones.
func strip(v any, tokens []string) any {
	if len(tokens) == 0 {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		c, ok := x[tokens[0]]
		if !ok {
			return v
		}
		if c = strip(c, tokens[1:]); c == nil {
			delete(x, tokens[0])
		} else {
			x[tokens[0]] = c
		}
		if len(x) == 0 {
			return nil
		}
		return x
	case []any:
		i, ok := arrayIndex(tokens[0], len(x))
		if !ok {
			return v
		}
		if _, gone := x[i].(tombstone); gone {
			return x
		}
		if x[i] = strip(x[i], tokens[1:]); x[i] == nil {
			x[i] = tombstone{}
		}
		return x
	}
	return v
}

// tombstone marks a list item strip removed.
type tombstone struct{}

// compact drops the tombstones strip left, in place; a list or object
// emptied that way becomes nil.
func compact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		removed := false
		for k, e := range x {
			if c := compact(e); c == nil {
				delete(x, k)
				removed = true
			} else {
				x[k] = c
			}
		}
		if removed && len(x) == 0 {
			return nil
		}
	case []any:
		out := x[:0]
		for _, e := range x {
			if _, gone := e.(tombstone); gone {
				continue
			}
			if c := compact(e); c != nil || e == nil {
				out = append(out, c)
			}
		}
		if len(out) == 0 && len(x) > 0 {
			return nil
		}
		return out
	case tombstone:
		return nil
	}
	return v
}

// arrayIndex parses an RFC 6901 array index ("0" or a decimal without
// leading zeros) below n.
func arrayIndex(token string, n int) (int, bool) {
	if token == "" || (len(token) > 1 && token[0] == '0') {
		return 0, false
	}
	for _, c := range token {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(token)
	if err != nil || i >= n {
		return 0, false
	}
	return i, true
}
