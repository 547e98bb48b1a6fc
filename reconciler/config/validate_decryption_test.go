package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateDecryption(t *testing.T) {
	const tenants = `tenants:
  - name: team-a
    targets: [a-*]
    namespaces: [a-*]
`
	tests := []struct {
		name string
		yaml string
		want []string // "path: message" prefixes of the decryption errors; none: valid
	}{
		{
			name: "valid on a source and a tenant",
			yaml: strings.Replace(tenancyBase, "    url: https://git.example.com/platform.git\n",
				"    url: https://git.example.com/platform.git\n    decryption: {ageKeysFrom: {env: SOPS_AGE_KEYS}, pgpKeysFrom: {file: /etc/trueup/pgp.asc}}\n", 1) +
				tenants + "    decryption: {ageKeysFrom: {file: /etc/trueup/team-a.agekey}}\n",
		},
		{
			name: "empty decryption and bad references",
			yaml: strings.Replace(tenancyBase, "    url: https://git.example.com/platform.git\n",
				"    url: https://git.example.com/platform.git\n    decryption: {}\n", 1) +
				tenants + "    decryption: {ageKeysFrom: {env: 'bad name'}, pgpKeysFrom: {}}\n",
			want: []string{
				`sources[0].decryption: set ageKeysFrom or pgpKeysFrom`,
				`tenants[0].decryption.ageKeysFrom.env: "bad name" is not a valid environment variable name`,
				`tenants[0].decryption.pgpKeysFrom: set env: NAME or file: PATH`,
			},
		},
		{
			name: "unknown field",
			yaml: strings.Replace(tenancyBase, "    url: https://git.example.com/platform.git\n",
				"    url: https://git.example.com/platform.git\n    decryption: {ageKeyFrom: {env: K}}\n", 1),
			want: []string{`sources[0].decryption: set ageKeysFrom`, `sources[0].decryption.ageKeyFrom: unknown field (did you mean "ageKeysFrom"?)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Parse: %v", err)
			}
			var dec []string
			for _, fe := range got {
				if strings.Contains(fe.Path, "decryption") {
					dec = append(dec, fe.Error())
				}
			}
			if len(dec) != len(tt.want) {
				t.Fatalf("errors %q, want %d starting with %q (all: %v)", dec, len(tt.want), tt.want, err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(dec[i], w) {
					t.Errorf("error %d: %q, want prefix %q", i, dec[i], w)
				}
			}
		})
	}
}

func TestDecryptionFor(t *testing.T) {
	yaml := strings.Replace(tenancyBase, "    url: https://git.example.com/platform.git\n",
		"    url: https://git.example.com/platform.git\n    decryption: {ageKeysFrom: {env: PLATFORM_AGE}}\n", 1) + `targets:
  - {name: a-web, source: platform, cluster: prod}
  - {name: b-web, source: platform, cluster: prod}
  - {name: c-web, source: team-a, cluster: prod}
tenants:
  - name: team-a
    targets: [a-*]
    namespaces: [a-*]
    decryption: {ageKeysFrom: {env: TEAM_A_AGE}}
`
	c, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{"a-web": "env:TEAM_A_AGE", "b-web": "env:PLATFORM_AGE", "c-web": ""} {
		d := c.DecryptionFor(target)
		got := ""
		if d != nil {
			got = d.AgeKeysFrom.String()
		}
		if got != want {
			t.Errorf("DecryptionFor(%s) = %q, want %q", target, got, want)
		}
	}
}
