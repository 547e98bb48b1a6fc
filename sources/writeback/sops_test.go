package writeback_test

import (
	"errors"
	"testing"

	"filippo.io/age"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/sops"
	"github.com/trueup-dev/trueup/sources/writeback"
)

// TestEditRefusesSOPSFiles: a value defined in a SOPS-encrypted file is
// never written back, even one sops left in plaintext.
func TestEditRefusesSOPSFiles(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	deploy := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: app}\nspec: {replicas: 1}\n"
	enc, err := sops.Encrypt("web.yaml", []byte(deploy), sops.EncryptOptions{AgeRecipients: []string{id.Recipient().String()}, EncryptedRegex: "^data$"})
	if err != nil {
		t.Fatal(err)
	}
	obj := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "app", Name: "web"}
	changes := []writeback.Change{{Path: "/spec/replicas", Live: 3}}
	if _, err := writeback.Edit(sources.Files{"app/web.yaml": []byte(deploy)}, "app", obj, changes); err != nil {
		t.Fatalf("plain file: %v", err)
	}
	_, err = writeback.Edit(sources.Files{"app/web.yaml": enc}, "app", obj, changes)
	if !errors.Is(err, writeback.ErrEncrypted) {
		t.Fatalf("encrypted file: %v, want ErrEncrypted", err)
	}
	t.Log(err)
}
