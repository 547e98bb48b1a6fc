package sops_test

import (
	"testing"

	"github.com/trueup-dev/trueup/sources/sops"
)

// FuzzDecrypt feeds any file, as YAML, JSON and dotenv, to detection and
// decryption without keys: it must return, never panic, and never succeed.
func FuzzDecrypt(f *testing.F) {
	f.Add("a.yaml", "sops:\n  mac: x\n  age: [{recipient: age1x, enc: y}]\na: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n")
	f.Add("a.json", `{"sops": {"mac": "x", "lastmodified": "2020-01-01T00:00:00Z"}, "a": 1}`)
	f.Add("a.env", "a=1\nsops_mac=x\n")
	f.Add("a.yaml", "kind: A\n---\nsops: {key_groups: [{age: [{recipient: r}]}]}\n")
	f.Fuzz(func(t *testing.T, name, data string) {
		if _, ok := sops.IsEncrypted(name, []byte(data)); !ok {
			return
		}
		if _, err := sops.Decrypt(name, []byte(data), nil); err == nil {
			t.Fatal("decrypted without keys")
		}
	})
}
