package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Duration is a time.Duration written as a Go duration string ("5m", "1h30m").
type Duration struct{ time.Duration }

// UnmarshalJSON accepts a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string like \"5m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number with a unit, like \"30s\", \"5m\" or \"1h\"", s)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(FormatDuration(d.Duration)) }

// ByteSize is a size in bytes, written as a number of bytes (1048576) or a
// quantity with a binary or decimal suffix ("4Mi", "500k").
type ByteSize struct{ Bytes int64 }

// UnmarshalJSON accepts a byte count or a quantity string.
func (v *ByteSize) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		v.Bytes = n
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a size like \"4Mi\" or a number of bytes")
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("invalid size %q: want a size like \"4Mi\", \"64Mi\" or a number of bytes", s)
	}
	v.Bytes = q.Value()
	return nil
}

// MarshalJSON writes the size as a quantity string.
func (v ByteSize) MarshalJSON() ([]byte, error) {
	return json.Marshal(resource.NewQuantity(v.Bytes, resource.BinarySI).String())
}

// IntOrPercent is a count ("10" or 10) or a percentage ("25%").
type IntOrPercent struct {
	Value   int
	Percent bool
	Set     bool
}

// UnmarshalJSON accepts an integer or a string "N" / "N%".
func (v *IntOrPercent) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*v = IntOrPercent{Value: n, Set: true}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a count like 10 or a percentage like \"25%%\"")
	}
	digits, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	n, err := strconv.Atoi(digits)
	if err != nil {
		return fmt.Errorf("invalid value %q: want a count like 10 or a percentage like \"25%%\"", s)
	}
	*v = IntOrPercent{Value: n, Percent: pct, Set: true}
	return nil
}

// MarshalJSON writes a count as a number and a percentage as "N%".
func (v IntOrPercent) MarshalJSON() ([]byte, error) {
	if v.Percent {
		return json.Marshal(fmt.Sprintf("%d%%", v.Value))
	}
	return json.Marshal(v.Value)
}

// Of resolves the limit against a total: a count is itself, a percentage is
// rounded down but at least 1 when the percentage is above zero.
func (v IntOrPercent) Of(total int) int {
	if !v.Percent {
		return v.Value
	}
	n := total * v.Value / 100
	if n == 0 && v.Value > 0 && total > 0 {
		n = 1
	}
	return n
}

func (v IntOrPercent) String() string {
	if v.Percent {
		return fmt.Sprintf("%d%%", v.Value)
	}
	return strconv.Itoa(v.Value)
}

// Secret is a resolved secret value. It prints as <redacted> in every format;
// only Reveal returns the value, for the client that needs it.
type Secret struct{ value string }

const redacted = "<redacted>"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.value }

// String returns <redacted>.
func (s Secret) String() string { return redacted }

// GoString returns <redacted>.
func (s Secret) GoString() string { return redacted }

// Format prints <redacted> for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON writes "<redacted>".
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// MarshalText writes <redacted>.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Empty reports whether the secret has no value.
func (s Secret) Empty() bool { return s.value == "" }

// String describes where the secret comes from, never its value.
func (r SecretRef) String() string {
	if r.Env != "" {
		return "env:" + r.Env
	}
	return "file:" + r.File
}

// Resolve reads the secret. Errors name the reference, never the value.
func (r *SecretRef) Resolve() (Secret, error) {
	if r == nil {
		return Secret{}, nil
	}
	switch {
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok || v == "" {
			return Secret{}, fmt.Errorf("environment variable %s is not set: export it before starting trueup", r.Env)
		}
		return Secret{value: v}, nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return Secret{}, fmt.Errorf("read secret file %s: %w", r.File, err)
		}
		return Secret{value: strings.TrimRight(string(b), "\r\n")}, nil
	}
	return Secret{}, fmt.Errorf("secret reference names neither env nor file")
}
