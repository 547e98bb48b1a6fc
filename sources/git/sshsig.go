package git

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSH signatures (OpenSSH PROTOCOL.sshsig), as made by `ssh-keygen -Y sign`
// and by git with gpg.format=ssh.
const (
	sshSigMagic   = "SSHSIG"
	sshSigVersion = 1
	sshSigFooter  = "-----END SSH SIGNATURE-----"
	gitNamespace  = "git"
	// maxSSHSigBytes bounds the armored signature a commit may carry.
	maxSSHSigBytes = 64 << 10
)

// sshSignature is a parsed sshsig blob.
type sshSignature struct {
	publicKey     ssh.PublicKey
	namespace     string
	reserved      []byte
	hashAlgorithm string
	signature     *ssh.Signature
}

// parseSSHSignature parses an armored sshsig signature. It checks structure
// only; verify checks the cryptography.
func parseSSHSignature(armored []byte) (*sshSignature, error) {
	blob, err := unarmorSSHSignature(armored)
	if err != nil {
		return nil, err
	}
	r := wireReader{b: blob}
	magic := r.next(len(sshSigMagic))
	if string(magic) != sshSigMagic {
		return nil, errors.New("ssh signature: bad magic")
	}
	if v, ok := r.uint32(); !ok || v != sshSigVersion {
		return nil, fmt.Errorf("ssh signature: unsupported version %d", v)
	}
	pub, ns, reserved, hashAlg, sigBlob := r.string(), r.string(), r.string(), r.string(), r.string()
	if r.err || len(r.b) != 0 {
		return nil, errors.New("ssh signature: malformed blob")
	}
	key, err := ssh.ParsePublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ssh signature: public key: %w", err)
	}
	sig, err := parseSSHWireSignature(sigBlob)
	if err != nil {
		return nil, err
	}
	return &sshSignature{publicKey: key, namespace: string(ns), reserved: reserved,
		hashAlgorithm: string(hashAlg), signature: sig}, nil
}

// parseSSHWireSignature parses the ssh signature format: string format,
// string blob, then extra fields (security keys) kept as Rest.
func parseSSHWireSignature(b []byte) (*ssh.Signature, error) {
	r := wireReader{b: b}
	format, blob := r.string(), r.string()
	if r.err || len(format) == 0 {
		return nil, errors.New("ssh signature: malformed signature")
	}
	sig := &ssh.Signature{Format: string(format), Blob: blob}
	if len(r.b) > 0 {
		// Only security-key signatures carry fields after the blob.
		if !strings.HasPrefix(sig.Format, "sk-") {
			return nil, errors.New("ssh signature: malformed signature")
		}
		sig.Rest = r.b
	}
	return sig, nil
}

func unarmorSSHSignature(armored []byte) ([]byte, error) {
	if len(armored) > maxSSHSigBytes {
		return nil, errors.New("ssh signature: too large")
	}
	s := strings.TrimSpace(string(armored))
	if !strings.HasPrefix(s, sshSignatureHeader) || !strings.HasSuffix(s, sshSigFooter) ||
		len(s) < len(sshSignatureHeader)+len(sshSigFooter) {
		return nil, errors.New("ssh signature: missing armor")
	}
	body := s[len(sshSignatureHeader) : len(s)-len(sshSigFooter)]
	body = strings.Join(strings.Fields(body), "")
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, errors.New("ssh signature: bad base64")
	}
	return blob, nil
}

// verify checks that the signature is over message, in namespace, by one of
// the allowed keys, and returns that key.
func (s *sshSignature) verify(message []byte, namespace string, allowed []allowedSSHKey) (allowedSSHKey, error) {
	if s.namespace != namespace {
		return allowedSSHKey{}, fmt.Errorf("ssh signature: namespace %q, want %q", s.namespace, namespace)
	}
	var h hash.Hash
	switch s.hashAlgorithm {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return allowedSSHKey{}, fmt.Errorf("ssh signature: unsupported hash %q", s.hashAlgorithm)
	}
	if s.signature.Format == ssh.KeyAlgoRSA {
		return allowedSSHKey{}, errors.New("ssh signature: rsa with sha1 is not accepted")
	}
	key, ok := findAllowed(s.publicKey, allowed)
	if !ok {
		return allowedSSHKey{}, fmt.Errorf("ssh signature: key %s is not trusted", ssh.FingerprintSHA256(s.publicKey))
	}
	h.Write(message)
	if err := s.publicKey.Verify(sshSignedData(namespace, s.reserved, s.hashAlgorithm, h.Sum(nil)), s.signature); err != nil {
		return allowedSSHKey{}, fmt.Errorf("ssh signature: %w", err)
	}
	return key, nil
}

func findAllowed(k ssh.PublicKey, allowed []allowedSSHKey) (allowedSSHKey, bool) {
	wire := k.Marshal()
	for _, a := range allowed {
		if bytes.Equal(a.key.Marshal(), wire) {
			return a, true
		}
	}
	return allowedSSHKey{}, false
}

// sshSignedData is what an sshsig signature signs.
func sshSignedData(namespace string, reserved []byte, hashAlg string, digest []byte) []byte {
	var b bytes.Buffer
	b.WriteString(sshSigMagic)
	for _, f := range [][]byte{[]byte(namespace), reserved, []byte(hashAlg), digest} {
		writeWireString(&b, f)
	}
	return b.Bytes()
}

func writeWireString(b *bytes.Buffer, s []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	b.Write(n[:])
	b.Write(s)
}

// wireReader reads ssh wire-format fields; after the first short read err
// is set and every later read returns nothing.
type wireReader struct {
	b   []byte
	err bool
}

func (r *wireReader) next(n int) []byte {
	if r.err || n < 0 || n > len(r.b) {
		r.err = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *wireReader) uint32() (uint32, bool) {
	b := r.next(4)
	if b == nil {
		return 0, false
	}
	return binary.BigEndian.Uint32(b), true
}

func (r *wireReader) string() []byte {
	n, ok := r.uint32()
	if !ok || uint64(n) > uint64(len(r.b)) {
		r.err = true
		return nil
	}
	return r.next(int(n))
}
