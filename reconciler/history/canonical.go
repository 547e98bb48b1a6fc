package history

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// canonicalVersion is the "v" member of the canonical encoding; it changes
// only with the encoding.
const canonicalVersion = 1

// Bounds of a time that fits the stored int64 nanoseconds (1677..2262).
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// Canonical returns the bytes whose SHA-256 is r's Hash: a JSON object with
// exactly these members in this (sorted) order and no whitespace:
//
//	{"actor":S,"data":D,"message":S,"object":S,"outcome":S,"prev_hash":S,
//	 "revision":S,"seq":N,"target":S,"time":S,"type":S,"v":1}
//
// S is a JSON string written as Python's json.dumps(s, ensure_ascii=False)
// writes it: '"' and '\' escaped with a backslash, \b \f \n \r \t as such,
// other characters below U+0020 as \u00xx (lowercase hex), everything else
// as its UTF-8 bytes. N is the decimal integer. time is Time in UTC as Go's
// RFC3339Nano (fraction without trailing zeros, none when whole, "Z"). D is
// the stored Data text (compact JSON, as Append stored it) or null.
func Canonical(r Record) []byte {
	return appendCanonical(make([]byte, 0, 200+len(r.Data)+len(r.Message)+len(r.Target)+len(r.Object)), r)
}

// appendCanonical appends r's canonical encoding to b.
func appendCanonical(b []byte, r Record) []byte {
	b = append(b, `{"actor":`...)
	b = appendString(b, r.Actor)
	b = append(b, `,"data":`...)
	if len(r.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Data...)
	}
	b = append(b, `,"message":`...)
	b = appendString(b, r.Message)
	b = append(b, `,"object":`...)
	b = appendString(b, r.Object)
	b = append(b, `,"outcome":`...)
	b = appendString(b, r.Outcome)
	b = append(b, `,"prev_hash":`...)
	b = appendString(b, r.PrevHash)
	b = append(b, `,"revision":`...)
	b = appendString(b, r.Revision)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"target":`...)
	b = appendString(b, r.Target)
	b = append(b, `,"time":`...)
	b = appendString(b, formatTime(r.Time))
	b = append(b, `,"type":`...)
	b = appendString(b, r.Type)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, canonicalVersion, 10)
	return append(b, '}')
}

// HashRecord returns the hex SHA-256 of r's canonical encoding.
func HashRecord(r Record) string {
	sum := sha256.Sum256(Canonical(r))
	return hex.EncodeToString(sum[:])
}

// formatTime is the canonical text of a record time.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// appendString appends s as a JSON string with the escapes of Canonical.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// normalize checks a record handed to Append and returns it as it will be
// stored: Time in UTC (now when zero), Data compacted (nil for null).
func normalize(r Record, now time.Time) (Record, error) {
	if !knownTypes[r.Type] {
		return r, fmt.Errorf("type %q: unknown record type: %w", r.Type, ErrInvalidRecord)
	}
	for _, f := range []struct{ name, value string }{
		{"target", r.Target}, {"object", r.Object}, {"revision", r.Revision},
		{"actor", r.Actor}, {"outcome", r.Outcome}, {"message", r.Message},
	} {
		if !utf8.ValidString(f.value) || strings.IndexByte(f.value, 0) >= 0 {
			return r, fmt.Errorf("%s: not UTF-8 text without NUL bytes: %w", f.name, ErrInvalidRecord)
		}
	}
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = r.Time.UTC()
	if r.Time.Before(minTime) || r.Time.After(maxTime) {
		return r, fmt.Errorf("time %s: outside %d..%d: %w", formatTime(r.Time), minTime.Year(), maxTime.Year(), ErrInvalidRecord)
	}
	data, err := compactData(r.Data)
	if err != nil {
		return r, err
	}
	r.Data = data
	return r, nil
}

// compactData returns data without insignificant whitespace, nil for empty
// or null data. It refuses text that is not valid JSON in UTF-8.
func compactData(data json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("data: not UTF-8: %w", ErrInvalidRecord)
	}
	out, ok := appendCompact(make([]byte, 0, len(data)), data)
	if !ok {
		var buf bytes.Buffer
		err := json.Compact(&buf, data) // for its error
		return nil, fmt.Errorf("data: not valid JSON: %v: %w", err, ErrInvalidRecord)
	}
	if string(out) == "null" {
		return nil, nil
	}
	return json.RawMessage(out), nil
}

// link assigns Seq, PrevHash and Hash to recs, continuing the chain after
// the record (headSeq, headHash).
func link(recs []Record, headSeq int64, headHash string) {
	for i := range recs {
		headSeq++
		recs[i].Seq = headSeq
		recs[i].PrevHash = headHash
		recs[i].Hash = HashRecord(recs[i])
		headHash = recs[i].Hash
	}
}
