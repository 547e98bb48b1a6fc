package sops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keyservice"
)

// keyServer is a SOPS key service that knows only the keys it holds: age
// identities and OpenPGP keys in memory. Every other key type is refused,
// and it never falls back to the environment or the user's key files.
type keyServer struct {
	keyservice.UnimplementedKeyServiceServer
	keys *Keys
	// recipients are the public keys Encrypt encrypts to (for Encrypt).
	pgpPublic openpgp.EntityList
}

var _ keyservice.KeyServiceServer = keyServer{}

// errKeyType: a key type trueup does not use (KMS, Vault, ...).
var errKeyType = errors.New("key type not supported by trueup: only age and OpenPGP keys decrypt")

// Decrypt decrypts a data key with an age or OpenPGP key held in memory.
func (s keyServer) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	var (
		plain []byte
		err   error
	)
	switch k := req.GetKey().GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		plain, err = s.decryptAge(k.AgeKey.GetRecipient(), req.GetCiphertext())
	case *keyservice.Key_PgpKey:
		plain, err = s.decryptPGP(req.GetCiphertext())
	default:
		err = errKeyType
	}
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

func (s keyServer) decryptAge(recipient string, ciphertext []byte) ([]byte, error) {
	if s.keys == nil || len(s.keys.age) == 0 {
		// An empty identity list would make sops read SOPS_AGE_KEY and the
		// user's key file: never.
		return nil, errors.New("no age key")
	}
	mk := &sopsage.MasterKey{Recipient: recipient, EncryptedKey: string(ciphertext)}
	s.keys.age.ApplyToMasterKey(mk)
	return mk.Decrypt()
}

func (s keyServer) decryptPGP(ciphertext []byte) ([]byte, error) {
	if s.keys == nil || len(s.keys.pgp) == 0 {
		return nil, errors.New("no OpenPGP key")
	}
	block, err := armor.Decode(bytes.NewReader(ciphertext))
	if err != nil {
		return nil, fmt.Errorf("read OpenPGP message: %w", err)
	}
	md, err := openpgp.ReadMessage(block.Body, s.keys.pgp, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt OpenPGP message: %w", err)
	}
	return io.ReadAll(md.UnverifiedBody)
}

// Encrypt encrypts a data key to an age recipient or to an OpenPGP public
// key given to Encrypt.
func (s keyServer) Encrypt(_ context.Context, req *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	switch k := req.GetKey().GetKeyType().(type) {
	case *keyservice.Key_AgeKey:
		mk, err := sopsage.MasterKeyFromRecipient(k.AgeKey.GetRecipient())
		if err != nil {
			return nil, err
		}
		if err := mk.Encrypt(req.GetPlaintext()); err != nil {
			return nil, err
		}
		return &keyservice.EncryptResponse{Ciphertext: mk.EncryptedDataKey()}, nil
	case *keyservice.Key_PgpKey:
		out, err := s.encryptPGP(k.PgpKey.GetFingerprint(), req.GetPlaintext())
		if err != nil {
			return nil, err
		}
		return &keyservice.EncryptResponse{Ciphertext: out}, nil
	}
	return nil, errKeyType
}

func (s keyServer) encryptPGP(fingerprint string, plain []byte) ([]byte, error) {
	var to *openpgp.Entity
	for _, e := range s.pgpPublic {
		if strings.EqualFold(fmt.Sprintf("%X", e.PrimaryKey.Fingerprint), fingerprint) {
			to = e
		}
	}
	if to == nil {
		return nil, fmt.Errorf("no OpenPGP public key %s", fingerprint)
	}
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		return nil, err
	}
	w, err := openpgp.Encrypt(aw, []*openpgp.Entity{to}, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
