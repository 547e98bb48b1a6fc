package sops

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/logging"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/json"
	"github.com/getsops/sops/v3/stores/yaml"
	"github.com/sirupsen/logrus"
)

func init() {
	// sops logs every key it tries at info level to standard error; its
	// lines hold no secret, but they are not trueup's to print.
	logging.SetLevel(logrus.WarnLevel)
}

// store reads and writes one SOPS format.
type store interface {
	sops.Store
}

func storeFor(f Format) (store, error) {
	switch f {
	case FormatYAML:
		return yaml.NewStore(&config.YAMLStoreConfig{}), nil
	case FormatJSON:
		return json.NewStore(&config.JSONStoreConfig{}), nil
	case FormatDotenv:
		return dotenv.NewStore(&config.DotenvStoreConfig{}), nil
	}
	return nil, fmt.Errorf("%s files are not decrypted by trueup (YAML, JSON and dotenv are): %w", f, ErrUnsupported)
}

// Decrypt decrypts a SOPS file in memory with keys and checks its MAC. name
// is used in errors and to tell JSON from YAML; errors never carry the
// plaintext, and name the recipients the file is encrypted for when no key
// decrypts it.
func Decrypt(name string, data []byte, keys *Keys) (out []byte, err error) {
	defer func() {
		// A file of a commit is outside input: a panic in the sops library
		// on a malformed file fails this file, not the daemon.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the sops library failed on this file (malformed SOPS metadata?): %w", ErrInvalid)
		}
	}()
	f, ok := IsEncrypted(name, data)
	if !ok {
		return nil, fmt.Errorf("%s: no SOPS metadata: %w", name, ErrInvalid)
	}
	st, err := storeFor(f)
	if err != nil {
		return nil, err
	}
	tree, err := st.LoadEncryptedFile(data)
	if err != nil {
		return nil, fmt.Errorf("read SOPS metadata: %v: %w", err, ErrInvalid)
	}
	if keys.Empty() {
		return nil, noKeyError(tree.Metadata, "no decryption keys are configured for this target")
	}
	svc := keyservice.NewCustomLocalClient(keyServer{keys: keys})
	dataKey, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{svc}, nil)
	if err != nil {
		return nil, noKeyError(tree.Metadata, "none of the configured keys decrypts it")
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		// The library's message may quote an encrypted value; say what it means instead.
		return nil, fmt.Errorf("a value does not decrypt with the file's data key (edited by hand? re-encrypt it with sops): %w", ErrIntegrity)
	}
	want, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || want != mac {
		return nil, fmt.Errorf("the MAC does not match the content: the file was changed after it was encrypted (re-encrypt it with sops): %w", ErrIntegrity)
	}
	out, err = st.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, fmt.Errorf("write the decrypted file: %w", errors.Join(ErrInvalid, errors.New("cannot emit plaintext")))
	}
	return out, nil
}

// Recipients lists the public keys a SOPS file's data key is encrypted to
// ("age:age1...", "pgp:FINGERPRINT", "kms:arn...").
func Recipients(m sops.Metadata) []string {
	var out []string
	for _, g := range m.KeyGroups {
		for _, k := range g {
			out = append(out, k.TypeToIdentifier()+":"+k.ToString())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func noKeyError(m sops.Metadata, why string) error {
	return fmt.Errorf("SOPS-encrypted and %s: it is encrypted for %s; set decryption.ageKeysFrom or decryption.pgpKeysFrom "+
		"on the source (or the target's tenant) to a matching private key: %w", why, strings.Join(Recipients(m), ", "), ErrNoKey)
}
