package git_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/crypto/ssh"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

// testTimeout bounds every call a test makes.
const testTimeout = 30 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newRepo makes a bare repository in a temp dir.
func newRepo(t *testing.T) *gitrepo.Repo {
	t.Helper()
	return gitrepo.Init(t, filepath.Join(t.TempDir(), "repo.git"))
}

func newClient(t *testing.T, opts ...git.Option) *git.Client {
	t.Helper()
	return git.New(filepath.Join(t.TempDir(), "cache"), opts...)
}

func files(kv ...string) map[string]gitrepo.Entry {
	out := map[string]gitrepo.Entry{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = gitrepo.File(kv[i+1])
	}
	return out
}

func branchSource(name, url string) git.Source {
	return git.Source{Name: name, URL: url, Ref: git.RefSpec{Branch: gitrepo.DefaultBranch}}
}

func mustFetch(t *testing.T, c *git.Client, src git.Source) sources.Revision {
	t.Helper()
	rev, err := c.Fetch(testCtx(t), src)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return rev
}

func wantCommit(t *testing.T, rev sources.Revision, h plumbing.Hash) {
	t.Helper()
	if rev.Commit != h.String() {
		t.Fatalf("commit = %s, want %s", rev.Commit, h)
	}
}

// wantErr checks err wraps sentinel and says whether it is retryable.
func wantErr(t *testing.T, err, sentinel error, retryable bool) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want one wrapping %q", err, sentinel)
	}
	if got := git.IsRetryable(err); got != retryable {
		t.Fatalf("IsRetryable(%v) = %v, want %v", err, got, retryable)
	}
}

func wantNotContains(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			t.Fatalf("%q contains secret %q", s, sec)
		}
	}
}

// serverCounter counts what a Git HTTP server was asked: ref advertisements
// (ls-remote and the first half of a fetch) and upload-pack requests (the
// pack transfer of a fetch), with the bytes of packs sent.
type serverCounter struct {
	advertisements atomic.Int64
	uploadPacks    atomic.Int64
	packBytes      atomic.Int64
}

func (c *serverCounter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs"):
			c.advertisements.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			c.uploadPacks.Add(1)
			w = &countingWriter{ResponseWriter: w, n: &c.packBytes}
		}
		next.ServeHTTP(w, r)
	})
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.n.Add(int64(len(b)))
	return w.ResponseWriter.Write(b)
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// httpServer is a gittestserver serving one bare repository "repo.git".
type httpServer struct {
	srv     *gittestserver.GitServer
	repo    *gitrepo.Repo
	counter *serverCounter
}

func (s *httpServer) url() string { return s.srv.HTTPAddress() + "/repo.git" }

// startHTTP serves a new repository over HTTP; with user set, basic auth is
// required. Extra middlewares run before the counter.
func startHTTP(t *testing.T, user, password string, mw ...gittestserver.HTTPMiddleware) *httpServer {
	t.Helper()
	srv := gittestserver.NewGitServer(t.TempDir())
	if user != "" {
		srv.Auth(user, password)
	}
	hs := &httpServer{srv: srv, counter: &serverCounter{}}
	srv.AddHTTPMiddlewares(append([]gittestserver.HTTPMiddleware{hs.counter.middleware}, mw...)...)
	hs.repo = gitrepo.Init(t, filepath.Join(srv.Root(), "repo.git"))
	if err := srv.StartHTTP(); err != nil {
		t.Fatalf("start http server: %v", err)
	}
	t.Cleanup(srv.StopHTTP)
	return hs
}

// sshKey is an ed25519 key pair for ssh auth or signing.
type sshKey struct {
	signer        ssh.Signer
	privatePEM    []byte
	authorizedKey []byte
}

func newSSHKey(t *testing.T, comment string) sshKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sshKeyFrom(t, priv, comment)
}

func sshKeyFrom(t *testing.T, priv any, comment string) sshKey {
	t.Helper()
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		t.Fatal(err)
	}
	ak := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment + "\n"
	return sshKey{signer: signer, privatePEM: pem.EncodeToMemory(block), authorizedKey: []byte(ak)}
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

// runConcurrently runs f n times at once and returns the errors.
func runConcurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}
