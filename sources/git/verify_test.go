package git_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"golang.org/x/crypto/ssh"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
)

func TestVerify(t *testing.T) {
	alice, alicePub := gitrepo.OpenPGPKey(t, "Alice", "alice@example.com")
	_, bobPub := gitrepo.OpenPGPKey(t, "Bob", "bob@example.com")
	mallory, _ := gitrepo.OpenPGPKey(t, "Mallory", "mallory@example.com")
	sshAlice := newSSHKey(t, "alice@example.com")
	sshMallory := newSSHKey(t, "mallory@example.com")
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sshRSA := sshKeyFrom(t, rsaPriv, "rsa@example.com")
	alicePrint := strings.ToUpper(fmtHex(alice.PrimaryKey.Fingerprint))

	head := func(pgp [][]byte, sshKeys [][]byte) git.Verify {
		return git.Verify{Mode: git.VerifyHead, OpenPGPKeys: pgp, SSHKeys: sshKeys}
	}
	for _, tc := range []struct {
		name    string
		signer  gogit.Signer
		verify  git.Verify
		wantSig sources.Signature
		wantErr string // substring of an ErrUnverified error
	}{
		{name: "openpgp signed by a trusted key", signer: gitrepo.OpenPGPSigner{Entity: alice},
			verify:  head([][]byte{alicePub}, nil),
			wantSig: sources.Signature{Kind: sources.SignatureOpenPGP, Verified: true, KeyID: alicePrint, Signer: "Alice <alice@example.com>"}},
		{name: "openpgp trusted among several keys in one item", signer: gitrepo.OpenPGPSigner{Entity: alice},
			verify:  head([][]byte{append(append([]byte{}, bobPub...), alicePub...)}, nil),
			wantSig: sources.Signature{Kind: sources.SignatureOpenPGP, Verified: true, KeyID: alicePrint, Signer: "Alice <alice@example.com>"}},
		{name: "openpgp signed by an untrusted key", signer: gitrepo.OpenPGPSigner{Entity: mallory},
			verify: head([][]byte{alicePub, bobPub}, nil), wantErr: "openpgp"},
		{name: "unsigned commit", verify: head([][]byte{alicePub}, nil), wantErr: "not signed"},
		{name: "ssh ed25519 signed by a trusted key", signer: gitrepo.SSHSigner{Signer: sshAlice.signer},
			verify: head(nil, [][]byte{sshMallory.authorizedKey, sshAlice.authorizedKey}),
			wantSig: sources.Signature{Kind: sources.SignatureSSH, Verified: true,
				KeyID: ssh.FingerprintSHA256(sshAlice.signer.PublicKey()), Signer: "alice@example.com"}},
		{name: "ssh rsa signed by a trusted key", signer: gitrepo.SSHSigner{Signer: sshRSA.signer},
			verify: head(nil, [][]byte{sshRSA.authorizedKey}),
			wantSig: sources.Signature{Kind: sources.SignatureSSH, Verified: true,
				KeyID: ssh.FingerprintSHA256(sshRSA.signer.PublicKey()), Signer: "rsa@example.com"}},
		{name: "ssh signed by an untrusted key", signer: gitrepo.SSHSigner{Signer: sshMallory.signer},
			verify: head(nil, [][]byte{sshAlice.authorizedKey}), wantErr: "is not trusted"},
		{name: "ssh signature for another namespace", signer: gitrepo.SSHSigner{Signer: sshAlice.signer, Namespace: "file"},
			verify: head(nil, [][]byte{sshAlice.authorizedKey}), wantErr: "namespace"},
		{name: "ssh signed but only openpgp keys trusted", signer: gitrepo.SSHSigner{Signer: sshAlice.signer},
			verify: head([][]byte{alicePub}, nil), wantErr: "no ssh keys"},
		{name: "openpgp signed but only ssh keys trusted", signer: gitrepo.OpenPGPSigner{Entity: alice},
			verify: head(nil, [][]byte{sshAlice.authorizedKey}), wantErr: "no openpgp keys"},
		{name: "off mode reports the kind only", signer: gitrepo.OpenPGPSigner{Entity: mallory},
			verify: git.Verify{Mode: git.VerifyOff}, wantSig: sources.Signature{Kind: sources.SignatureOpenPGP}},
		{name: "empty mode is off", signer: gitrepo.SSHSigner{Signer: sshMallory.signer},
			wantSig: sources.Signature{Kind: sources.SignatureSSH}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo := newRepo(t)
			good := repo.Commit(t, files("a", "good"), gitrepo.CommitOptions{Signer: gitrepo.OpenPGPSigner{Entity: alice}})
			c := newClient(t)
			src := branchSource("signed", repo.URL())
			src.Verify = head([][]byte{alicePub}, nil)
			last := mustFetch(t, c, src) // a verified revision to fall back on

			h := repo.Commit(t, files("a", "new"), gitrepo.CommitOptions{Signer: tc.signer})
			src.Verify = tc.verify
			rev, err := c.Fetch(testCtx(t), src)
			if tc.wantErr != "" {
				wantErr(t, err, git.ErrUnverified, false)
				if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), h.String()) {
					t.Fatalf("error %q does not say %q about commit %s", err, tc.wantErr, h)
				}
				if rev != (sources.Revision{}) {
					t.Fatalf("unverified fetch returned a revision: %+v", rev)
				}
				if got, _ := c.LastGood("signed"); got != last || got.Commit != good.String() {
					t.Fatalf("LastGood = %+v, want the verified %s", got, good)
				}
				_, err := c.ReadFiles(testCtx(t), src, h.String(), git.DefaultReadOptions())
				wantErr(t, err, git.ErrUnverified, false)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantCommit(t, rev, h)
			if rev.Signature != tc.wantSig {
				t.Fatalf("signature\n got %+v\nwant %+v", rev.Signature, tc.wantSig)
			}
			if _, err := c.ReadFiles(testCtx(t), src, h.String(), git.DefaultReadOptions()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func fmtHex(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func TestVerifyInvalidKeys(t *testing.T) {
	repo := newRepo(t)
	repo.Commit(t, files("a", "1"), gitrepo.CommitOptions{})
	for _, tc := range []struct {
		name   string
		verify git.Verify
	}{
		{name: "head mode without keys", verify: git.Verify{Mode: git.VerifyHead}},
		{name: "unknown mode", verify: git.Verify{Mode: "all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := branchSource("s", repo.URL())
			src.Verify = tc.verify
			_, err := newClient(t).Fetch(testCtx(t), src)
			wantErr(t, err, git.ErrInvalidSource, false)
		})
	}
}

// TestVerifyGitCLISSHSignature checks the verifier against a commit signed
// by git itself (gpg.format=ssh, which runs ssh-keygen -Y sign).
func TestVerifyGitCLISSHSignature(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	key := newSSHKey(t, "cli@example.com")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_ed25519")
	writeFile(t, keyFile, key.privatePEM, 0o600)
	work := filepath.Join(dir, "work")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	run("init", "-q", "-b", "main")
	writeFile(t, filepath.Join(work, "a.yaml"), []byte("a: 1\n"), 0o644)
	run("add", "a.yaml")
	run("-c", "user.name=CLI", "-c", "user.email=cli@example.com", "-c", "gpg.format=ssh",
		"-c", "user.signingkey="+keyFile, "commit", "-q", "-S", "-m", "signed by git")
	head := run("rev-parse", "HEAD")

	src := branchSource("cli", work)
	src.Verify = git.Verify{Mode: git.VerifyHead, SSHKeys: [][]byte{key.authorizedKey}}
	rev := mustFetch(t, newClient(t), src)
	if rev.Commit != head || !rev.Signature.Verified || rev.Signature.Kind != sources.SignatureSSH {
		t.Fatalf("revision %+v, want verified ssh signature on %s", rev, head)
	}

	other := newSSHKey(t, "other")
	src.Verify.SSHKeys = [][]byte{other.authorizedKey}
	_, err = newClient(t).Fetch(testCtx(t), src)
	wantErr(t, err, git.ErrUnverified, false)
}

// TestSSHSignerMatchesSSHKeygen checks the test fixture's signer against
// `ssh-keygen -Y verify`, so the positive cases above are meaningful.
func TestSSHSignerMatchesSSHKeygen(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed")
	}
	key := newSSHKey(t, "fixture@example.com")
	msg := []byte("tree 0000\n\nmessage\n")
	sig, err := gitrepo.SSHSigner{Signer: key.signer}.Sign(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "allowed"), append([]byte("fixture@example.com "), key.authorizedKey...), 0o644)
	writeFile(t, filepath.Join(dir, "sig"), sig, 0o644)
	cmd := exec.Command(keygen, "-Y", "verify", "-f", filepath.Join(dir, "allowed"), "-I", "fixture@example.com",
		"-n", "git", "-s", filepath.Join(dir, "sig"))
	cmd.Stdin = bytes.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("ssh-keygen rejects the fixture signature: %s", out)
		}
		t.Fatal(err)
	}
}
