package drift

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// LastAppliedAnnotation is the annotation in which kubectl's client-side
// apply keeps the last applied object, a full copy of a Secret's data for a
// Secret.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// secretPaths are the paths of a Secret whose values are masked: data,
// stringData, and the last-applied annotation that copies them.
var secretPaths = [][]string{
	{"data"},
	{"stringData"},
	{"metadata", "annotations", LastAppliedAnnotation},
}

// secretDigest stands in for a Secret value while the diff is computed: two
// values are equal when their SHA-256 digests are. It never leaves this
// package.
type secretDigest [sha256.Size]byte

// IsSecret reports whether ref is a core Secret, whose values MaskSecret
// masks.
func IsSecret(ref ObjectRef) bool {
	return ref.Group == "" && ref.Kind == "Secret"
}

// isSecretObject reports whether a document is a core Secret. A document
// with kind Secret and no apiVersion counts too: masking by mistake is
// harmless, not masking is not.
func isSecretObject(m map[string]any) bool {
	if m == nil || m["kind"] != "Secret" {
		return false
	}
	v, ok := m["apiVersion"]
	return !ok || v == "v1" || v == ""
}

// MaskSecret is DiffFields for a Secret: it computes the field diff with
// every value under /data and /stringData, and the last-applied annotation
// (LastAppliedAnnotation), masked on both sides.
//
// Those values are replaced by their SHA-256 digests before the comparison,
// so they are compared without being carried along, and the result holds
// markers instead: MaskedChanged on both sides of a changed value,
// MaskedAdded on the desired side of a value only Git has, MaskedRemoved on
// the live side of a value only the cluster has (nil on the absent side, as
// for any FieldDiff), and MaskedValue for a masked value inside a larger
// reported value. Such FieldDiffs have Masked set. A /data or /stringData
// present on one side only is walked key by key, so each key is its own
// masked FieldDiff (/data/password); key names are not secret and are
// shown.
//
// Use it for documents that are Secrets but may lack kind and apiVersion;
// DiffFields calls it for documents that say they are Secrets.
func MaskSecret(live, desired map[string]any, ignore []string) []FieldDiff {
	d := differ{ignore: parsePointers(ignore), expand: secretAncestor}
	d.walk(nil, digestSecret(normalizeDoc(live)), digestSecret(normalizeDoc(desired)))
	for i := range d.out {
		maskEntry(&d.out[i])
	}
	return d.result()
}

// secretAncestor reports whether path is a masked path or one of its
// ancestors: an object there is walked member by member, so masked values
// end up at their own paths.
func secretAncestor(path []string) bool {
	for _, s := range secretPaths {
		if hasPrefix(s, path) {
			return true
		}
	}
	return false
}

// digestSecret replaces the masked values of a normalized Secret document,
// in place, by their digests: each member of data and stringData (or the
// whole field when it is not an object), and the last-applied annotation.
func digestSecret(doc any) any {
	m, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	for _, field := range []string{"data", "stringData"} {
		switch v := m[field].(type) {
		case nil:
		case map[string]any:
			for k, e := range v {
				v[k] = digest(e)
			}
		default:
			m[field] = digest(v)
		}
	}
	if meta, ok := m["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok {
			if v, ok := ann[LastAppliedAnnotation]; ok {
				ann[LastAppliedAnnotation] = digest(v)
			}
		}
	}
	return m
}

func digest(v any) secretDigest {
	raw, err := json.Marshal(v)
	if err != nil {
		// Normalized values always encode; keep a stable digest anyway.
		raw = nil
	}
	return sha256.Sum256(raw)
}

// maskEntry turns the digests of one difference into markers, keeping a
// keyed fingerprint of the live side.
func maskEntry(e *diffEntry) {
	fp := liveFingerprint(e.live) // before scrub rewrites the digests in place
	defer func() {
		if e.masked {
			e.liveDigest = fp
		}
	}()
	for _, s := range secretPaths {
		if hasPrefix(e.path, s) {
			e.live, e.desired = markers(e.live, e.desired)
			e.masked = true
			return
		}
	}
	var found bool
	e.live = scrub(e.live, &found)
	e.desired = scrub(e.desired, &found)
	e.masked = found
}

// fingerprintKey keys liveFingerprint: random per process, so a
// fingerprint cannot be matched against guessed values elsewhere.
var fingerprintKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}()

// liveFingerprint is the keyed digest of a live value that holds secret
// digests (FieldDiff.LiveDigest); "" for an absent value.
func liveFingerprint(live any) string {
	if live == nil {
		return ""
	}
	raw, err := json.Marshal(live)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, fingerprintKey)
	m.Write(raw)
	return hex.EncodeToString(m.Sum(nil))
}

// markers returns the two sides of a changed masked value.
func markers(live, desired any) (any, any) {
	switch {
	case live != nil && desired != nil:
		return MaskedChanged, MaskedChanged
	case live != nil:
		return MaskedRemoved, nil
	case desired != nil:
		return nil, MaskedAdded
	}
	return nil, nil
}

// scrub replaces every digest inside v by MaskedValue, in place, and
// records whether it found one.
func scrub(v any, found *bool) any {
	switch x := v.(type) {
	case secretDigest:
		*found = true
		return MaskedValue
	case map[string]any:
		for k, e := range x {
			x[k] = scrub(e, found)
		}
	case []any:
		for i, e := range x {
			x[i] = scrub(e, found)
		}
	}
	return v
}
