package auth

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/drift"
)

func TestMaskFields(t *testing.T) {
	in := []drift.FieldDiff{
		{Path: "/spec/replicas", Desired: 1, Live: 3},
		{Path: "/spec/new", Desired: "x"},
		{Path: "/spec/gone", Live: "y"},
	}
	got := MaskFields(in)
	want := []drift.FieldDiff{
		{Path: "/spec/replicas", Desired: drift.MaskedChanged, Live: drift.MaskedChanged, Masked: true},
		{Path: "/spec/new", Desired: drift.MaskedAdded, Masked: true},
		{Path: "/spec/gone", Live: drift.MaskedRemoved, Masked: true},
	}
	for i := range want {
		if got[i].Path != want[i].Path || got[i].Desired != want[i].Desired || got[i].Live != want[i].Live || !got[i].Masked {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if in[0].Live != 3 {
		t.Error("MaskFields changed its input")
	}
}

func TestMaskJSON(t *testing.T) {
	in := `{"target":"web","report":{"objects":[{"ref":"x","fields":[{"path":"/spec/replicas","git":1,"live":3},` +
		`{"path":"/data/k","desired":"secret-git","live":null}]}]},"Fields":[{"path":"/a","live":{"deep":"value-live"}}],"message":"keep me"}`
	out := string(MaskJSON(json.RawMessage(in)))
	for _, leak := range []string{`"live":3`, "secret-git", "value-live", `"git":1`} {
		if strings.Contains(out, leak) {
			t.Errorf("masked JSON still has %s:\n%s", leak, out)
		}
	}
	for _, keep := range []string{`"keep me"`, `"/spec/replicas"`, `"<masked: changed>"`, `"<masked: added>"`, `"<masked: removed>"`, `"target":"web"`} {
		if !strings.Contains(out, keep) {
			t.Errorf("masked JSON lacks %s:\n%s", keep, out)
		}
	}
	if got := string(MaskJSON(json.RawMessage(`{not json`))); got != "null" {
		t.Errorf("MaskJSON of a broken document = %s, want null", got)
	}
}
