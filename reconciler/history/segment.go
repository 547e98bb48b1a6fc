package history

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// segment is one Append batch as stored: records first..last of the chain,
// their time range, the hash of the last one and the body, one line per
// record: its Hash, a space, its canonical encoding (the hashed bytes) and
// a newline.
type segment struct {
	first, last      int64
	minTime, maxTime int64 // Unix nanoseconds
	// runMax is the greatest maxTime of this segment and every one before
	// it: its own until the writer sets it from the head's.
	runMax   int64
	headHash string
	body     []byte
	postings []int64 // distinct keys of the filterable values, sorted
}

// hashLen is the length of a hex SHA-256, the first field of a body line.
const hashLen = 64

// linkSegment assigns Seq, PrevHash and Hash to recs (at least one),
// continuing the chain after (headSeq, headHash), and builds their segment.
// The canonical encoding is written once, into the body, and hashed there.
func linkSegment(recs []Record, headSeq int64, headHash string) segment {
	seg := segment{first: headSeq + 1}
	size := 0
	for _, r := range recs {
		size += 300 + hashLen + len(r.Data) + len(r.Message) + len(r.Target) + len(r.Object) + len(r.Actor)
	}
	body := make([]byte, 0, size)
	var sum [sha256.Size]byte
	for i := range recs {
		headSeq++
		recs[i].Seq, recs[i].PrevHash = headSeq, headHash
		start := len(body)
		body = append(body, make([]byte, hashLen+1)...)
		body = appendCanonical(body, recs[i])
		sum = sha256.Sum256(body[start+hashLen+1:])
		hex.Encode(body[start:start+hashLen], sum[:])
		body[start+hashLen] = ' '
		body = append(body, '\n')
		headHash = string(body[start : start+hashLen])
		recs[i].Hash = headHash
	}
	seg.last, seg.headHash, seg.body = headSeq, headHash, body
	seg.minTime, seg.maxTime = timeRange(recs)
	seg.runMax = seg.maxTime
	seg.postings = postingKeys(recs)
	return seg
}

// timeRange is the least and greatest Time of recs in Unix nanoseconds.
func timeRange(recs []Record) (lo, hi int64) {
	lo, hi = recs[0].Time.UnixNano(), recs[0].Time.UnixNano()
	for _, r := range recs[1:] {
		ns := r.Time.UnixNano()
		lo, hi = min(lo, ns), max(hi, ns)
	}
	return lo, hi
}

// errLine is the error of a body line that is not a record.
var errLine = errors.New("not a stored record")

// splitLines returns the lines of a body without their newlines.
func splitLines(body string) []string {
	body = strings.TrimSuffix(body, "\n")
	if body == "" {
		return nil
	}
	return strings.Split(body, "\n")
}

// parseLine decodes one body line: the record (its strings share the
// line's memory) and its canonical bytes as stored. It reads what Canonical
// writes and a little more (any JSON string escape); verifyLine checks that
// the stored bytes are canonical.
func parseLine(line string) (Record, string, error) {
	if len(line) < hashLen+1 || line[hashLen] != ' ' {
		return Record{}, "", fmt.Errorf("no hash: %w", errLine)
	}
	canon := line[hashLen+1:]
	p := lineParser{s: canon}
	r := Record{Hash: line[:hashLen]}
	var timeText string
	p.str(`{"actor":`, &r.Actor)
	p.data(&r.Data)
	p.str(`,"message":`, &r.Message)
	p.str(`,"object":`, &r.Object)
	p.str(`,"outcome":`, &r.Outcome)
	p.str(`,"prev_hash":`, &r.PrevHash)
	p.str(`,"revision":`, &r.Revision)
	p.int(`,"seq":`, &r.Seq)
	p.str(`,"target":`, &r.Target)
	p.str(`,"time":`, &timeText)
	p.str(`,"type":`, &r.Type)
	p.literal(`,"v":1}`)
	if p.err == nil && p.i != len(p.s) {
		p.fail("text after the record")
	}
	if p.err != nil {
		return Record{}, "", p.err
	}
	t, err := time.Parse(time.RFC3339Nano, timeText)
	if err != nil {
		return Record{}, "", fmt.Errorf("time %q: %w", timeText, errLine)
	}
	r.Time = t.UTC()
	return r, canon, nil
}

// lineParser reads the members of a canonical encoding in order; the
// first error stops it.
type lineParser struct {
	s   string
	i   int
	err error
}

func (p *lineParser) fail(what string) {
	if p.err == nil {
		p.err = fmt.Errorf("%s at byte %d: %w", what, p.i, errLine)
	}
}

// literal consumes lit.
func (p *lineParser) literal(lit string) {
	if p.err != nil {
		return
	}
	if !strings.HasPrefix(p.s[p.i:], lit) {
		p.fail("expected " + lit)
		return
	}
	p.i += len(lit)
}

// str consumes name and a JSON string into v.
func (p *lineParser) str(name string, v *string) {
	p.literal(name)
	if p.err != nil {
		return
	}
	s, n, ok := readString(p.s[p.i:])
	if !ok {
		p.fail("bad string")
		return
	}
	*v, p.i = s, p.i+n
}

// int consumes name and a decimal integer into v.
func (p *lineParser) int(name string, v *int64) {
	p.literal(name)
	if p.err != nil {
		return
	}
	j := p.i
	if j < len(p.s) && p.s[j] == '-' {
		j++
	}
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
	if err != nil {
		p.fail("bad integer")
		return
	}
	*v, p.i = n, j
}

// data consumes the data member: null, or a JSON value kept as its text.
// It finds the value's end by its brackets and strings; verifyLine checks
// that it is JSON.
func (p *lineParser) data(v *json.RawMessage) {
	p.literal(`,"data":`)
	if p.err != nil {
		return
	}
	start, depth := p.i, 0
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			_, n, ok := readString(p.s[p.i:])
			if !ok {
				p.fail("bad string in data")
				return
			}
			p.i += n
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 0 {
				if p.i == start {
					p.fail("bad data")
				} else if text := p.s[start:p.i]; text != "null" {
					*v = []byte(text)
				}
				return
			}
		}
		if depth < 0 {
			p.fail("bad data")
			return
		}
		p.i++
	}
	p.fail("data without end")
}

// readString reads the JSON string at the start of s and returns its value,
// how many bytes it took and whether it is a valid JSON string. A string
// without escapes is returned as a substring of s.
func readString(s string) (string, int, bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", 0, false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], i + 1, true
		case c == '\\':
			return unescape(s, i)
		case c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// unescape reads the rest of the JSON string s from its first backslash at i.
func unescape(s string, i int) (string, int, bool) {
	b := make([]byte, 0, len(s))
	b = append(b, s[1:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return string(b), i + 1, true
		case c < 0x20:
			return "", 0, false
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", 0, false
		}
		esc := s[i+1]
		i += 2
		switch esc {
		case '"', '\\', '/':
			b = append(b, esc)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, n, ok := readEscapedRune(s[i-2:])
			if !ok {
				return "", 0, false
			}
			b = append(b, string(r)...)
			i += n - 2
		default:
			return "", 0, false
		}
	}
	return "", 0, false
}

// readEscapedRune reads \uXXXX (or a surrogate pair of them) at the start
// of s.
func readEscapedRune(s string) (rune, int, bool) {
	hex4 := func(s string) (rune, bool) {
		if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[2:6], 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex4(s)
	if !ok {
		return 0, 0, false
	}
	if r < 0xd800 || r >= 0xdc00 {
		if r >= 0xdc00 && r < 0xe000 {
			return '\uFFFD', 6, true
		}
		return r, 6, true
	}
	lo, ok := hex4(s[6:])
	if !ok || lo < 0xdc00 || lo >= 0xe000 {
		return '\uFFFD', 6, true
	}
	return (r-0xd800)<<10 | (lo - 0xdc00) + 0x10000, 12, true
}

// detach returns r with its own copies of the text it shares with a body,
// so that a returned record does not keep a whole segment in memory.
func detach(r Record) Record {
	for _, f := range []*string{&r.Type, &r.Target, &r.Object, &r.Revision, &r.Actor,
		&r.Outcome, &r.Message, &r.PrevHash, &r.Hash} {
		*f = strings.Clone(*f)
	}
	return r // Data is a copy already
}

// storedSegment is the segment of records that carry their Seq and Hash
// already (as migration 2 reads them from version-1 rows).
func storedSegment(recs []Record) segment {
	var body []byte
	for _, r := range recs {
		body = append(body, r.Hash...)
		body = append(body, ' ')
		body = appendCanonical(body, r)
		body = append(body, '\n')
	}
	last := recs[len(recs)-1]
	seg := segment{first: recs[0].Seq, last: last.Seq, headHash: last.Hash, body: body, postings: postingKeys(recs)}
	seg.minTime, seg.maxTime = timeRange(recs)
	seg.runMax = seg.maxTime
	return seg
}
