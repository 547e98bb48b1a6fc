package history

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// goldenRecord has every kind of character the encoding treats specially.
var goldenRecord = Record{
	Seq:      7,
	Time:     time.Date(2026, 5, 1, 14, 0, 0, 123400000, time.FixedZone("CEST", 7200)),
	Type:     TypeApply,
	Target:   "web",
	Object:   "Deployment.apps/prod/web",
	Revision: "main@sha1:abc",
	Actor:    "alice",
	Outcome:  "succeeded",
	Message:  "tab\t quote\" back\\ ctl\x01\x1f del\x7f é \u2028 <&> 😀",
	Data:     json.RawMessage(`{"a":[1,2.50,"x"],"h":"<&>"}`),
	PrevHash: strings.Repeat("ab", 32),
}

func TestCanonicalGolden(t *testing.T) {
	// Written by Python's json.dumps(..., ensure_ascii=False) member by
	// member, as doc.go describes, and hashed with hashlib.sha256.
	want := `{"actor":"alice","data":{"a":[1,2.50,"x"],"h":"<&>"},"message":"tab\t quote\" back\\ ctl\u0001\u001f del` + "\x7f" + ` é ` + "\u2028" + ` <&> 😀","object":"Deployment.apps/prod/web","outcome":"succeeded","prev_hash":"abababababababababababababababababababababababababababababababab","revision":"main@sha1:abc","seq":7,"target":"web","time":"2026-05-01T12:00:00.1234Z","type":"apply","v":1}`
	const wantHash = "c18669be9b034a3b8855af53222fe9eb7ce598323c4a805be0006552e863513b"
	if got := string(Canonical(goldenRecord)); got != want {
		t.Errorf("canonical:\n got %s\nwant %s", got, want)
	}
	if got := HashRecord(goldenRecord); got != wantHash {
		t.Errorf("hash = %s, want %s", got, wantHash)
	}
}

func TestCanonicalCoversEveryField(t *testing.T) {
	base := HashRecord(goldenRecord)
	changes := map[string]func(r *Record){
		"seq":       func(r *Record) { r.Seq++ },
		"time":      func(r *Record) { r.Time = r.Time.Add(time.Nanosecond) },
		"type":      func(r *Record) { r.Type = TypeHeal },
		"target":    func(r *Record) { r.Target += "x" },
		"object":    func(r *Record) { r.Object += "x" },
		"revision":  func(r *Record) { r.Revision += "x" },
		"actor":     func(r *Record) { r.Actor += "x" },
		"outcome":   func(r *Record) { r.Outcome += "x" },
		"message":   func(r *Record) { r.Message += "x" },
		"data":      func(r *Record) { r.Data = json.RawMessage(`{"a":[1,2.5,"x"],"h":"<&>"}`) },
		"no data":   func(r *Record) { r.Data = nil },
		"prev hash": func(r *Record) { r.PrevHash = strings.Repeat("ba", 32) },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			r := goldenRecord
			change(&r)
			if HashRecord(r) == base {
				t.Errorf("changing %s does not change the hash", name)
			}
		})
	}
	r := goldenRecord
	r.Hash = "anything"
	if HashRecord(r) != base {
		t.Error("the stored hash is part of its own input")
	}
}

func TestCanonicalTimeFormat(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{name: "whole second has no fraction", t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), want: "2026-01-02T03:04:05Z"},
		{name: "trailing zeros trimmed", t: time.Date(2026, 1, 2, 3, 4, 5, 500000000, time.UTC), want: "2026-01-02T03:04:05.5Z"},
		{name: "nanoseconds kept", t: time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC), want: "2026-01-02T03:04:05.000000001Z"},
		{name: "zone converted to utc", t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -3600)), want: "2026-01-02T04:04:05Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatTime(tt.t); got != tt.want {
				t.Errorf("formatTime = %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzCanonical: the canonical encoding of any valid record is JSON that
// decodes back to the record's fields.
func FuzzCanonical(f *testing.F) {
	f.Add("msg", "web", `{"a":1}`, int64(1), int64(0))
	f.Add("\x00\x1f\"\\\u2028\u2029<>&", "ünïcødé", `[1, "x" ,null]`, int64(1<<40), int64(-5))
	f.Add("", "", "", int64(0), int64(1700000000123456789))
	f.Fuzz(func(t *testing.T, msg, target, data string, seq, ns int64) {
		r, err := normalize(Record{Type: TypeManual, Message: msg, Target: target, Data: json.RawMessage(data), Time: time.Unix(0, ns)}, t0)
		if err != nil {
			if utf8.ValidString(msg) && utf8.ValidString(target) && !strings.ContainsRune(msg+target, 0) && utf8.ValidString(data) && json.Valid([]byte(data)) {
				t.Fatalf("normalize refused valid input: %v", err)
			}
			return
		}
		r.Seq = seq
		var got struct {
			Message string          `json:"message"`
			Target  string          `json:"target"`
			Data    json.RawMessage `json:"data"`
			Seq     int64           `json:"seq"`
			Time    time.Time       `json:"time"`
		}
		c := Canonical(r)
		if err := json.Unmarshal(c, &got); err != nil {
			t.Fatalf("canonical is not JSON: %v: %s", err, c)
		}
		if got.Message != r.Message || got.Target != r.Target || got.Seq != r.Seq || !got.Time.Equal(r.Time) {
			t.Fatalf("canonical decodes to %+v, want the record's fields %+v", got, r)
		}
		if len(r.Data) > 0 && string(got.Data) != string(r.Data) {
			t.Fatalf("data %s came back as %s", r.Data, got.Data)
		}
	})
}

// TestAuditorScriptRecomputesTheChain runs testdata/verify_chain.py, the
// Python script doc.go points auditors to, on a SQLite history: it must agree
// with Verify on a whole chain and name the same broken record.
func TestAuditorScriptRecomputesTheChain(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 not found: install Debian's python3 package to check the auditor's script")
	}
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := OpenSQLite(path, WithClock(func() time.Time { return t0.Add(time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := numbered(8)
	recs[1].Message = goldenRecord.Message
	recs[2].Data = json.RawMessage(`{"nested":{"b":[true,false,null],"n":-1.5e-7},"s":"\u00e9\n<&>"}`)
	recs[3].Time = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) // a whole second
	recs[4].Data = nil
	mustAppend(t, s, recs[:2]...)
	mustAppend(t, s, recs[2:]...)
	retain(t, s, t0.Add(2*time.Minute), 2) // the first segment goes: a checkpoint in the chain
	res := mustVerifyOK(t, s, 7)

	script := filepath.Join("testdata", "verify_chain.py")
	run := func() string {
		out, _ := exec.Command(python, script, path).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if got, want := run(), "ok 7 9 "+res.HeadHash; got != want {
		t.Fatalf("auditor script: %q, want %q", got, want)
	}
	editBodyLines(t, s.(*sqlStore).db, sqliteDialect, 5, func(lines []string, i int) []string {
		lines[i] = strings.Replace(lines[i], `"message":"reconciled"`, `"message":"edited"`, 1)
		return lines
	})
	expectBroken(t, s, 5, "record 5: hash does not match")
	if got := run(); got != "broken 5 hash" {
		t.Errorf("auditor script on a tampered chain: %q, want %q", got, "broken 5 hash")
	}
}
