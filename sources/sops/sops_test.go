package sops_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/sops"
)

const plaintext = "hunter2-plain-xyzzy"

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: app
stringData:
  password: ` + plaintext + `
`

func newAge(t *testing.T) (*age.X25519Identity, *sops.Keys) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sops.ParseKeys([]byte("# created: test\n"+id.String()+"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return id, keys
}

func encryptAge(t *testing.T, name, plain string, id *age.X25519Identity) []byte {
	t.Helper()
	enc, err := sops.Encrypt(name, []byte(plain), sops.EncryptOptions{AgeRecipients: []string{id.Recipient().String()}, EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte(plaintext)) {
		t.Fatalf("encrypted file holds the plaintext:\n%s", enc)
	}
	return enc
}

func TestDecryptAge(t *testing.T) {
	id, keys := newAge(t)
	other, otherKeys := newAge(t)
	_ = other
	enc := encryptAge(t, "secret.yaml", secretYAML, id)
	encJSON := encryptAge(t, "secret.json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"`+plaintext+`"}}`, id)
	tampered := bytes.Replace(enc, []byte("name: db"), []byte("name: dc"), 1)
	if bytes.Equal(tampered, enc) {
		t.Fatal("tamper did not change the file")
	}
	tests := []struct {
		name    string
		file    string
		data    []byte
		keys    *sops.Keys
		wantErr error
	}{
		{name: "yaml with the key", file: "secret.yaml", data: enc, keys: keys},
		{name: "json with the key", file: "secret.json", data: encJSON, keys: keys},
		{name: "wrong key", file: "secret.yaml", data: enc, keys: otherKeys, wantErr: sops.ErrNoKey},
		{name: "no key", file: "secret.yaml", data: enc, keys: nil, wantErr: sops.ErrNoKey},
		{name: "tampered MAC", file: "secret.yaml", data: tampered, keys: keys, wantErr: sops.ErrIntegrity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sops.Decrypt(tt.file, tt.data, tt.keys)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), plaintext) {
					t.Fatalf("error holds the plaintext: %v", err)
				}
				if tt.wantErr == sops.ErrNoKey && !strings.Contains(err.Error(), "age:"+id.Recipient().String()) {
					t.Fatalf("error does not name the recipient: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(got, []byte(plaintext)) || bytes.Contains(got, []byte("sops")) {
				t.Fatalf("decrypted:\n%s", got)
			}
		})
	}
}

func TestDecryptPGP(t *testing.T) {
	e, err := openpgp.NewEntity("trueup test", "", "test@trueup.dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	var priv, pub bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	enc, err := sops.Encrypt("secret.yaml", []byte(secretYAML), sops.EncryptOptions{PGPPublicKeys: pub.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sops.ParseKeys(nil, priv.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := sops.Decrypt("secret.yaml", enc, keys)
	if err != nil || !bytes.Contains(got, []byte(plaintext)) {
		t.Fatalf("decrypt: %v\n%s", err, got)
	}
	_, ageKeys := newAge(t)
	if _, err := sops.Decrypt("secret.yaml", enc, ageKeys); !errors.Is(err, sops.ErrNoKey) {
		t.Fatalf("with an age key only: %v, want ErrNoKey", err)
	}
	if _, err := sops.ParseKeys(nil, pub.Bytes()); !errors.Is(err, sops.ErrInvalid) {
		t.Fatalf("a public key as private key: %v, want ErrInvalid", err)
	}
}

func TestParseKeysNeverQuotesKeys(t *testing.T) {
	bad := "AGE-SECRET-KEY-1NOTAREALKEYBUTSECRETLOOKING"
	_, err := sops.ParseKeys([]byte("# c\n\n"+bad+"\n"), nil)
	if !errors.Is(err, sops.ErrInvalid) || strings.Contains(err.Error(), "NOTAREAL") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestIsEncrypted(t *testing.T) {
	id, _ := newAge(t)
	tests := []struct {
		name string
		file string
		data string
		want sops.Format
	}{
		{name: "plain manifest", file: "a.yaml", data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sops}\ndata: {sops: yes}\n"},
		{name: "a sops key that is not metadata", file: "a.yaml", data: "sops: {enabled: true}\n"},
		{name: "not yaml", file: "a.yaml", data: "sops: [\n"},
		{name: "encrypted yaml", file: "a.yaml", data: string(encryptAge(t, "a.yaml", secretYAML, id)), want: sops.FormatYAML},
		{name: "second document", file: "a.yaml", data: "kind: A\n---\n" + string(encryptAge(t, "a.yaml", secretYAML, id)), want: sops.FormatYAML},
		{name: "dotenv", file: "a.env", data: "A=ENC[AES256_GCM,data:x]\nsops_mac=ENC[x]\n", want: sops.FormatDotenv},
		{name: "ini", file: "a.ini", data: "[x]\na=1\n[sops]\nmac=x\n", want: sops.FormatINI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sops.IsEncrypted(tt.file, []byte(tt.data))
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("IsEncrypted = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestTreeAndMarkObjects(t *testing.T) {
	id, keys := newAge(t)
	files := sources.Files{
		"app/secret.yaml": encryptAge(t, "secret.yaml", secretYAML, id),
		"app/cm.yaml":     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"),
	}
	tree := sops.NewTree(files, keys)
	if b, err := tree.ReadFile("app/cm.yaml"); err != nil || !bytes.Equal(b, files["app/cm.yaml"]) {
		t.Fatalf("plain file changed: %v %s", err, b)
	}
	if b, err := tree.ReadFile("app/secret.yaml"); err != nil || !bytes.Contains(b, []byte(plaintext)) {
		t.Fatalf("secret: %v %s", err, b)
	}
	if got := tree.Decrypted(); len(got) != 1 || got[0] != "app/secret.yaml" {
		t.Fatalf("Decrypted = %v", got)
	}
	_, err := sops.NewTree(files, nil).ReadFile("app/secret.yaml")
	if !errors.Is(err, sops.ErrNoKey) || !strings.HasPrefix(err.Error(), "app/secret.yaml: ") {
		t.Fatalf("no keys: %v", err)
	}
}
