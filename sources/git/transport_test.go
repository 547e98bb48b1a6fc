package git_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/gitkit"
	"github.com/fluxcd/pkg/gittestserver"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources/git"
)

func TestHTTPBasicAuth(t *testing.T) {
	const user, password = "alice", "s3cret-Pa55"
	hs := startHTTP(t, user, password)
	head := hs.repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	withCreds := func(u, p string) string {
		parsed, err := url.Parse(hs.url())
		if err != nil {
			t.Fatal(err)
		}
		parsed.User = url.UserPassword(u, p)
		return parsed.String()
	}
	for _, tc := range []struct {
		name    string
		url     string
		auth    git.Auth
		wantErr error
	}{
		{name: "correct credentials", url: hs.url(), auth: git.Auth{Username: user, Password: password}},
		{name: "credentials in the url", url: withCreds(user, password)},
		{name: "wrong password", url: hs.url(), auth: git.Auth{Username: user, Password: "wrong-Pa55word"}, wantErr: git.ErrAuth},
		{name: "wrong password in the url", url: withCreds(user, "wrong-Pa55word"), wantErr: git.ErrAuth},
		{name: "no credentials", url: hs.url(), wantErr: git.ErrAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			src := git.Source{Name: "private", URL: tc.url, Ref: git.RefSpec{Branch: "main"}, Auth: tc.auth}
			rev, err := c.Fetch(testCtx(t), src)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				wantCommit(t, rev, head)
				return
			}
			wantErr(t, err, tc.wantErr, false)
			msg := err.Error()
			wantNotContains(t, msg, password, "wrong-Pa55word", "alice:")
			if !strings.HasPrefix(msg, `source "private": list refs at `+hs.url()+": authentication failed") {
				t.Fatalf("error %q does not name the source, the redacted url and the failure", msg)
			}
			for _, s := range []string{fmt.Sprint(src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src)} {
				wantNotContains(t, s, password, "wrong-Pa55word")
			}
		})
	}
}

func TestHTTPBearerToken(t *testing.T) {
	const token = "tok-7f3a9c"
	requireBearer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.Header().Set("WWW-Authenticate", `Bearer realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	hs := startHTTP(t, "", "", requireBearer)
	head := hs.repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	for _, tc := range []struct {
		name    string
		token   string
		wantErr error
	}{
		{name: "valid token", token: token},
		{name: "wrong token", token: "tok-wrong-0000", wantErr: git.ErrAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := git.Source{Name: "tok", URL: hs.url(), Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{BearerToken: tc.token}}
			rev, err := newClient(t).Fetch(testCtx(t), src)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				wantCommit(t, rev, head)
				return
			}
			wantErr(t, err, tc.wantErr, false)
			wantNotContains(t, err.Error(), tc.token)
		})
	}
}

func TestHTTPSWithCABundle(t *testing.T) {
	certPEM, keyPEM := selfSignedCert(t)
	srv := gittestserver.NewGitServer(t.TempDir())
	repo := gitrepo.Init(t, filepath.Join(srv.Root(), "repo.git"))
	head := repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	if err := srv.StartHTTPS(certPEM, keyPEM, certPEM, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.StopHTTP)
	url := srv.HTTPAddress() + "/repo.git"

	t.Run("trusted ca", func(t *testing.T) {
		src := git.Source{Name: "tls", URL: url, Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{CABundle: certPEM}}
		wantCommit(t, mustFetch(t, newClient(t), src), head)
	})
	t.Run("unknown ca is terminal", func(t *testing.T) {
		_, err := newClient(t).Fetch(testCtx(t), git.Source{Name: "tls", URL: url, Ref: git.RefSpec{Branch: "main"}})
		if err == nil || git.IsRetryable(err) {
			t.Fatalf("error %v: want a terminal tls error", err)
		}
	})
}

func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// sshServerMu guards gittestserver's package-level public key lookup.
var sshServerMu sync.Mutex

// sshServer is a gittestserver SSH server accepting only clientKey, with
// its repository and host key.
type sshServer struct {
	url        string
	hostport   string
	hostKey    ssh.PublicKey
	repo       *gitrepo.Repo
	knownHosts []byte
}

func startSSH(t *testing.T, clientKey sshKey) *sshServer {
	t.Helper()
	sshServerMu.Lock()
	t.Cleanup(sshServerMu.Unlock)
	root := t.TempDir()
	srv := gittestserver.NewGitServer(root).KeyDir(filepath.Join(root, "keys"))
	srv.Auth("unused", "unused") // switches on ssh public key auth
	allowed := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(clientKey.signer.PublicKey())))
	srv.PublicKeyLookupFunc(func(content string) (*gitkit.PublicKey, error) {
		if content != allowed {
			return nil, fmt.Errorf("key not allowed")
		}
		return &gitkit.PublicKey{Id: "test"}, nil
	})
	repo := gitrepo.Init(t, filepath.Join(root, "repo.git"))
	if err := srv.ListenSSH(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.StartSSH() }()
	t.Cleanup(func() { _ = srv.StopSSH() })

	pubBytes, err := os.ReadFile(filepath.Join(root, "keys", "gitkit.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	hostport := strings.TrimPrefix(srv.SSHAddress(), "ssh://git@")
	return &sshServer{
		url:        srv.SSHAddress() + "/repo.git",
		hostport:   hostport,
		hostKey:    hostKey,
		repo:       repo,
		knownHosts: []byte(knownhosts.Line([]string{knownhosts.Normalize(hostport)}, hostKey) + "\n"),
	}
}

func TestSSH(t *testing.T) {
	clientKey := newSSHKey(t, "trueup@test")
	srv := startSSH(t, clientKey)
	head := srv.repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})

	otherHostKey := newSSHKey(t, "other").signer.PublicKey()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaClient := sshKeyFrom(t, rsaKey, "rsa")
	encrypted := encryptedKey(t, clientKey, "open sesame")

	for _, tc := range []struct {
		name      string
		auth      git.Auth
		wantErr   error
		retryable bool
	}{
		{name: "key and known hosts", auth: git.Auth{SSHPrivateKey: clientKey.privatePEM, KnownHosts: srv.knownHosts}},
		{name: "encrypted key with passphrase", auth: git.Auth{SSHPrivateKey: encrypted, SSHPassphrase: "open sesame", KnownHosts: srv.knownHosts}},
		{name: "known hosts with other hosts and comments", auth: git.Auth{SSHPrivateKey: clientKey.privatePEM,
			KnownHosts: append([]byte("# comment\n"+knownhosts.Line([]string{"github.com"}, otherHostKey)+"\n"), srv.knownHosts...)}},
		{name: "insecure ignore host key", auth: git.Auth{SSHPrivateKey: clientKey.privatePEM, InsecureIgnoreHostKey: true}},
		{name: "host key mismatch", auth: git.Auth{SSHPrivateKey: clientKey.privatePEM,
			KnownHosts: []byte(knownhosts.Line([]string{knownhosts.Normalize(srv.hostport)}, otherHostKey) + "\n")}, wantErr: git.ErrHostKey},
		{name: "host not in known hosts", auth: git.Auth{SSHPrivateKey: clientKey.privatePEM,
			KnownHosts: []byte(knownhosts.Line([]string{"example.com"}, srv.hostKey) + "\n")}, wantErr: git.ErrHostKey},
		{name: "key not accepted by the server", auth: git.Auth{SSHPrivateKey: rsaClient.privatePEM, KnownHosts: srv.knownHosts}, wantErr: git.ErrAuth},
		{name: "encrypted key without passphrase", auth: git.Auth{SSHPrivateKey: encrypted, KnownHosts: srv.knownHosts}, wantErr: git.ErrInvalidSource},
		{name: "wrong passphrase", auth: git.Auth{SSHPrivateKey: encrypted, SSHPassphrase: "nope", KnownHosts: srv.knownHosts}, wantErr: git.ErrInvalidSource},
		{name: "no known hosts", auth: git.Auth{SSHPrivateKey: clientKey.privatePEM}, wantErr: git.ErrInvalidSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := git.Source{Name: "ssh", URL: srv.url, Ref: git.RefSpec{Branch: "main"}, Auth: tc.auth}
			// Decrypting an OpenSSH key (bcrypt) is slow under -race.
			rev, err := newClient(t, git.WithTimeout(time.Minute)).Fetch(testCtx(t), src)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				wantCommit(t, rev, head)
				return
			}
			wantErr(t, err, tc.wantErr, tc.retryable)
			wantNotContains(t, err.Error(), "open sesame", "PRIVATE KEY")
		})
	}
}

// TestSSHAuthChangeTakesEffect checks that a Client's cached ssh material
// is replaced when the source's known hosts or key change.
func TestSSHAuthChangeTakesEffect(t *testing.T) {
	clientKey := newSSHKey(t, "trueup@test")
	srv := startSSH(t, clientKey)
	head := srv.repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	c := newClient(t)
	src := git.Source{Name: "ssh", URL: srv.url, Ref: git.RefSpec{Branch: "main"},
		Auth: git.Auth{SSHPrivateKey: clientKey.privatePEM, KnownHosts: srv.knownHosts}}
	wantCommit(t, mustFetch(t, c, src), head)

	other := newSSHKey(t, "other")
	changed := src
	changed.Auth.KnownHosts = []byte(knownhosts.Line([]string{knownhosts.Normalize(srv.hostport)}, other.signer.PublicKey()) + "\n")
	_, err := c.Fetch(testCtx(t), changed)
	wantErr(t, err, git.ErrHostKey, false)

	changed = src
	changed.Auth.SSHPrivateKey = other.privatePEM
	_, err = c.Fetch(testCtx(t), changed)
	wantErr(t, err, git.ErrAuth, false)

	wantCommit(t, mustFetch(t, c, src), head)
}

func encryptedKey(t *testing.T, k sshKey, passphrase string) []byte {
	t.Helper()
	priv, err := ssh.ParseRawPrivateKey(k.privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "enc", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}
