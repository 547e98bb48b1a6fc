package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const header = "apiVersion: trueup.dev/v1alpha1\nkind: Config\n"

const base = header + `sources:
  - name: platform
    url: https://git.example.com/platform.git
clusters:
  - name: prod
    kubeconfig: {path: /etc/kubeconfig}
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every one must appear as "path: message" prefix
	}{
		{
			name: "unknown source with suggestion",
			yaml: base + "targets:\n  - {name: a, source: platform, cluster: prod}\n  - {name: b, source: platform, cluster: prod}\n  - {name: c, source: platfrom, cluster: prod}\n",
			want: []string{`targets[2].source: unknown source "platfrom" (did you mean "platform"?)`},
		},
		{
			name: "unknown nested field",
			yaml: base + "targets:\n  - name: a\n    source: platform\n    cluster: prod\n    prune: {enabeld: true}\n",
			want: []string{`targets[0].prune.enabeld: unknown field (did you mean "enabled"?)`},
		},
		{
			name: "shape and semantic errors reported together",
			yaml: base + "targets:\n  - name: a\n    source: nope\n    cluster: prod\n    interval: soon\n",
			want: []string{`targets[0].interval: invalid duration "soon"`, `targets[0].source: unknown source "nope"`},
		},
		{
			name: "cluster rate limit out of range",
			yaml: header + "sources: [{name: platform, url: https://git.example.com/p.git}]\nclusters:\n  - name: prod\n    kubeconfig: {path: /k}\n    rateLimit: {qps: 0, burst: -1}\n",
			want: []string{`clusters[0].rateLimit.qps: want requests per second between 0 and 10000`, `clusters[0].rateLimit.burst: want 1 to 100000`},
		},
		{
			name: "cluster and account both set",
			yaml: base + "targets:\n  - {name: a, source: platform, cluster: prod, account: x}\n",
			want: []string{`targets[0]: set only one of cluster and account`},
		},
		{
			name: "ssh needs known hosts",
			yaml: header + "sources:\n  - name: s\n    url: git@github.com:org/repo.git\n    auth: {sshKeyFrom: {file: /k}}\n",
			want: []string{`sources[0].auth.knownHostsFile: required for an ssh URL`},
		},
		{
			name: "secret ref needs exactly one",
			yaml: header + "sources:\n  - name: s\n    url: https://h/r.git\n    auth: {passwordFrom: {env: A, file: /b}}\n",
			want: []string{`sources[0].auth.passwordFrom: set only one of env and file`},
		},
		{
			name: "map keys with dots are quoted",
			yaml: base + "targets:\n  - name: a\n    source: platform\n    cluster: prod\n    labels: {app.kubernetes.io/name: 3}\n",
			want: []string{`targets[0].labels["app.kubernetes.io/name"]: want a string, got the number 3`},
		},
		{
			name: "an unquoted off is a boolean in YAML: quote it",
			yaml: header + "tenancy: {mode: off}\n",
			want: []string{`tenancy.mode: want a string, got false: quote the word (e.g. "off")`},
		},
		{
			name: "pull-request needs a provider",
			yaml: base + "targets:\n  - {name: a, source: platform, cluster: prod, remediation: {drift: pull-request}}\n",
			want: []string{`targets[0].remediation.drift: pull-request needs sources[platform].provider`},
		},
		{
			name: "provider fields",
			yaml: header + "sources:\n  - name: s\n    url: https://h/r.git\n    provider: {type: gittea}\n",
			want: []string{`sources[0].provider.type: unknown value "gittea"`, `sources[0].provider.tokenFrom: required`,
				`sources[0].provider.repository: set it as owner/name`},
		},
		{
			name: "source limits",
			yaml: header + "sources:\n  - name: s\n    url: https://h/r.git\n    limits: {maxFileSize: 100Mi, maxFiles: -1, maxTotalSize: 1Gi}\n" +
				"  - name: t\n    url: https://h/t.git\n    limits: {maxFileSize: 8Mi, maxTotalSize: 4Mi}\n  - name: u\n    url: https://h/u.git\n    limits: {maxFileSize: lots}\n",
			want: []string{`sources[0].limits.maxFileSize: 104857600 bytes is outside the allowed range 1 to 67108864 bytes`,
				`sources[0].limits.maxFiles: -1 is outside the allowed range 1 to 100000`,
				`sources[0].limits.maxTotalSize: 1073741824 bytes is outside the allowed range 1 to 134217728 bytes`,
				`sources[1].limits.maxFileSize: 8388608 bytes is more than maxTotalSize (4194304 bytes)`,
				`sources[2].limits.maxFileSize: invalid size "lots"`},
		},
		{
			name: "pull request author and branch prefix",
			yaml: base + "pullRequests: {authorEmail: nobody, branchPrefix: 'bad..prefix/'}\n",
			want: []string{`pullRequests.authorEmail: "nobody" is not an email address`, `pullRequests.branchPrefix: "bad..prefix/" is not a valid branch name prefix`},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []string{"want a YAML mapping"},
		},
		{
			name: "empty file",
			yaml: "\n",
			want: []string{"file is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("want Errors, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(fe.Error(), w) {
					t.Errorf("missing %q in:\n%s", w, fe.Error())
				}
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]byte(base + "targets:\n  - {name: a, source: platform, cluster: prod}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg, ok := cfg.Target("a")
	if !ok {
		t.Fatal("target a not found")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"interval", tg.Interval.Duration, DefaultTargetInterval},
		{"path", tg.Path, "."},
		{"apply", tg.Remediation.Apply, "auto"},
		{"drift", tg.Remediation.Drift, "heal"},
		{"branch", cfg.Sources[0].Ref.Branch, "main"},
		{"inventory", cfg.Clusters[0].InventoryNamespace, "trueup-system"},
		{"history", cfg.History.Backend, "sqlite"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestIntOrPercent(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		total int
		want  int
	}{
		{"count", `5`, 100, 5},
		{"count string", `"7"`, 100, 7},
		{"percent", `"25%"`, 10, 2},
		{"small percent rounds up to one", `"1%"`, 10, 1},
		{"zero percent", `"0%"`, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v IntOrPercent
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			if got := v.Of(tt.total); got != tt.want {
				t.Errorf("Of(%d) = %d, want %d", tt.total, got, tt.want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Setenv("TRUEUP_TEST_TOKEN", "s3cr3t-value")
	ref := &SecretRef{Env: "TRUEUP_TEST_TOKEN"}
	s, err := ref.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if s.Reveal() != "s3cr3t-value" {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	j, _ := json.Marshal(struct{ S Secret }{s})
	outputs := []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), string(j), ref.String()}
	for _, out := range outputs {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(fmt.Sprint(s), "<redacted>") {
		t.Errorf("want <redacted>, got %s", s)
	}
}

func TestSecretRefFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(p, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := (&SecretRef{File: p}).Resolve()
	if err != nil || s.Reveal() != "abc" {
		t.Fatalf("got %q, %v", s.Reveal(), err)
	}
	_, err = (&SecretRef{Env: "TRUEUP_UNSET_FOR_TEST"}).Resolve()
	if err == nil || !strings.Contains(err.Error(), "TRUEUP_UNSET_FOR_TEST is not set") {
		t.Fatalf("want a clear unset error, got %v", err)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "1m", 48 * time.Hour: "48h", 90 * time.Minute: "1h30m", 10 * time.Second: "10s"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../fixtures/config/*.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte(header + "targets: [{prune: {max: \"%\"}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func TestSourceLimitsParse(t *testing.T) {
	cfg, err := Parse([]byte(header + "sources:\n  - name: s\n    url: https://h/r.git\n    limits: {maxFileSize: 8Mi, maxFiles: 500, maxTotalSize: 100000000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Sources[0].Limits
	if l == nil || l.MaxFileSize.Bytes != 8<<20 || l.MaxFiles != 500 || l.MaxTotalSize.Bytes != 100000000 {
		t.Fatalf("limits = %+v", l)
	}
}
