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

// TestEditValuesRefusesSOPSFiles: a Helm value is never written into an
// encrypted values file, and a plain one keeps its other bytes.
func TestEditValuesRefusesSOPSFiles(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	values := "# prod\nreplicaCount: 1 # keep\npassword: hunter2\n"
	enc, err := sops.Encrypt("values.yaml", []byte(values), sops.EncryptOptions{AgeRecipients: []string{id.Recipient().String()}, EncryptedRegex: "^password$"})
	if err != nil {
		t.Fatal(err)
	}
	obj := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "app", Name: "web"}
	edits := []writeback.ValuesEdit{{Change: writeback.Change{Path: "/spec/replicas", Live: int64(3)}, File: "values.yaml", Key: []string{"replicaCount"}, Value: int64(3)}}
	res, err := writeback.EditValues(sources.Files{"values.yaml": []byte(values)}, obj, edits)
	if err != nil {
		t.Fatalf("plain file: %v", err)
	}
	if got, want := string(res.Files["values.yaml"]), "# prod\nreplicaCount: 3 # keep\npassword: hunter2\n"; got != want {
		t.Errorf("plain file edited to %q, want %q", got, want)
	}
	_, err = writeback.EditValues(sources.Files{"values.yaml": enc}, obj, edits)
	if !errors.Is(err, writeback.ErrEncrypted) {
		t.Fatalf("encrypted file: %v, want ErrEncrypted", err)
	}
	obj.Kind, obj.Group = "Secret", ""
	if _, err := writeback.EditValues(sources.Files{"values.yaml": []byte(values)}, obj, edits); !errors.Is(err, writeback.ErrSecret) {
		t.Fatalf("a Secret: %v, want ErrSecret", err)
	}
}
