package config

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Preview configures the pull-request previews of a source's provider. It
// is written as a boolean (on or off, as before allowForks existed) or as a
// mapping:
//
//	preview: false
//	preview: {enabled: true, allowForks: false}
type Preview struct {
	// Enabled previews pull requests; default true.
	Enabled *bool `json:"enabled,omitempty"`
	// AllowForks also previews pull requests from forks whose author may
	// not push to the repository. Default false: a preview dry-runs the
	// pull request's objects with trueup's identity and shows live values,
	// so such pull requests get a comment saying why they were not
	// previewed instead.
	AllowForks bool `json:"allowForks,omitempty"`
}

// On reports whether previews are enabled.
func (p *Preview) On() bool { return p == nil || p.Enabled == nil || *p.Enabled }

// UnmarshalJSON accepts a boolean or a mapping with only the known fields.
func (p *Preview) UnmarshalJSON(b []byte) error {
	var on bool
	if err := json.Unmarshal(b, &on); err == nil {
		*p = Preview{Enabled: &on}
		return nil
	}
	type plain Preview
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v plain
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("want true, false or a mapping with enabled and allowForks: %w", err)
	}
	*p = Preview(v)
	return nil
}
