package aws

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/golden"
)

func TestNormalizePolicyGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(fixtures, "policies", "*.input.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no policy fixtures (%v)", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("fixture: %v", err)
			}
			got, err := NormalizePolicy(doc)
			if err != nil {
				t.Fatalf("NormalizePolicy: %v", err)
			}
			out, _ := json.MarshalIndent(got, "", "  ")
			golden.Check(t, filepath.Join(fixtures, "policies", name+".golden.json"), string(out)+"\n")

			again, err := NormalizePolicy(got)
			if err != nil {
				t.Fatalf("normalizing the normalized form: %v", err)
			}
			if b, _ := json.Marshal(again); string(b) != compact(t, out) {
				t.Errorf("not idempotent:\n%s\n%s", b, out)
			}
		})
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestNormalizePolicyEquivalence(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{name: "key order", equal: true,
			a: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			b: `{"Statement":[{"Resource":"*","Action":"s3:*","Effect":"Allow"}],"Version":"2012-10-17"}`},
		{name: "string vs one-element list", equal: true,
			a: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["*"],"Principal":{"AWS":"arn:aws:iam::111122223333:root"}}]}`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*","Principal":{"AWS":["arn:aws:iam::111122223333:root"]}}]}`},
		{name: "statement object vs list", equal: true,
			a: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{name: "url-encoded vs plain", equal: true,
			a: `"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%7D"`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{name: "missing version is 2008-10-17", equal: true,
			a: `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			b: `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{name: "missing version is not 2012-10-17", equal: false,
			a: `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{name: "account id principal is its root", equal: true,
			a: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`},
		{name: "condition bool vs string", equal: true,
			a: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`},
		{name: "statement order", equal: true,
			a: `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"B","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`,
			b: `{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Deny","Action":"iam:*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{name: "different action", equal: false,
			a: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`},
		{name: "wildcard principal is not an AWS wildcard", equal: false,
			a: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`,
			b: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pa, pb := mustPolicy(t, tt.a), mustPolicy(t, tt.b)
			if got := pa.Equal(pb); got != tt.equal {
				t.Errorf("Equal = %v, want %v\n%s\n%s", got, tt.equal, pa.JSON(), pb.JSON())
			}
		})
	}
}

func mustPolicy(t *testing.T, src string) *Policy {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("test input: %v", err)
	}
	p, err := NewPolicy(doc)
	if err != nil {
		t.Fatalf("NewPolicy(%s): %v", src, err)
	}
	return p
}

func TestNormalizePolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  any
		want string
	}{
		{name: "no statement", doc: map[string]any{"Version": "2012-10-17"}, want: "Statement: required"},
		{name: "statement scalar", doc: map[string]any{"Statement": "x"}, want: "Statement: must be an object or a list of objects, not a string"},
		{name: "action object", doc: map[string]any{"Statement": []any{map[string]any{"Action": map[string]any{"s3": "x"}}}}, want: "Statement[0].Action: must be a string or a list of strings, not an object"},
		{name: "principal string", doc: map[string]any{"Statement": []any{map[string]any{"Principal": "arn:aws:iam::1:root"}}}, want: `Statement[0].Principal: must be "*" or an object`},
		{name: "condition values", doc: map[string]any{"Statement": []any{map[string]any{"Condition": map[string]any{"Bool": "x"}}}}, want: "Statement[0].Condition: Bool: must be an object, not a string"},
		{name: "version number", doc: map[string]any{"Version": 2012, "Statement": []any{}}, want: "Version: must be a string"},
		{name: "not json", doc: "{not json", want: "not a JSON object"},
		{name: "bad escape", doc: "%zz", want: "not a JSON object and not URL-encoded JSON"},
		{name: "list", doc: []any{}, want: "must be an object or a JSON string, not a list"},
		{name: "trailing data", doc: `{"Statement":[]} {}`, want: "data after the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NormalizePolicy(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNormalizePolicyDoesNotModifyInput(t *testing.T) {
	in := map[string]any{"Statement": map[string]any{"Action": "s3:*", "Effect": "Allow", "Resource": "*"}}
	if _, err := NormalizePolicy(in); err != nil {
		t.Fatal(err)
	}
	if _, ok := in["Version"]; ok {
		t.Error("input gained a Version")
	}
	if _, ok := in["Statement"].(map[string]any); !ok {
		t.Error("input Statement was replaced")
	}
}

// FuzzNormalizePolicy checks that any input either fails or normalizes to a
// fixed point, without panicking.
func FuzzNormalizePolicy(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`)
	f.Add(`%7B%22Statement%22%3A%5B%5D%7D`)
	f.Add(`{"Statement":[{"Principal":{"AWS":"111122223333"},"Condition":{"Bool":{"k":true}}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePolicy(s)
		if err != nil {
			return
		}
		again, err := NormalizePolicy(got)
		if err != nil {
			t.Fatalf("normalized form fails: %v", err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("not a fixed point:\n%s\n%s", a, b)
		}
	})
}
