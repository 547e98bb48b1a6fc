package git

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
)

var sshsigMessage = []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\n\nmsg\n")

func testSSHSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signSSH(t testing.TB, s ssh.Signer, ns string, msg []byte) []byte {
	t.Helper()
	sig, err := gitrepo.SSHSigner{Signer: s, Namespace: ns}.Sign(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// rearmor rewrites the blob of an armored signature with edit.
func rearmor(t testing.TB, armored []byte, edit func(blob []byte) []byte) []byte {
	t.Helper()
	blob, err := unarmorSSHSignature(armored)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(sshSignatureHeader + "\n" + base64.StdEncoding.EncodeToString(edit(blob)) + "\n" + sshSigFooter + "\n")
}

// blobFields rebuilds an sshsig blob from its fields.
func blobFields(version uint32, fields ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString(sshSigMagic)
	_ = binary.Write(&b, binary.BigEndian, version)
	for _, f := range fields {
		writeWireString(&b, f)
	}
	return b.Bytes()
}

func TestSSHSignature(t *testing.T) {
	signer := testSSHSigner(t)
	other := testSSHSigner(t)
	allowed := []allowedSSHKey{{key: signer.PublicKey(), comment: "me"}}
	good := signSSH(t, signer, "git", sshsigMessage)
	parsed, err := parseSSHSignature(good)
	if err != nil {
		t.Fatal(err)
	}
	pub := signer.PublicKey().Marshal()
	wire := ssh.Marshal(parsed.signature)

	for _, tc := range []struct {
		name      string
		sig       []byte
		msg       []byte
		allowed   []allowedSSHKey
		wantParse string // error substring from parsing
		wantErr   string // error substring from verifying
	}{
		{name: "valid", sig: good},
		{name: "valid with crlf and indentation", sig: bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n  "))},
		{name: "other message", sig: good, msg: []byte("tampered"), wantErr: "verify"},
		{name: "untrusted key", sig: good, allowed: []allowedSSHKey{{key: other.PublicKey()}}, wantErr: "not trusted"},
		{name: "other namespace", sig: signSSH(t, signer, "file", sshsigMessage), wantErr: "namespace"},
		{name: "missing armor", sig: []byte("AAAA"), wantParse: "armor"},
		{name: "pgp armor", sig: []byte("-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----"), wantParse: "armor"},
		{name: "bad base64", sig: []byte(sshSignatureHeader + "\n!!!\n" + sshSigFooter), wantParse: "base64"},
		{name: "bad magic", sig: rearmor(t, good, func(b []byte) []byte { b[0] = 'X'; return b }), wantParse: "magic"},
		{name: "version 2", sig: rearmor(t, good, func([]byte) []byte {
			return blobFields(2, pub, []byte("git"), nil, []byte("sha512"), wire)
		}), wantParse: "version"},
		{name: "truncated", sig: rearmor(t, good, func(b []byte) []byte { return b[:len(b)-3] }), wantParse: "malformed"},
		{name: "trailing bytes", sig: rearmor(t, good, func(b []byte) []byte { return append(b, 0) }), wantParse: "malformed"},
		{name: "huge length", sig: rearmor(t, good, func([]byte) []byte {
			return append([]byte(sshSigMagic), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff)
		}), wantParse: "malformed"},
		{name: "sha1 hash", sig: rearmor(t, good, func([]byte) []byte {
			return blobFields(1, pub, []byte("git"), nil, []byte("sha1"), wire)
		}), wantErr: "unsupported hash"},
		{name: "public key swapped for a trusted one", sig: rearmor(t, signSSH(t, other, "git", sshsigMessage), func(b []byte) []byte {
			p, err := parseSSHSignature(signSSH(t, other, "git", sshsigMessage))
			if err != nil {
				t.Fatal(err)
			}
			return blobFields(1, pub, []byte("git"), nil, []byte("sha512"), ssh.Marshal(p.signature))
		}), wantErr: "verify"},
		{name: "too large", sig: append(append([]byte{}, good...), bytes.Repeat([]byte(" "), maxSSHSigBytes)...), wantParse: "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := parseSSHSignature(tc.sig)
			if tc.wantParse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantParse) {
					t.Fatalf("parse error %v, want %q", err, tc.wantParse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msg, keys := sshsigMessage, allowed
			if tc.msg != nil {
				msg = tc.msg
			}
			if tc.allowed != nil {
				keys = tc.allowed
			}
			key, err := sig.verify(msg, gitNamespace, keys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("verify error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if key.comment != "me" {
				t.Fatalf("verified by %+v", key)
			}
		})
	}
}

// FuzzParseSSHSignature feeds armored signatures from commits to the parser
// and verifier: they must never panic, and nothing but the real signature
// may verify the message.
func FuzzParseSSHSignature(f *testing.F) {
	signer := testSSHSigner(f)
	allowed := []allowedSSHKey{{key: signer.PublicKey()}}
	good := signSSH(f, signer, "git", sshsigMessage)
	f.Add(good)
	f.Add(signSSH(f, signer, "file", sshsigMessage))
	f.Add(good[:len(good)/2])
	f.Add([]byte(sshSignatureHeader + "\n" + sshSigFooter))
	f.Add([]byte(sshSignatureHeader + "\nU1NIU0lHAAAAAQ==\n" + sshSigFooter))
	f.Add([]byte("-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"))
	f.Add([]byte{})
	goodBlob, err := unarmorSSHSignature(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := parseSSHSignature(data)
		if err != nil {
			return
		}
		if _, err := sig.verify(sshsigMessage, gitNamespace, allowed); err != nil {
			return
		}
		// A verifying signature must carry the genuine signature blob.
		blob, err := unarmorSSHSignature(data)
		if err != nil || !bytes.Equal(blob, goodBlob) {
			t.Fatalf("a signature other than the genuine one verified: %q", data)
		}
	})
}
