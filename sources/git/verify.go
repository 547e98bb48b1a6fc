package git

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"

	"github.com/trueup-dev/trueup/sources"
)

// Armor headers that tell the signature formats of a commit's gpgsig apart.
const (
	pgpSignatureHeader  = "-----BEGIN PGP SIGNATURE-----"
	sshSignatureHeader  = "-----BEGIN SSH SIGNATURE-----"
	x509SignatureHeader = "-----BEGIN SIGNED MESSAGE-----"
)

// Signature kinds beyond those of package sources: recognised, never verified.
const (
	// SignatureX509 is a gpgsm (X.509) signature.
	SignatureX509 sources.SignatureKind = "x509"
	// SignatureUnknown is a gpgsig header in no known format.
	SignatureUnknown sources.SignatureKind = "unknown"
)

// signatureKind tells how a commit is signed from its gpgsig header.
func signatureKind(c *object.Commit) sources.SignatureKind {
	sig := strings.TrimSpace(c.PGPSignature)
	switch {
	case sig == "":
		return sources.SignatureNone
	case strings.HasPrefix(sig, sshSignatureHeader):
		return sources.SignatureSSH
	case strings.HasPrefix(sig, pgpSignatureHeader):
		return sources.SignatureOpenPGP
	case strings.HasPrefix(sig, x509SignatureHeader):
		return SignatureX509
	}
	return SignatureUnknown
}

// verifyCommit checks the commit's signature against the trusted keys. With
// verification off it only reports the kind of signature. With it on, any
// commit without a valid signature from a trusted key is ErrUnverified.
func verifyCommit(c *object.Commit, v Verify) (sources.Signature, error) {
	kind := signatureKind(c)
	if !v.required() {
		return sources.Signature{Kind: kind}, nil
	}
	var (
		sig sources.Signature
		err error
	)
	switch kind {
	case sources.SignatureNone:
		err = fmt.Errorf("%w: commit is not signed", ErrUnverified)
	case sources.SignatureOpenPGP:
		sig, err = verifyOpenPGP(c, v.OpenPGPKeys)
	case sources.SignatureSSH:
		sig, err = verifySSH(c, v.SSHKeys)
	default:
		err = fmt.Errorf("%w: %s signatures are not supported", ErrUnverified, kind)
	}
	if err != nil {
		return sources.Signature{Kind: kind}, err
	}
	return sig, nil
}

func verifyOpenPGP(c *object.Commit, keys [][]byte) (sources.Signature, error) {
	unverified := sources.Signature{Kind: sources.SignatureOpenPGP}
	if len(keys) == 0 {
		return unverified, fmt.Errorf("%w: commit has an openpgp signature and no openpgp keys are trusted", ErrUnverified)
	}
	keyring, err := armoredKeyRing(keys)
	if err != nil {
		return unverified, err
	}
	entity, err := c.Verify(keyring)
	if err != nil {
		return unverified, fmt.Errorf("%w: openpgp: %w", ErrUnverified, err)
	}
	out := sources.Signature{Kind: sources.SignatureOpenPGP, Verified: true,
		KeyID: strings.ToUpper(fmt.Sprintf("%x", entity.PrimaryKey.Fingerprint))}
	if id := entity.PrimaryIdentity(); id != nil {
		out.Signer = id.Name
	}
	return out, nil
}

// armoredKeyRing merges the trusted keys (each item may hold several armor
// blocks) into the one armored keyring go-git's Commit.Verify reads.
func armoredKeyRing(keys [][]byte) (string, error) {
	var all openpgp.EntityList
	for i, k := range keys {
		el, err := readArmoredKeys(k)
		if err != nil {
			return "", fmt.Errorf("%w: verify: openpgp key %d: %w", ErrInvalidSource, i+1, err)
		}
		all = append(all, el...)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return "", err
	}
	for _, e := range all {
		if err := e.Serialize(w); err != nil {
			return "", fmt.Errorf("verify: serialize openpgp key: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// pgpPublicKeyHeader starts each armored public key block.
const pgpPublicKeyHeader = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

// readArmoredKeys reads every armored public key block in b. The armor
// decoder reads ahead, so blocks are split before decoding.
func readArmoredKeys(b []byte) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	header := []byte(pgpPublicKeyHeader)
	for {
		i := bytes.Index(b, header)
		if i < 0 {
			break
		}
		b = b[i:]
		next := bytes.Index(b[len(header):], header)
		block := b
		if next >= 0 {
			block, b = b[:len(header)+next], b[len(header)+next:]
		} else {
			b = nil
		}
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(block))
		if err != nil {
			return nil, err
		}
		all = append(all, el...)
	}
	if len(all) == 0 {
		return nil, errors.New("no armored public key block found")
	}
	return all, nil
}

func verifySSH(c *object.Commit, keys [][]byte) (sources.Signature, error) {
	unverified := sources.Signature{Kind: sources.SignatureSSH}
	if len(keys) == 0 {
		return unverified, fmt.Errorf("%w: commit has an ssh signature and no ssh keys are trusted", ErrUnverified)
	}
	allowed, err := parseAllowedSSHKeys(keys)
	if err != nil {
		return unverified, err
	}
	sig, err := parseSSHSignature([]byte(c.PGPSignature))
	if err != nil {
		return unverified, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	msg, err := encodeWithoutSignature(c)
	if err != nil {
		return unverified, err
	}
	key, err := sig.verify(msg, gitNamespace, allowed)
	if err != nil {
		return unverified, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	return sources.Signature{Kind: sources.SignatureSSH, Verified: true,
		KeyID: ssh.FingerprintSHA256(key.key), Signer: key.comment}, nil
}

func encodeWithoutSignature(c *object.Commit) ([]byte, error) {
	obj := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(obj); err != nil {
		return nil, fmt.Errorf("encode commit: %w", err)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("encode commit: %w", err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// allowedSSHKey is a trusted ssh public key and its authorized_keys comment.
type allowedSSHKey struct {
	key     ssh.PublicKey
	comment string
}

// parseAllowedSSHKeys reads authorized_keys lines; each item must hold at
// least one key.
func parseAllowedSSHKeys(items [][]byte) ([]allowedSSHKey, error) {
	var out []allowedSSHKey
	for i, item := range items {
		rest := item
		n := 0
		for len(bytes.TrimSpace(rest)) > 0 {
			key, comment, _, r, err := ssh.ParseAuthorizedKey(rest)
			if err != nil {
				if n == 0 {
					return nil, fmt.Errorf("%w: verify: ssh key %d: %w", ErrInvalidSource, i+1, err)
				}
				break
			}
			out = append(out, allowedSSHKey{key: key, comment: comment})
			n++
			rest = r
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: verify: ssh key %d is empty", ErrInvalidSource, i+1)
		}
	}
	return out, nil
}
