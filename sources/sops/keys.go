package sops

import (
	"bytes"
	"fmt"
	"strings"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	sopsage "github.com/getsops/sops/v3/age"
)

// Keys are the private keys that decrypt SOPS files, in memory only. A nil
// *Keys holds no key: every encrypted file fails with ErrNoKey.
type Keys struct {
	age sopsage.ParsedIdentities
	pgp openpgp.EntityList
}

// ParseKeys parses age identities (AGE-SECRET-KEY-1..., one per line, blank
// lines and "#" comments ignored, as in an age key file) and ASCII-armored
// OpenPGP private keys (without a passphrase). Either may be empty. Errors
// never quote the key material.
func ParseKeys(ageKeys, pgpKeys []byte) (*Keys, error) {
	k := &Keys{}
	for i, line := range strings.Split(string(ageKeys), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := age.ParseX25519Identity(line)
		if err != nil {
			return nil, fmt.Errorf("age keys: line %d is not an age identity (want AGE-SECRET-KEY-1..., one per line): %w", i+1, ErrInvalid)
		}
		k.age = append(k.age, id)
	}
	if len(bytes.TrimSpace(pgpKeys)) > 0 {
		ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pgpKeys))
		if err != nil {
			return nil, fmt.Errorf("pgp keys: not an ASCII-armored OpenPGP key ring (gpg --export-secret-keys --armor): %w", ErrInvalid)
		}
		for _, e := range ring {
			if e.PrivateKey == nil {
				return nil, fmt.Errorf("pgp keys: key %X has no private key: export it with gpg --export-secret-keys: %w", e.PrimaryKey.Fingerprint, ErrInvalid)
			}
			if e.PrivateKey.Encrypted {
				return nil, fmt.Errorf("pgp keys: key %X is protected by a passphrase: export it without one: %w", e.PrimaryKey.Fingerprint, ErrInvalid)
			}
		}
		k.pgp = ring
	}
	return k, nil
}

// Empty reports whether k holds no key.
func (k *Keys) Empty() bool { return k == nil || len(k.age) == 0 && len(k.pgp) == 0 }
