package config

import (
	"strings"
	"testing"
)

// preview: true|false keeps working beside the mapping form.
func TestPreviewBooleanOrMapping(t *testing.T) {
	src := header + "sources:\n  - name: s\n    url: https://h/o/r.git\n    provider: {type: gitea, url: 'https://h', tokenFrom: {env: T}%s}\n"
	tests := []struct {
		name       string
		preview    string
		on, forks  bool
		wantErrSub string
	}{
		{name: "absent", preview: "", on: true},
		{name: "boolean off", preview: ", preview: false", on: false},
		{name: "boolean on", preview: ", preview: true", on: true},
		{name: "mapping", preview: ", preview: {allowForks: true}", on: true, forks: true},
		{name: "mapping off", preview: ", preview: {enabled: false}", on: false},
		{name: "unknown field", preview: ", preview: {allowForkz: true}", wantErrSub: "sources[0].provider.preview: want true, false or a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(strings.Replace(src, "%s", tt.preview, 1)))
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("err = %v, want %q", err, tt.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Sources[0].Provider.Preview
			if p.On() != tt.on || p.AllowForks != tt.forks {
				t.Errorf("preview %+v: on %v allowForks %v, want %v %v", p, p.On(), p.AllowForks, tt.on, tt.forks)
			}
		})
	}
}
