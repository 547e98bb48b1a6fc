package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const remoteChart = "    render:\n      helm:\n        chart:\n          repository: https://charts.example.com\n          name: web\n          version: ^1.0.0\n"

func TestRemoteChartAuthErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "inline password refused with a hint",
			yaml: remoteChart + "          auth: {username: ci, password: hunter2}\n",
			want: []string{`targets[0].render.helm.chart.auth.password: unknown field (did you mean "passwordFrom"?): secrets are never written inline; use passwordFrom: {env: NAME} or {file: PATH}`},
		},
		{
			name: "inline token refused with a hint",
			yaml: remoteChart + "          auth: {token: abc}\n",
			want: []string{`targets[0].render.helm.chart.auth.token: unknown field (did you mean "tokenFrom"?): secrets are never written inline`},
		},
		{
			name: "username without passwordFrom",
			yaml: remoteChart + "          auth: {username: ci}\n",
			want: []string{`targets[0].render.helm.chart.auth.passwordFrom: required with username`},
		},
		{
			name: "passwordFrom without username",
			yaml: remoteChart + "          auth: {passwordFrom: {env: PW}}\n",
			want: []string{`targets[0].render.helm.chart.auth.username: required with passwordFrom`},
		},
		{
			name: "token together with basic auth",
			yaml: remoteChart + "          auth: {username: ci, passwordFrom: {env: PW}, tokenFrom: {env: TOK}}\n",
			want: []string{`targets[0].render.helm.chart.auth: set either username and passwordFrom (basic auth) or tokenFrom (bearer token), not both`},
		},
		{
			name: "empty auth",
			yaml: remoteChart + "          auth: {}\n",
			want: []string{`targets[0].render.helm.chart.auth: set username and passwordFrom (basic auth), tokenFrom (bearer token) or dockerConfigFrom (oci:// only)`},
		},
		{
			name: "bad secret references",
			yaml: remoteChart + "          auth: {tokenFrom: {env: A, file: /b}}\n",
			want: []string{`targets[0].render.helm.chart.auth.tokenFrom: set only one of env and file`},
		},
		{
			name: "bad username and env name",
			yaml: remoteChart + "          auth: {username: 'a:b', passwordFrom: {env: 1PW}}\n",
			want: []string{
				`targets[0].render.helm.chart.auth.username: must not contain ':'`,
				`targets[0].render.helm.chart.auth.passwordFrom.env: "1PW" is not a valid environment variable name`,
			},
		},
		{
			name: "credentials in the repository URL",
			yaml: "    render: {helm: {chart: {repository: 'oci://ci:s3cr3t@registry.example.com/charts', name: web, version: 1.0.0}}}\n",
			want: []string{`targets[0].render.helm.chart.repository: credentials in the URL are not allowed: remove them and set auth`},
		},
		{
			name: "docker config with other credentials, and for an HTTP repository",
			yaml: remoteChart + "          auth: {username: ci, dockerConfigFrom: {file: /run/secrets/docker.json}}\n",
			want: []string{
				`targets[0].render.helm.chart.auth: set dockerConfigFrom alone`,
				`targets[0].render.helm.chart.auth.dockerConfigFrom: only for oci:// registries`,
			},
		},
		{
			name: "auth of the wrong type",
			yaml: remoteChart + "          auth: ci\n",
			want: []string{`targets[0].render.helm.chart.auth: want a mapping, got the string "ci"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + renderTarget + tt.yaml))
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("want Errors, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(fe.Error(), w) {
					t.Errorf("missing %q in:\n%s", w, fe.Error())
				}
			}
			for _, secret := range []string{"hunter2", "s3cr3t"} {
				if strings.Contains(fe.Error(), secret) {
					t.Errorf("error shows the secret %q:\n%s", secret, fe.Error())
				}
			}
		})
	}
}

func TestRemoteChartAuthResolve(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHART_PW", "pw-from-env")
	cfg, err := Parse([]byte(base + renderTarget + remoteChart + "          auth: {username: ci, passwordFrom: {env: CHART_PW}}\n" +
		"  - name: api\n    source: platform\n    cluster: prod\n    namespace: shop\n" +
		"    render: {helm: {chart: {repository: oci://r.example.com/c, name: api, version: 1.0.0, auth: {tokenFrom: {file: " + file + "}}}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	web, _ := cfg.Target("web")
	c, err := web.Render.Helm.Chart.Remote.Auth.Resolve("")
	if err != nil || c.Username != "ci" || c.Password.Reveal() != "pw-from-env" || !c.Token.Empty() {
		t.Errorf("web credentials = %q/%v/%v, %v; want ci, the env password, no token", c.Username, c.Password.Reveal() != "", c.Token.Empty(), err)
	}
	api, _ := cfg.Target("api")
	c, err = api.Render.Helm.Chart.Remote.Auth.Resolve("")
	if err != nil || c.Token.Reveal() != "tok-from-file" || c.Username != "" {
		t.Errorf("api token resolved: %v, %v; want the file's token", c.Token.Reveal() == "tok-from-file", err)
	}

	t.Setenv("CHART_PW", "")
	_, err = web.Render.Helm.Chart.Remote.Auth.Resolve("")
	if err == nil || !strings.Contains(err.Error(), "render.helm.chart.auth.passwordFrom: environment variable CHART_PW is not set") {
		t.Errorf("unset env: err = %v", err)
	}
	var none *ChartAuth
	if c, err := none.Resolve(""); err != nil || c.Username != "" || !c.Password.Empty() || !c.Token.Empty() {
		t.Errorf("no auth resolved to %v, %v; want anonymous", c, err)
	}
}

func TestRemoteChartDockerConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) *ChartAuth {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return &ChartAuth{DockerConfigFrom: &SecretRef{File: p}}
	}
	const repo = "oci://Registry.example.com:5000/charts"
	tests := []struct {
		name    string
		auth    *ChartAuth
		user    string
		pw, tok string
		err     string
	}{
		{name: "auth field, host key", auth: write("a.json", `{"auths": {"registry.example.com:5000": {"auth": "Y2k6czNjcjN0LXB3"}}}`), user: "ci", pw: "s3cr3t-pw"},
		{name: "username and password, URL key", auth: write("b.json", `{"auths": {"other.example.com": {"auth": "eDp5"}, "https://registry.example.com:5000/v2/": {"username": "ci", "password": "s3cr3t-pw"}}}`), user: "ci", pw: "s3cr3t-pw"},
		{name: "registry token", auth: write("c.json", `{"auths": {"registry.example.com:5000": {"registrytoken": "s3cr3t-tok"}}}`), tok: "s3cr3t-tok"},
		{name: "no entry for the host", auth: write("d.json", `{"auths": {"registry.example.com": {"auth": "Y2k6czNjcjN0LXB3"}}}`), err: "no entry for registry.example.com:5000"},
		{name: "identity token", auth: write("e.json", `{"auths": {"registry.example.com:5000": {"identitytoken": "s3cr3t-tok"}}}`), err: "identity token, which is not supported"},
		{name: "not JSON", auth: write("f.json", `s3cr3t-pw`), err: "not a Docker config.json"},
		{name: "auth not base64", auth: write("g.json", `{"auths": {"registry.example.com:5000": {"auth": "s3cr3t-pw"}}}`), err: "is not base64 of username:password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.auth.Resolve(repo)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "render.helm.chart.auth.dockerConfigFrom") {
					t.Fatalf("err = %v, want it to say %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil || c.Username != tt.user || c.Password.Reveal() != tt.pw || c.Token.Reveal() != tt.tok {
				t.Errorf("got user %q, password ok %v, token ok %v, err %v", c.Username, c.Password.Reveal() == tt.pw, c.Token.Reveal() == tt.tok, err)
			}
		})
	}
}
