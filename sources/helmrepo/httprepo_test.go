package helmrepo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/chartrepo"
	"github.com/trueup-dev/trueup/sources/helmrepo"
)

// publish adds demo versions to srv and returns their archives by version.
func publish(t *testing.T, srv *chartrepo.Server, withDigest bool, versions ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, v := range versions {
		out[v] = chartrepo.Package(t, chartrepo.Demo(), "demo", v)
		srv.Add("demo", v, out[v], withDigest)
	}
	return out
}

func TestHTTPVersions(t *testing.T) {
	srv := chartrepo.NewServer(t, chartrepo.Options{})
	archives := publish(t, srv, true, "1.0.0", "1.2.0", "1.10.1", "2.0.0", "2.1.0-rc.1")
	c := helmrepo.New(t.TempDir())
	tests := []struct {
		name, version, want string
	}{
		{"exact", "1.2.0", "1.2.0"},
		{"caret range picks the highest 1.x (1.10.1 > 1.2.0 as semver)", "^1.0", "1.10.1"},
		{"comparison range", ">=1.0.0 <2.0.0", "1.10.1"},
		{"empty is the highest stable", "", "2.0.0"},
		{"exact prerelease", "2.1.0-rc.1", "2.1.0-rc.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := c.Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: tt.version}, helmrepo.Auth{})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if ch.Version != tt.want {
				t.Fatalf("Version = %s, want %s", ch.Version, tt.want)
			}
			if string(ch.Archive) != string(archives[tt.want]) || ch.Digest != chartrepo.Digest(archives[tt.want]) {
				t.Fatalf("archive or digest is not that of %s (digest %s)", tt.want, ch.Digest)
			}
			if ch.URL != srv.URL+"/demo-"+tt.want+".tgz" {
				t.Fatalf("URL = %s", ch.URL)
			}
		})
	}
	t.Run("no matching version is ErrNotFound", func(t *testing.T) {
		_, err := c.Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "^3"}, helmrepo.Auth{})
		if !errors.Is(err, helmrepo.ErrNotFound) || !strings.Contains(err.Error(), "chart demo from "+srv.URL) {
			t.Fatalf("err = %v, want ErrNotFound naming the chart and repository", err)
		}
	})
}

func TestHTTPDigestPin(t *testing.T) {
	for _, withDigest := range []bool{true, false} {
		name := "index without digests"
		if withDigest {
			name = "index with digests"
		}
		t.Run(name, func(t *testing.T) {
			srv := chartrepo.NewServer(t, chartrepo.Options{})
			archives := publish(t, srv, withDigest, "1.0.0", "1.1.0")
			good := chartrepo.Digest(archives["1.1.0"])
			c := helmrepo.New(t.TempDir())
			ch, err := c.Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "^1", Digest: good}, helmrepo.Auth{})
			if err != nil || ch.Digest != good {
				t.Fatalf("pinned fetch: %v (digest %v)", err, ch)
			}
			// The range now resolves to 1.0.0 under a pin of 1.1.0's archive.
			_, err = helmrepo.New(t.TempDir()).Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "1.0.0", Digest: good}, helmrepo.Auth{})
			if !errors.Is(err, helmrepo.ErrDigest) {
				t.Fatalf("mismatched pin: err = %v, want ErrDigest", err)
			}
		})
	}
	t.Run("pin that differs from the index's digest fails before downloading", func(t *testing.T) {
		srv := chartrepo.NewServer(t, chartrepo.Options{})
		archives := publish(t, srv, true, "1.0.0", "1.1.0")
		_, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "1.0.0", Digest: chartrepo.Digest(archives["1.1.0"])}, helmrepo.Auth{})
		if !errors.Is(err, helmrepo.ErrDigest) || srv.Requests("demo-1.0.0.tgz") != 0 {
			t.Fatalf("err = %v after %d archive downloads, want ErrDigest and none", err, srv.Requests("demo-1.0.0.tgz"))
		}
	})
	t.Run("archive replaced behind an index with digests", func(t *testing.T) {
		srv := chartrepo.NewServer(t, chartrepo.Options{})
		publish(t, srv, true, "1.0.0")
		srv.Replace("demo", "1.0.0", chartrepo.Package(t, chartrepo.Demo(), "demo", "6.6.6"))
		_, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "1.0.0"}, helmrepo.Auth{})
		if !errors.Is(err, helmrepo.ErrDigest) {
			t.Fatalf("err = %v, want ErrDigest", err)
		}
	})
}

func TestHTTPAuth(t *testing.T) {
	const user, password = "chart-reader", "s3cret-Pa55word"
	srv := chartrepo.NewServer(t, chartrepo.Options{Username: user, Password: password})
	publish(t, srv, true, "1.0.0")
	ref := helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "1.0.0"}
	c := helmrepo.New(t.TempDir())
	if _, err := c.Fetch(context.Background(), ref, helmrepo.Auth{Username: user, Password: password}); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, tt := range []struct {
		name string
		auth helmrepo.Auth
	}{
		{"wrong password", helmrepo.Auth{Username: user, Password: "wrong-Pa55word"}},
		{"no credentials", helmrepo.Auth{}},
		{"bearer token", helmrepo.Auth{BearerToken: "tok-Zq9Xv"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), ref, tt.auth)
			if !errors.Is(err, helmrepo.ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			assertNoSecrets(t, err, tt.auth.Password, tt.auth.BearerToken, password)
		})
	}
}

// TestHTTPBearerToken: a repository behind a bearer token serves the chart
// to the right token only; basic auth, a wrong token or none are refused
// with ErrAuth and no secret in the error.
func TestHTTPBearerToken(t *testing.T) {
	const token = "tok-R1ght-Zq9Xv"
	srv := chartrepo.NewServer(t, chartrepo.Options{Token: token})
	publish(t, srv, true, "1.0.0")
	ref := helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "1.0.0"}
	ch, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), ref, helmrepo.Auth{BearerToken: token})
	if err != nil || ch.Version != "1.0.0" {
		t.Fatalf("right token: %v %v", ch, err)
	}
	for _, tt := range []struct {
		name string
		auth helmrepo.Auth
	}{
		{"wrong token", helmrepo.Auth{BearerToken: "tok-Wr0ng-Zq9Xv"}},
		{"no credentials", helmrepo.Auth{}},
		{"basic auth", helmrepo.Auth{Username: "u", Password: token}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), ref, tt.auth)
			if !errors.Is(err, helmrepo.ErrAuth) || helmrepo.IsRetryable(err) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			assertNoSecrets(t, err, tt.auth.Password, tt.auth.BearerToken, token)
		})
	}
}

func TestHTTPNotFound(t *testing.T) {
	srv := chartrepo.NewServer(t, chartrepo.Options{})
	publish(t, srv, true, "1.0.0")
	srv.Add("gone", "1.0.0", nil, false) // listed, but no archive: 404
	c := helmrepo.New(t.TempDir())
	for _, tt := range []struct{ name, repo, chart string }{
		{"chart not in the index", srv.URL, "nope"},
		{"archive 404", srv.URL, "gone"},
		{"no index.yaml", srv.URL + "/elsewhere", "demo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Fetch(context.Background(), helmrepo.Ref{Repository: tt.repo, Name: tt.chart}, helmrepo.Auth{})
			if !errors.Is(err, helmrepo.ErrNotFound) || helmrepo.IsRetryable(err) {
				t.Fatalf("err = %v, want ErrNotFound, not retryable", err)
			}
			if !strings.Contains(err.Error(), "chart "+tt.chart) {
				t.Fatalf("err = %v, does not name the chart", err)
			}
		})
	}
}

func TestHTTPServerDown(t *testing.T) {
	srv := chartrepo.NewServer(t, chartrepo.Options{})
	url := srv.URL
	srv.Close()
	_, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), helmrepo.Ref{Repository: url, Name: "demo", Version: "1.0.0"}, helmrepo.Auth{})
	if !errors.Is(err, helmrepo.ErrUnavailable) || !helmrepo.IsRetryable(err) {
		t.Fatalf("err = %v, want ErrUnavailable (retryable)", err)
	}
}

func TestHTTPCache(t *testing.T) {
	srv := chartrepo.NewServer(t, chartrepo.Options{})
	publish(t, srv, true, "1.0.0", "1.1.0")
	dir := t.TempDir()
	ref := helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "^1"}
	c := helmrepo.New(dir)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := c.Fetch(context.Background(), ref, helmrepo.Auth{}); err != nil {
				t.Errorf("Fetch: %v", err)
			}
		})
	}
	wg.Wait()
	if _, err := c.Fetch(context.Background(), ref, helmrepo.Auth{}); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if n := srv.Requests("index.yaml"); n != 1 {
		t.Errorf("index.yaml downloaded %d times within the TTL, want 1", n)
	}
	if n := srv.Requests("demo-1.1.0.tgz"); n != 1 {
		t.Errorf("archive downloaded %d times, want 1", n)
	}
	// A new client on the same cache folder (a restarted daemon) reads the
	// index again but takes the archive from disk.
	if _, err := helmrepo.New(dir).Fetch(context.Background(), ref, helmrepo.Auth{}); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if n := srv.Requests("demo-1.1.0.tgz"); n != 1 {
		t.Errorf("archive downloaded %d times with it in the disk cache, want 1", n)
	}
	// With a TTL of 0 the index is read on every fetch.
	c0 := helmrepo.New(dir, helmrepo.WithIndexTTL(0))
	for range 2 {
		if _, err := c0.Fetch(context.Background(), ref, helmrepo.Auth{}); err != nil {
			t.Fatalf("Fetch: %v", err)
		}
	}
	if n := srv.Requests("index.yaml"); n != 4 {
		t.Errorf("index.yaml downloaded %d times in all, want 4", n)
	}
}

func TestHTTPIndexTooLarge(t *testing.T) {
	srv := chartrepo.NewServer(t, chartrepo.Options{})
	publish(t, srv, true, "1.0.0", "1.1.0", "1.2.0")
	c := helmrepo.New(t.TempDir(), helmrepo.WithLimits(helmrepo.Limits{IndexSize: 200}))
	_, err := c.Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo"}, helmrepo.Auth{})
	if !errors.Is(err, helmrepo.ErrTooLarge) || !strings.Contains(err.Error(), "index.yaml") {
		t.Fatalf("err = %v, want ErrTooLarge naming index.yaml", err)
	}
	c = helmrepo.New(t.TempDir(), helmrepo.WithLimits(helmrepo.Limits{ArchiveSize: 100}))
	_, err = c.Fetch(context.Background(), helmrepo.Ref{Repository: srv.URL, Name: "demo"}, helmrepo.Auth{})
	if !errors.Is(err, helmrepo.ErrTooLarge) || !strings.Contains(err.Error(), "archive") {
		t.Fatalf("err = %v, want ErrTooLarge naming the archive", err)
	}
}

func TestHTTPCredentialsNeverInErrors(t *testing.T) {
	const password, token = "hunter2-Pa55", "tok-Sekr1t-9"
	srv := chartrepo.NewServer(t, chartrepo.Options{Username: "u", Password: "other"})
	publish(t, srv, true, "1.0.0")
	down := chartrepo.NewServer(t, chartrepo.Options{})
	down.Close()
	for _, tt := range []struct {
		name string
		ref  helmrepo.Ref
		auth helmrepo.Auth
	}{
		{"userinfo in the URL is refused", helmrepo.Ref{Repository: strings.Replace(srv.URL, "://", "://u:"+password+"@", 1), Name: "demo"}, helmrepo.Auth{}},
		{"token in the query, server down", helmrepo.Ref{Repository: down.URL + "?token=" + token, Name: "demo"}, helmrepo.Auth{BearerToken: token}},
		{"wrong password", helmrepo.Ref{Repository: srv.URL, Name: "demo"}, helmrepo.Auth{Username: "u", Password: password}},
		{"token refused", helmrepo.Ref{Repository: srv.URL, Name: "demo"}, helmrepo.Auth{BearerToken: token}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), tt.ref, tt.auth)
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			assertNoSecrets(t, err, password, token)
		})
	}
}

func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error shows a credential: %v", err)
		}
	}
}

func TestHTTPCredentialsStayOnTheRepositoryHost(t *testing.T) {
	const user, password = "u", "Pw-0nly-for-the-repo"
	repo := chartrepo.NewServer(t, chartrepo.Options{Username: user, Password: password})
	other := chartrepo.NewServer(t, chartrepo.Options{})
	archive := chartrepo.Package(t, chartrepo.Demo(), "demo", "1.0.0")
	other.Serve("demo-1.0.0.tgz", archive)
	repo.AddURL("demo", "1.0.0", other.URL+"/demo-1.0.0.tgz")
	ch, err := helmrepo.New(t.TempDir()).Fetch(context.Background(), helmrepo.Ref{Repository: repo.URL, Name: "demo", Version: "1.0.0"}, helmrepo.Auth{Username: user, Password: password})
	if err != nil || ch.Digest != chartrepo.Digest(archive) {
		t.Fatalf("Fetch: %v", err)
	}
	if other.Requests("demo-1.0.0.tgz") != 1 || other.RequestsWithAuthorization() != 0 {
		t.Fatalf("the archive host got %d requests, %d with credentials; want 1, 0", other.Requests("demo-1.0.0.tgz"), other.RequestsWithAuthorization())
	}
	if repo.RequestsWithAuthorization() != 1 {
		t.Fatalf("the repository got %d requests with credentials, want 1 (index.yaml)", repo.RequestsWithAuthorization())
	}
}

func TestHTTPCorruptCacheIsFetchedAgain(t *testing.T) {
	srv := chartrepo.NewServer(t, chartrepo.Options{})
	archives := publish(t, srv, true, "1.0.0")
	dir := t.TempDir()
	ref := helmrepo.Ref{Repository: srv.URL, Name: "demo", Version: "1.0.0"}
	if _, err := helmrepo.New(dir).Fetch(context.Background(), ref, helmrepo.Auth{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sha256", strings.TrimPrefix(chartrepo.Digest(archives["1.0.0"]), "sha256:")+".tgz")
	if err := os.WriteFile(file, []byte("bit rot"), 0o644); err != nil {
		t.Fatalf("the cache is not content-addressed where expected: %v", err)
	}
	ch, err := helmrepo.New(dir).Fetch(context.Background(), ref, helmrepo.Auth{})
	if err != nil || string(ch.Archive) != string(archives["1.0.0"]) {
		t.Fatalf("Fetch after corruption: %v", err)
	}
	if n := srv.Requests("demo-1.0.0.tgz"); n != 2 {
		t.Fatalf("archive downloaded %d times, want 2 (the corrupt copy refused)", n)
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != string(archives["1.0.0"]) {
		t.Fatalf("cache not repaired: %v", err)
	}
}

func TestHTTPCanceledContext(t *testing.T) {
	srv := chartrepo.NewServer(t, chartrepo.Options{})
	publish(t, srv, true, "1.0.0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := helmrepo.New(t.TempDir()).Fetch(ctx, helmrepo.Ref{Repository: srv.URL, Name: "demo"}, helmrepo.Auth{})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, helmrepo.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}
