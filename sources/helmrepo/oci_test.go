package helmrepo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/fixtures/registryenv"
	"github.com/trueup-dev/trueup/sources/helmrepo"
)

// ociRepo starts a registry and pushes demo versions to oci://<host>/charts.
func ociRepo(t *testing.T, opts registryenv.Options, versions ...string) (*registryenv.Env, string, map[string]registryenv.Pushed) {
	t.Helper()
	reg := registryenv.Start(t, opts)
	pushed := map[string]registryenv.Pushed{}
	for _, v := range versions {
		pushed[v] = reg.PushChart(t, "charts", "demo", v, chartrepo.Package(t, chartrepo.Demo(), "demo", v))
	}
	return reg, "oci://" + reg.Host + "/charts", pushed
}

func TestOCIVersionsAndPins(t *testing.T) {
	reg, repo, pushed := ociRepo(t, registryenv.Options{}, "1.0.0", "1.2.0", "1.10.1", "2.0.0", "2.1.0+build.7")
	c := helmrepo.New(t.TempDir(), helmrepo.WithPlainHTTP(reg.Host))
	tests := []struct {
		name, version, digest, want string
		wantErr                     error
	}{
		{name: "exact", version: "1.2.0", want: "1.2.0"},
		{name: "range picks the highest", version: "^1.0", want: "1.10.1"},
		{name: "empty is the highest", version: "", want: "2.1.0+build.7"},
		{name: "build metadata tag (+ as _)", version: "2.1.0+build.7", want: "2.1.0+build.7"},
		{name: "layer digest pin", version: "^1", digest: pushed["1.10.1"].LayerDigest, want: "1.10.1"},
		{name: "manifest digest pin", version: "1.2.0", digest: pushed["1.2.0"].ManifestDigest, want: "1.2.0"},
		{name: "mismatched pin", version: "^1", digest: pushed["1.2.0"].LayerDigest, wantErr: helmrepo.ErrDigest},
		{name: "no matching version", version: "^3", wantErr: helmrepo.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := c.Fetch(context.Background(), helmrepo.Ref{Repository: repo, Name: "demo", Version: tt.version, Digest: tt.digest}, helmrepo.Auth{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "chart demo from "+repo) {
					t.Fatalf("err = %v, want %v naming the chart", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if ch.Version != tt.want || ch.Digest != pushed[tt.want].LayerDigest {
				t.Fatalf("got %s %s, want %s %s", ch.Version, ch.Digest, tt.want, pushed[tt.want].LayerDigest)
			}
			if chartrepo.Digest(ch.Archive) != ch.Digest {
				t.Fatalf("archive does not hash to its digest")
			}
			if ch.URL != "oci://"+pushed[tt.want].Ref {
				t.Fatalf("URL = %s, want oci://%s", ch.URL, pushed[tt.want].Ref)
			}
		})
	}
	t.Run("chart not in the registry", func(t *testing.T) {
		_, err := c.Fetch(context.Background(), helmrepo.Ref{Repository: repo, Name: "nope"}, helmrepo.Auth{})
		if !errors.Is(err, helmrepo.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("registry down is ErrUnavailable, even with the archive cached (tags are listed on every fetch)", func(t *testing.T) {
		dir := t.TempDir()
		ref := helmrepo.Ref{Repository: repo, Name: "demo", Version: "1.0.0"}
		if _, err := helmrepo.New(dir, helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), ref, helmrepo.Auth{}); err != nil {
			t.Fatal(err)
		}
		reg.Stop() // nothing more can be downloaded
		_, err := helmrepo.New(dir, helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), ref, helmrepo.Auth{})
		if !errors.Is(err, helmrepo.ErrUnavailable) {
			t.Fatalf("registry down: err = %v, want ErrUnavailable", err)
		}
	})
}

func TestOCICacheHit(t *testing.T) {
	reg, repo, pushed := ociRepo(t, registryenv.Options{}, "1.0.0")
	dir := t.TempDir()
	ref := helmrepo.Ref{Repository: repo, Name: "demo", Version: "1.0.0"}
	if _, err := helmrepo.New(dir, helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), ref, helmrepo.Auth{}); err != nil {
		t.Fatal(err)
	}
	// Delete the layer blob from the registry: a second fetch must take it
	// from the disk cache (it would 404 if it downloaded it).
	reg.DeleteBlob(t, "charts/demo", pushed["1.0.0"].LayerDigest)
	ch, err := helmrepo.New(dir, helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), ref, helmrepo.Auth{})
	if err != nil || ch.Digest != pushed["1.0.0"].LayerDigest {
		t.Fatalf("second fetch: %v", err)
	}
	if _, err := helmrepo.New(t.TempDir(), helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), ref, helmrepo.Auth{}); !errors.Is(err, helmrepo.ErrNotFound) {
		t.Fatalf("empty cache, blob deleted: err = %v, want ErrNotFound (the test's premise)", err)
	}
}

func TestOCIAuth(t *testing.T) {
	const user, password = "oci-reader", "Oci-s3cret-Pw"
	reg, repo, _ := ociRepo(t, registryenv.Options{Username: user, Password: password}, "1.0.0", "1.1.0")
	ref := helmrepo.Ref{Repository: repo, Name: "demo", Version: "~1.0"}
	ch, err := helmrepo.New(t.TempDir(), helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), ref, helmrepo.Auth{Username: user, Password: password})
	if err != nil || ch.Version != "1.0.0" {
		t.Fatalf("right password: %v %v", ch, err)
	}
	for _, tt := range []struct {
		name string
		auth helmrepo.Auth
	}{
		{"wrong password", helmrepo.Auth{Username: user, Password: "Wrong-0ci-Pw"}},
		{"no credentials", helmrepo.Auth{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmrepo.New(t.TempDir(), helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), ref, tt.auth)
			if !errors.Is(err, helmrepo.ErrAuth) || helmrepo.IsRetryable(err) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			assertNoSecrets(t, err, tt.auth.Password, password)
		})
	}
}

func TestOCINotAChart(t *testing.T) {
	reg := registryenv.Start(t, registryenv.Options{})
	archive := chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0")
	reg.PushArtifact(t, "charts/image", "1.0.0", "application/vnd.oci.image.config.v1+json", []byte("{}"), "application/vnd.oci.image.layer.v1.tar+gzip", archive)
	_, err := helmrepo.New(t.TempDir(), helmrepo.WithPlainHTTP(reg.Host)).Fetch(context.Background(), helmrepo.Ref{Repository: "oci://" + reg.Host + "/charts", Name: "image", Version: "1.0.0"}, helmrepo.Auth{})
	if !errors.Is(err, helmrepo.ErrInvalid) || !strings.Contains(err.Error(), "not a Helm chart") {
		t.Fatalf("err = %v, want ErrInvalid: not a Helm chart", err)
	}
}

func TestOCIPlainHTTPOnlyWhenAsked(t *testing.T) {
	reg := registryenv.Start(t, registryenv.Options{})
	reg.PushChart(t, "charts", "demo", "1.0.0", chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0"))
	// Without WithPlainHTTP the client speaks HTTPS to the plain-HTTP registry.
	_, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), helmrepo.Ref{Repository: "oci://" + reg.Host + "/charts", Name: "demo", Version: "1.0.0"}, helmrepo.Auth{})
	if !errors.Is(err, helmrepo.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable (TLS handshake with a plain-HTTP server)", err)
	}
}
