package reconciler_test

import (
	"errors"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/sops"
)

// TestDesiredDecryptsSOPSWithTheTargetsKeys: a target's SOPS Secret renders
// decrypted with its keys; without keys (or after the keys change) the same
// commit and path fails at render naming the file, instead of handing on
// ciphertext or a render cached with other keys.
func TestDesiredDecryptsSOPSWithTheTargetsKeys(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	const plain = "desired-plaintext-41"
	enc, err := sops.Encrypt("secret.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: "+plain+"}\n"),
		sops.EncryptOptions{AgeRecipients: []string{id.Recipient().String()}})
	if err != nil {
		t.Fatal(err)
	}
	r := newDesiredRepo(t, map[string]gitrepo.Entry{"app/secret.yaml": gitrepo.File(string(enc)), "app/cm.yaml": yamlFile(namedConfigMap("c"))}, git.Limits{})
	keys, err := sops.ParseKeys([]byte(id.String()), nil)
	if err != nil {
		t.Fatal(err)
	}

	r.loader.SetDecryption(map[string]*sops.Keys{"web": keys})
	d, err := r.load(t, "app")
	if err != nil {
		t.Fatal(err)
	}
	var decrypted int
	for _, o := range d.Objects {
		if o.Origin.Decrypted {
			decrypted++
			if got, _, _ := unstructuredNested(o.Object.Object, "stringData", "password"); got != plain {
				t.Errorf("password %q, want the plaintext", got)
			}
		}
	}
	if len(d.Objects) != 2 || decrypted != 1 {
		t.Fatalf("%d objects, %d decrypted; want 2 and 1", len(d.Objects), decrypted)
	}

	// Another target of the same source and path without keys: the render
	// cached for web (same commit and path) is not reused.
	_, err = r.loader.Load(t.Context(), &config.Target{Name: "other", Source: "platform", Path: "app"})
	if !errors.Is(err, sops.ErrNoKey) {
		t.Fatalf("another target without keys: %v, want ErrNoKey", err)
	}

	r.loader.SetDecryption(nil)
	_, err = r.load(t, "app")
	var se *reconciler.StageError
	if !errors.Is(err, sops.ErrNoKey) || !errors.As(err, &se) || se.Stage != reconciler.StageRender ||
		!strings.Contains(err.Error(), "app/secret.yaml") || strings.Contains(err.Error(), plain) {
		t.Fatalf("without keys: %v, want a render-stage ErrNoKey naming the file", err)
	}
}

func unstructuredNested(m map[string]any, path ...string) (string, bool, error) {
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

// TestHelmSOPSValuesOnlyReachSecrets: a SOPS-encrypted values file (the
// helm-secrets layout) renders decrypted; the Secret that holds its value
// is marked decrypted (masked everywhere), and a chart that puts the value
// in a ConfigMap fails at render naming the object and the file, never
// the value. Without keys, nothing renders.
func TestHelmSOPSValuesOnlyReachSecrets(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	const plain = "values-plaintext-77&<x>"
	enc, err := sops.Encrypt("secrets.yaml", []byte("db:\n  password: \""+plain+"\"\n"), sops.EncryptOptions{AgeRecipients: []string{id.Recipient().String()}})
	if err != nil {
		t.Fatal(err)
	}
	chart := func(leak bool) map[string]gitrepo.Entry {
		files := map[string]gitrepo.Entry{
			"chart/Chart.yaml":            gitrepo.File("apiVersion: v2\nname: app\nversion: 1.0.0\n"),
			"chart/values.yaml":           gitrepo.File("db: {password: \"\"}\n"),
			"chart/templates/secret.yaml": gitrepo.File("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: {{ .Values.db.password | b64enc | quote }}}\n"),
			"chart/templates/config.yaml": gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {mode: prod}\n"),
			"envs/prod/secrets.yaml":      gitrepo.File(string(enc)),
		}
		if leak {
			files["chart/templates/config.yaml"] = gitrepo.File("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {url: \"postgres://app:{{ .Values.db.password }}@db\"}\n")
		}
		return files
	}
	keys, err := sops.ParseKeys([]byte(id.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	target := &config.Target{Name: "web", Source: "platform", Render: &config.Render{Helm: &config.HelmRender{
		Chart: config.HelmChart{Path: "chart"}, ReleaseName: "app", Values: []config.HelmValuesFile{{Path: "envs/prod/secrets.yaml"}},
	}}}

	r := newDesiredRepo(t, chart(false), git.Limits{})
	r.loader.SetDecryption(map[string]*sops.Keys{"web": keys})
	d, err := r.loader.Load(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range d.Objects {
		if want := o.Object.GetKind() == "Secret"; o.Origin.Decrypted != want {
			t.Errorf("%s %s: decrypted %v, want %v", o.Object.GetKind(), o.Object.GetName(), o.Origin.Decrypted, want)
		}
	}

	r = newDesiredRepo(t, chart(true), git.Limits{})
	r.loader.SetDecryption(map[string]*sops.Keys{"web": keys})
	_, err = r.loader.Load(t.Context(), target)
	if !errors.Is(err, sops.ErrUnsupported) || !strings.Contains(err.Error(), "ConfigMap app") ||
		!strings.Contains(err.Error(), "envs/prod/secrets.yaml") || strings.Contains(err.Error(), "plaintext-77") {
		t.Fatalf("a ConfigMap holding the decrypted value: %v", err)
	}

	r.loader.SetDecryption(nil)
	if _, err = r.loader.Load(t.Context(), target); !errors.Is(err, sops.ErrNoKey) || strings.Contains(err.Error(), "plaintext-77") {
		t.Fatalf("without keys: %v, want ErrNoKey", err)
	}
}
