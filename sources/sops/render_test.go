package sops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
	"github.com/trueup-dev/trueup/sources/sops"
)

// TestRenderThroughTree renders targets holding SOPS files through the
// decrypting tree and checks what MarkObjects accepts and marks.
func TestRenderThroughTree(t *testing.T) {
	id, keys := newAge(t)
	secret := encryptAge(t, "secret.yaml", secretYAML, id)
	cm := encryptAge(t, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {password: "+plaintext+"}\n", id)
	env, err := sops.Encrypt("db.env", []byte("password="+plaintext+"\n"), sops.EncryptOptions{AgeRecipients: []string{id.Recipient().String()}})
	if err != nil {
		t.Fatal(err)
	}
	plainCM := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n")
	tests := []struct {
		name          string
		files         sources.Files
		path          string
		keys          *sops.Keys
		wantDecrypted []string // names of the objects marked Decrypted
		wantErr       error
	}{
		{name: "plain", files: sources.Files{"app/secret.yaml": secret, "app/plain.yaml": plainCM}, path: "app", keys: keys, wantDecrypted: []string{"db"}},
		{name: "kustomize resource", files: sources.Files{"app/kustomization.yaml": []byte("resources: [secret.yaml, plain.yaml]\n"), "app/secret.yaml": secret, "app/plain.yaml": plainCM}, path: "app", keys: keys, wantDecrypted: []string{"db"}},
		{name: "no keys", files: sources.Files{"app/secret.yaml": secret}, path: "app", wantErr: sops.ErrNoKey},
		{name: "encrypted ConfigMap refused", files: sources.Files{"app/cm.yaml": cm}, path: "app", keys: keys, wantErr: sops.ErrUnsupported},
		{name: "encrypted generator input refused", files: sources.Files{"app/kustomization.yaml": []byte("secretGenerator:\n- name: db\n  envs: [db.env]\n"), "app/db.env": env}, path: "app", keys: keys, wantErr: sops.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := sops.NewTree(tt.files, tt.keys)
			res, err := render.Render(tree, tt.path, render.DefaultOptions())
			if err == nil {
				err = sops.MarkObjects(res.Objects, tree.Decrypted())
			}
			if tt.wantErr != nil {
				t.Log(err)
				if !errors.Is(err, tt.wantErr) || strings.Contains(err.Error(), plaintext) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range res.Objects {
				if o.Origin.Decrypted {
					got = append(got, o.Object.GetName())
					if v, _, _ := unstructuredString(o.Object.Object, "stringData", "password"); v != plaintext {
						t.Errorf("password = %q, want the plaintext", v)
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.wantDecrypted, ",") {
				t.Fatalf("decrypted objects %v, want %v", got, tt.wantDecrypted)
			}
		})
	}
}

func unstructuredString(m map[string]any, path ...string) (string, bool, error) {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return "", false, nil
		}
		v = mm[p]
	}
	s, ok := v.(string)
	return s, ok, nil
}
