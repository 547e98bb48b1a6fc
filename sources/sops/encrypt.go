package sops

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/pgp"
)

// EncryptOptions say whom Encrypt encrypts to.
type EncryptOptions struct {
	// AgeRecipients are age public keys (age1...).
	AgeRecipients []string
	// PGPPublicKeys is an ASCII-armored OpenPGP key ring; the file is
	// encrypted to every key in it.
	PGPPublicKeys []byte
	// EncryptedRegex limits encryption to the keys it matches, as sops'
	// --encrypted-regex (for a Secret: ^(data|stringData)$); empty: every
	// value.
	EncryptedRegex string
}

// Encrypt encrypts a YAML, JSON or dotenv file (by name) as `sops
// --encrypt` does, in memory, for tests and tooling.
func Encrypt(name string, plain []byte, opt EncryptOptions) ([]byte, error) {
	f := FormatYAML
	switch {
	case bytes.HasSuffix([]byte(name), []byte(".json")):
		f = FormatJSON
	case bytes.HasSuffix([]byte(name), []byte(".env")):
		f = FormatDotenv
	}
	st, err := storeFor(f)
	if err != nil {
		return nil, err
	}
	branches, err := st.LoadPlainFile(plain)
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	var group sops.KeyGroup
	for _, r := range opt.AgeRecipients {
		mk, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			return nil, fmt.Errorf("age recipient %q: %w", r, err)
		}
		group = append(group, mk)
	}
	var ring openpgp.EntityList
	if len(opt.PGPPublicKeys) > 0 {
		if ring, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(opt.PGPPublicKeys)); err != nil {
			return nil, fmt.Errorf("pgp public keys: %w", err)
		}
		for _, e := range ring {
			group = append(group, pgp.NewMasterKeyFromFingerprint(fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)))
		}
	}
	if len(group) == 0 {
		return nil, fmt.Errorf("%s: no recipients: %w", name, ErrInvalid)
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{
		KeyGroups:      []sops.KeyGroup{group},
		EncryptedRegex: opt.EncryptedRegex,
		Version:        sopsVersion,
	}}
	if opt.EncryptedRegex == "" {
		tree.Metadata.UnencryptedSuffix = "_unencrypted"
	}
	svc := keyservice.NewCustomLocalClient(keyServer{pgpPublic: ring})
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{svc})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: encrypt the data key: %v", name, errs)
	}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, fmt.Errorf("%s: encrypt: %w", name, err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	if tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		return nil, fmt.Errorf("%s: encrypt the MAC: %w", name, err)
	}
	return st.EmitEncryptedFile(tree)
}

// sopsVersion is the sops release whose file format Encrypt writes.
const sopsVersion = "3.13.3"
