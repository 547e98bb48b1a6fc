package git

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// remoteAuth is what a list or fetch needs besides the URL.
type remoteAuth struct {
	method   transport.AuthMethod
	caBundle []byte
	ssh      *sshAuth
}

// newRemoteAuth builds go-git credentials for the endpoint. Its errors never
// contain key material or passwords. cache holds the source's parsed ssh
// material between calls; the caller holds the source lock.
func newRemoteAuth(ep endpoint, a Auth, timeout time.Duration, cache **sshMaterial) (remoteAuth, error) {
	switch ep.protocol {
	case "http", "https":
		return remoteAuth{method: httpAuth(ep, a), caBundle: a.CABundle}, nil
	case "ssh":
		m, err := loadSSHMaterial(ep, a, *cache)
		if err != nil {
			return remoteAuth{}, err
		}
		*cache = m
		s := newSSHAuth(ep, a, m, timeout)
		return remoteAuth{method: s, ssh: s}, nil
	}
	return remoteAuth{}, nil
}

// sshMaterial is the parsed private key and host key check of an ssh
// source. Decrypting a key is slow on purpose (bcrypt), so a Client keeps
// the last material of each source and reuses it while the inputs match.
type sshMaterial struct {
	digest            [sha256.Size]byte
	signer            ssh.Signer
	hostKeyCallback   ssh.HostKeyCallback
	hostKeyAlgorithms []string
}

func loadSSHMaterial(ep endpoint, a Auth, cached *sshMaterial) (*sshMaterial, error) {
	digest := sshMaterialDigest(ep, a)
	if cached != nil && cached.digest == digest {
		return cached, nil
	}
	signer, err := parseSSHKey(a.SSHPrivateKey, a.SSHPassphrase)
	if err != nil {
		return nil, err
	}
	m := &sshMaterial{digest: digest, signer: signer}
	if a.InsecureIgnoreHostKey {
		m.hostKeyCallback = ssh.InsecureIgnoreHostKey()
		return m, nil
	}
	if m.hostKeyCallback, err = knownHostsCallback(a.KnownHosts); err != nil {
		return nil, err
	}
	m.hostKeyAlgorithms = knownHostAlgorithms(m.hostKeyCallback, ep.hostport)
	return m, nil
}

func sshMaterialDigest(ep endpoint, a Auth) [sha256.Size]byte {
	h := sha256.New()
	insecure := []byte{0}
	if a.InsecureIgnoreHostKey {
		insecure[0] = 1
	}
	for _, f := range [][]byte{[]byte(ep.hostport), a.SSHPrivateKey, []byte(a.SSHPassphrase), a.KnownHosts, insecure} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

func httpAuth(ep endpoint, a Auth) transport.AuthMethod {
	switch {
	case a.BearerToken != "":
		return &githttp.TokenAuth{Token: a.BearerToken}
	case a.Username != "" || a.Password != "":
		return &githttp.BasicAuth{Username: a.Username, Password: a.Password}
	case ep.user != "" || ep.password != "":
		return &githttp.BasicAuth{Username: ep.user, Password: ep.password}
	}
	return nil
}

// sshAuth is a go-git ssh auth method with a private key and a host key
// check from known_hosts. It observes the handshake so that failures can be
// told apart without reading error strings: a rejected host key, or a key
// the server refused to accept (an authentication failure).
type sshAuth struct {
	user              string
	signer            ssh.Signer
	hostKeyCallback   ssh.HostKeyCallback
	hostKeyAlgorithms []string
	timeout           time.Duration

	hostKeyRejected atomic.Bool
	keyOffered      atomic.Bool
	keySigned       atomic.Bool
}

func newSSHAuth(ep endpoint, a Auth, m *sshMaterial, timeout time.Duration) *sshAuth {
	user := ep.user
	if user == "" {
		user = a.Username
	}
	if user == "" {
		user = "git"
	}
	return &sshAuth{user: user, signer: m.signer, hostKeyCallback: m.hostKeyCallback,
		hostKeyAlgorithms: m.hostKeyAlgorithms, timeout: timeout}
}

func parseSSHKey(pemBytes []byte, passphrase string) (ssh.Signer, error) {
	var (
		signer ssh.Signer
		err    error
	)
	if passphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, []byte(passphrase))
	} else {
		signer, err = ssh.ParsePrivateKey(pemBytes)
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("%w: auth: ssh private key is encrypted and no passphrase is set", ErrInvalidSource)
	case err != nil:
		// Parser details are not echoed: they may quote key material.
		return nil, fmt.Errorf("%w: auth: ssh private key cannot be parsed or decrypted", ErrInvalidSource)
	}
	return signer, nil
}

// knownHostsCallback parses known_hosts lines with x/crypto's parser, which
// only reads files: the public lines go through a short-lived temp file.
func knownHostsCallback(lines []byte) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "trueup-known-hosts-*")
	if err != nil {
		return nil, fmt.Errorf("auth: known hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(lines)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("auth: known hosts: %w", werr)
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("%w: auth: known hosts cannot be parsed", ErrInvalidSource)
	}
	return cb, nil
}

// probeKey is a host key no known_hosts line holds; checking it returns the
// keys known for a host.
var probeKey, _ = ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))

// knownHostAlgorithms orders the host key algorithms so that the server
// presents a key of a type known_hosts has for it, as OpenSSH does. The
// other supported algorithms follow, so a server with only unknown key
// types still reaches the host key check and fails it as ErrHostKey.
func knownHostAlgorithms(cb ssh.HostKeyCallback, hostport string) []string {
	var keyErr *knownhosts.KeyError
	if err := cb(hostport, &net.TCPAddr{IP: net.IPv4zero}, probeKey); !errors.As(err, &keyErr) {
		return nil
	}
	supported := ssh.SupportedAlgorithms().HostKeys
	var preferred []string
	for _, k := range keyErr.Want {
		preferred = append(preferred, algorithmsForKeyType(k.Key.Type())...)
	}
	var algos []string
	for _, a := range append(preferred, supported...) {
		if slices.Contains(supported, a) && !slices.Contains(algos, a) {
			algos = append(algos, a)
		}
	}
	return algos
}

func algorithmsForKeyType(t string) []string {
	switch t {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01}
	}
	return []string{t}
}

// Name implements transport.AuthMethod.
func (s *sshAuth) Name() string { return "ssh-public-keys" }

// String implements transport.AuthMethod without key material.
func (s *sshAuth) String() string { return "user: " + s.user + ", name: " + s.Name() }

// ClientConfig implements go-git's ssh.AuthMethod.
func (s *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:            s.user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeysCallback(s.signers)},
		HostKeyCallback: s.checkHostKey,
		// go-git derives these only for its own known_hosts database.
		HostKeyAlgorithms: s.hostKeyAlgorithms,
		Timeout:           s.timeout,
	}, nil
}

// reset clears what the previous connection observed.
func (s *sshAuth) reset() {
	if s == nil {
		return
	}
	s.hostKeyRejected.Store(false)
	s.keyOffered.Store(false)
	s.keySigned.Store(false)
}

func (s *sshAuth) checkHostKey(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if err := s.hostKeyCallback(hostname, remote, key); err != nil {
		s.hostKeyRejected.Store(true)
		return fmt.Errorf("%w: %s key %s for %s: %w", ErrHostKey, key.Type(), ssh.FingerprintSHA256(key), hostname, err)
	}
	return nil
}

func (s *sshAuth) signers() ([]ssh.Signer, error) {
	s.keyOffered.Store(true)
	if as, ok := s.signer.(ssh.AlgorithmSigner); ok {
		return []ssh.Signer{&observedSigner{AlgorithmSigner: as, signed: &s.keySigned}}, nil
	}
	return []ssh.Signer{s.signer}, nil
}

// refine turns an ssh handshake failure into ErrHostKey or ErrAuth using
// what the handshake observed; other errors pass through.
func (s *sshAuth) refine(err error) error {
	switch {
	case err == nil || s == nil:
		return err
	case s.hostKeyRejected.Load() && !errors.Is(err, ErrHostKey):
		return fmt.Errorf("%w: %w", ErrHostKey, err)
	case s.keyOffered.Load() && !s.keySigned.Load() && !s.hostKeyRejected.Load() && !isTransient(err):
		// The server declined the public key before asking for a signature.
		return fmt.Errorf("%w: ssh key %s was not accepted: %w", ErrAuth, ssh.FingerprintSHA256(s.signer.PublicKey()), err)
	}
	return err
}

// observedSigner records that the server accepted the key and asked for a
// signature, keeping the algorithm negotiation of the wrapped signer.
type observedSigner struct {
	ssh.AlgorithmSigner
	signed *atomic.Bool
}

func (o *observedSigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	o.signed.Store(true)
	return o.AlgorithmSigner.Sign(rand, data)
}

func (o *observedSigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	o.signed.Store(true)
	return o.AlgorithmSigner.SignWithAlgorithm(rand, data, algorithm)
}
