package history

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestSegmentBodyRoundTrips(t *testing.T) {
	in := []Record{goldenRecord, {Type: TypeReconcile, Time: t0}, {Type: TypeApply, Target: "web", Data: json.RawMessage(`"\ud83d\ude00 \u0000"`), Time: t0}}
	for i := range in {
		var err error
		if in[i], err = normalize(in[i], t0); err != nil {
			t.Fatal(err)
		}
	}
	seg := linkSegment(in, 41, strings.Repeat("ab", 32))
	lines := splitLines(string(seg.body))
	if len(lines) != len(in) || seg.first != 42 || seg.last != 44 || seg.headHash != in[2].Hash {
		t.Fatalf("segment %d..%d head %s with %d lines, want 42..44 head %s with 3", seg.first, seg.last, seg.headHash, len(lines), in[2].Hash)
	}
	for i, line := range lines {
		r, canon, err := parseLine(line)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if !reflect.DeepEqual(r, in[i]) || canon != string(Canonical(in[i])) || r.Hash != HashRecord(r) {
			t.Errorf("line %d = %+v, want %+v", i, r, in[i])
		}
	}
	if keys, ok := parseKeys(formatKeys(seg.postings)); !ok || !reflect.DeepEqual(keys, seg.postings) {
		t.Errorf("posting keys %v came back as %v", seg.postings, keys)
	}
}

func TestPostingKeyIsKeyOfColumnAndValue(t *testing.T) {
	for _, v := range []string{"", "web", "Deployment.apps/prod/web", "é\x00x"} {
		if got, want := postingKey(colObject, v), keyOf(colObject+"\x00"+v); got != want {
			t.Errorf("postingKey(object, %q) = %d, want %d", v, got, want)
		}
	}
	if keyOf("a") != -5808556873153909620 { // FNV-1a 64 of "a": 0xaf63dc4c8601ec8c
		t.Errorf("keyOf changed: stored postings carry it")
	}
}

func TestParseLineRefusesWhatIsNoRecord(t *testing.T) {
	good := linkSegment([]Record{{Type: TypeApply, Time: t0, Data: json.RawMessage(`{"a":[1,{"b":"}"}]}`)}}, 0, "")
	line := strings.TrimSuffix(string(good.body), "\n")
	if _, _, err := parseLine(line); err != nil {
		t.Fatalf("good line: %v", err)
	}
	for name, bad := range map[string]string{
		"empty":            "",
		"no hash":          line[hashLen+1:],
		"cut":              line[:len(line)-3],
		"text after":       line + " ",
		"member renamed":   strings.Replace(line, `"actor"`, `"aktor"`, 1),
		"data without end": strings.Replace(line, `]}`, `]`, 1),
		"bad escape":       strings.Replace(line, `"outcome":""`, `"outcome":"\x"`, 1),
		"bad time":         strings.Replace(line, `"time":"2026`, `"time":"x026`, 1),
		"seq not a number": strings.Replace(line, `"seq":1`, `"seq":x`, 1),
	} {
		if _, _, err := parseLine(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// FuzzParseLine: a body line of any valid record reads back as the
// record, and any text at all is refused or read without a panic.
func FuzzParseLine(f *testing.F) {
	f.Add("msg", "web", `{"a":1}`, int64(1), "")
	f.Add("\x00\x1f\"\\\u2028\u2029<>&", "ünïcødé", `[1, "x" ,null, {"k":"]}"}]`, int64(1<<40), `0 {"actor":"\u00e9\ud800"}`)
	f.Add("", "", "", int64(-3), "")
	f.Fuzz(func(t *testing.T, msg, target, data string, seq int64, raw string) {
		_, _, _ = parseLine(raw)
		r, err := normalize(Record{Type: TypeManual, Message: msg, Target: target, Data: json.RawMessage(data), Time: t0}, t0)
		if err != nil {
			return
		}
		seg := linkSegment([]Record{r}, seq-1, "")
		got, canon, err := parseLine(strings.TrimSuffix(string(seg.body), "\n"))
		r.Seq, r.Hash = seq, seg.headHash
		if err != nil || !reflect.DeepEqual(got, r) || canon != string(Canonical(r)) {
			t.Fatalf("line %q read back as %+v (%v), want %+v", seg.body, got, err, r)
		}
	})
}
