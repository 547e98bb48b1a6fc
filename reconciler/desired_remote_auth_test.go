package reconciler_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/registryenv"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/helmrepo"
)

// TestHelmRemoteChartCredentials renders charts from a real HTTP chart
// repository (basic auth, then a bearer token) and a real OCI registry
// (CNCF Distribution with htpasswd; username and password, then a Docker
// config.json) that require credentials, read from render.helm.chart.auth's
// env and file references at fetch time. Without
// credentials the load fails with ErrAuth naming the chart and saying to set
// render.helm.chart.auth; with wrong ones it fails with ErrAuth and the
// secret appears nowhere in the error; with the right ones it renders.
func TestHelmRemoteChartCredentials(t *testing.T) {
	const (
		user     = "chart-reader"
		password = "Ch4rt-s3cret-pw"
		token    = "tok-Ch4rt-b3arer"
		wrong    = "Wr0ng-s3cret-pw"
	)
	dir := t.TempDir()
	archive := chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0")
	basic := chartrepo.NewServer(t, chartrepo.Options{Username: user, Password: password})
	basic.Add("demo", "1.0.0", archive, true)
	bearer := chartrepo.NewServer(t, chartrepo.Options{Token: token})
	bearer.Add("demo", "1.0.0", archive, true)
	reg := registryenv.Start(t, registryenv.Options{Username: user, Password: password})
	reg.PushChart(t, "charts", "demo", "1.0.0", archive)

	values := gitrepo.Init(t, filepath.Join(dir, "values.git"))
	values.Commit(t, map[string]gitrepo.Entry{"prod/demo.yaml": gitrepo.File("message: behind-auth\n")}, gitrepo.CommitOptions{})
	srcs := map[string]git.Source{"values": {Name: "values", URL: values.URL(), Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}}}
	secretFile := func(name, value string) *config.SecretRef {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return &config.SecretRef{File: p}
	}
	t.Setenv("CHART_PASSWORD", password)
	t.Setenv("CHART_PASSWORD_WRONG", wrong)
	t.Setenv("CHART_TOKEN", token)
	t.Setenv("CHART_TOKEN_WRONG", "tok-Wr0ng-b3arer")

	load := func(t *testing.T, ref config.RemoteChart) (*reconciler.Desired, error) {
		t.Helper()
		// A fresh chart cache each time: a cached archive must not hide a
		// refused login.
		charts := helmrepo.New(filepath.Join(t.TempDir(), "charts"), helmrepo.WithPlainHTTP(reg.Host))
		loader := reconciler.NewDesiredLoader(git.New(filepath.Join(t.TempDir(), "cache")), srcs).
			WithChartFetcher(reconciler.HelmRepoFetcher{Client: charts})
		target := &config.Target{Name: "web", Source: "values", Render: &config.Render{Helm: &config.HelmRender{
			Chart: config.HelmChart{Remote: &ref}, ReleaseName: "web", Namespace: "web",
			Values: []config.HelmValuesFile{{Path: "prod/demo.yaml"}},
		}}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return loader.Load(ctx, target)
	}
	repos := []struct {
		name       string
		repository string
		right      *config.ChartAuth
		wrong      *config.ChartAuth
	}{
		{"http basic auth", basic.URL,
			&config.ChartAuth{Username: user, PasswordFrom: &config.SecretRef{Env: "CHART_PASSWORD"}},
			&config.ChartAuth{Username: user, PasswordFrom: &config.SecretRef{Env: "CHART_PASSWORD_WRONG"}}},
		{"http bearer token", bearer.URL,
			&config.ChartAuth{TokenFrom: &config.SecretRef{Env: "CHART_TOKEN"}},
			&config.ChartAuth{TokenFrom: &config.SecretRef{Env: "CHART_TOKEN_WRONG"}}},
		{"oci htpasswd", "oci://" + reg.Host + "/charts",
			&config.ChartAuth{Username: user, PasswordFrom: secretFile("oci-password", password)},
			&config.ChartAuth{Username: user, PasswordFrom: secretFile("oci-wrong", wrong)}},
		{"oci docker config", "oci://" + reg.Host + "/charts",
			&config.ChartAuth{DockerConfigFrom: secretFile("docker.json", dockerConfig(reg.Host, user, password))},
			&config.ChartAuth{DockerConfigFrom: secretFile("docker-wrong.json", dockerConfig(reg.Host, user, wrong))}},
	}
	for _, r := range repos {
		t.Run(r.name, func(t *testing.T) {
			ref := config.RemoteChart{Repository: r.repository, Name: "demo", Version: "^1"}

			_, err := load(t, ref)
			if !errors.Is(err, helmrepo.ErrAuth) {
				t.Fatalf("without credentials: err = %v, want ErrAuth", err)
			}
			for _, w := range []string{"render.helm.chart: chart demo from", "set render.helm.chart.auth"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("without credentials: error %q does not say %q", err, w)
				}
			}

			ref.Auth = r.wrong
			_, err = load(t, ref)
			if !errors.Is(err, helmrepo.ErrAuth) || !strings.Contains(err.Error(), "refused the credentials of render.helm.chart.auth") {
				t.Fatalf("wrong credentials: err = %v, want ErrAuth saying the credentials were refused", err)
			}
			for _, secret := range []string{password, wrong, token, "tok-Wr0ng-b3arer", base64.StdEncoding.EncodeToString([]byte(user + ":" + wrong))} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("wrong credentials: the error shows a secret: %v", err)
				}
			}

			ref.Auth = r.right
			d, err := load(t, ref)
			if err != nil {
				t.Fatalf("right credentials: %v", err)
			}
			var rendered bool
			for _, o := range d.Objects {
				if o.Object.GetKind() == "ConfigMap" && o.Object.Object["data"].(map[string]any)["message"] == "behind-auth" {
					rendered = true
				}
			}
			if !rendered {
				t.Errorf("right credentials: no ConfigMap with the Git values file's message among %d objects", len(d.Objects))
			}
		})
	}

	t.Run("a missing secret names its reference", func(t *testing.T) {
		ref := config.RemoteChart{Repository: basic.URL, Name: "demo", Version: "^1",
			Auth: &config.ChartAuth{Username: user, PasswordFrom: &config.SecretRef{Env: "CHART_PASSWORD_UNSET"}}}
		_, err := load(t, ref)
		if err == nil || !strings.Contains(err.Error(), "render.helm.chart.auth.passwordFrom: environment variable CHART_PASSWORD_UNSET is not set") {
			t.Fatalf("err = %v, want it to name the unset variable", err)
		}
		if n := basic.Requests("index.yaml"); n != 3 {
			t.Errorf("the repository saw %d index requests, want 3 (none for the unresolved secret)", n)
		}
	})
}

// dockerConfig is a Docker config.json as `docker login host` writes it.
func dockerConfig(host, user, password string) string {
	return `{"auths": {"` + host + `": {"auth": "` + base64.StdEncoding.EncodeToString([]byte(user+":"+password)) + `"}}}`
}
