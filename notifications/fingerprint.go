package notifications

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
)

// Fingerprint identifies what an event says about its episode: the changed
// paths with their (masked) values, masked values' digests and actors, the event's actor, message,
// policy and pull request (a pull request opened for the episode is news). Two events of an open episode with the same fingerprint say
// the same thing, so the second is not sent again. Field order does not
// matter; kind, severity, time and revision do not count.
func Fingerprint(ev Event) string {
	fields := slices.Clone(ev.Fields)
	slices.SortStableFunc(fields, func(a, b Field) int { return cmp.Compare(a.Path, b.Path) })
	h := sha256.New()
	writeString(h, "trueup.fingerprint.v1")
	writeString(h, ev.Actor)
	writeString(h, ev.Message)
	writeString(h, ev.Policy)
	writeString(h, ev.PRURL)
	for _, f := range fields {
		masked := "plain"
		if f.Masked {
			masked = "masked"
		}
		writeString(h, f.Path)
		writeString(h, FormatValue(f.Live))
		writeString(h, FormatValue(f.Desired))
		writeString(h, masked)
		writeString(h, f.Actor)
		if f.LiveDigest != "" { // a new masked value is news; "" keeps older fingerprints
			writeString(h, "digest:"+f.LiveDigest)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// writeString writes s length-prefixed, so no two field lists hash alike.
func writeString(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
