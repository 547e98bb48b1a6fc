package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/sources/sops"
)

const (
	sopsPlaintext = "s3cr3t-from-sops-7f4e"
	sopsDrifted   = "edited-live-value-9c2a"
)

// sopsDemo is the demo repository with an age-encrypted Secret added to the
// web target, and its config with the source's decryption key in a file.
func sopsDemo(t *testing.T, kubeconfig string, withKey bool) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: web\ntype: Opaque\nstringData:\n  password: " + sopsPlaintext + "\n"
	enc, err := sops.Encrypt("secret.yaml", []byte(secret), sops.EncryptOptions{AgeRecipients: []string{id.Recipient().String()}, EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := gitrepo.ReadDir(t, "../../fixtures/demo/repo")
	files["apps/web/secret.yaml"] = gitrepo.File(string(enc))
	repo := gitrepo.Init(t, filepath.Join(dir, "repo.git"))
	repo.Commit(t, files, gitrepo.CommitOptions{Message: "Add web with an encrypted Secret"})
	keyFile := filepath.Join(dir, "age.key")
	if err := os.WriteFile(keyFile, []byte("# test key\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile("../../fixtures/demo/trueup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("__REPO__", repo.URL(), "__DATA__", filepath.Join(dir, "data"), "__KUBECONFIG__", kubeconfig).Replace(string(tmpl))
	if withKey {
		cfg = strings.Replace(cfg, "      branch: main\n", "      branch: main\n    decryption:\n      ageKeysFrom: {file: "+keyFile+"}\n", 1)
	}
	path := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRenderSOPSMasked: trueup render decrypts the Secret and prints its
// values masked; --show-secrets is refused when stdout is not a terminal;
// without a key the render fails naming the file and the recipient.
func TestRenderSOPSMasked(t *testing.T) {
	cfg := sopsDemo(t, "/nonexistent/kubeconfig", true)
	stdout, stderr, code := trueup(t, "render", "web", "-c", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "password: '<sops: decrypted, masked>'") || strings.Contains(stdout, sopsPlaintext) || strings.Contains(stdout, "ENC[") {
		t.Fatalf("render output:\n%s", stdout)
	}
	_, stderr, code = trueup(t, "render", "web", "--show-secrets", "-c", cfg)
	if code != exitError || !strings.Contains(stderr, "only to a terminal") {
		t.Fatalf("--show-secrets into a buffer: exit %d: %s", code, stderr)
	}

	noKey := sopsDemo(t, "/nonexistent/kubeconfig", false)
	stdout, stderr, code = trueup(t, "render", "web", "-c", noKey)
	if code != exitError || stdout != "" || !strings.Contains(stderr, "apps/web/secret.yaml") || !strings.Contains(stderr, "age:age1") || !strings.Contains(stderr, "decryption.ageKeysFrom") {
		t.Fatalf("without a key: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
}

// TestSOPSSecretAppliesAndNeverLeaks is the acceptance of SOPS decryption
// on the real control plane: an age-encrypted Secret applies decrypted, a
// kubectl edit of it drifts, is reported to Slack and healed; neither the
// plaintext nor the edited value (nor their base64) appears in the daemon's
// log, the history export, the Slack payloads, `trueup diff` or the API.
func TestSOPSSecretAppliesAndNeverLeaks(t *testing.T) {
	env := kubeenv.Start(t) // own control plane: the demo targets use fixed namespaces
	cfg := sopsDemo(t, env.Kubeconfig, true)
	slackSrv := newSlackRecorder(t)
	withSlack(t, cfg, slackSrv.GetAPIURL())
	t.Setenv("TRUEUP_TEST_SLACK_TOKEN", testSlackToken)

	d := startDaemon(t, cfg, "--log-level", "debug")
	logs, stop := d.logs, d.stop
	livePassword := func() string {
		b64 := kubectl(t, env, "-n", "web", "get", "secret", "db", "-o", "jsonpath={.data.password}")
		v, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		return string(v)
	}
	waitUntil(t, "the Secret applied decrypted", func() bool {
		out, err := kubectlTry(env, "-n", "web", "get", "secret", "db", "-o", "jsonpath={.data.password}")
		return err == nil && strings.TrimSpace(out) != "" && livePassword() == sopsPlaintext
	})

	kubectl(t, env, "-n", "web", "patch", "secret", "db", "--type=merge", "-p", `{"stringData":{"password":"`+sopsDrifted+`"}}`)
	waitUntil(t, "the drift reported to Slack and healed", func() bool {
		for _, c := range slackSrv.snapshot() {
			if c.Method == "chat.update" {
				return true
			}
		}
		return false
	})
	waitUntil(t, "the Secret healed", func() bool { return livePassword() == sopsPlaintext })

	addr := d.addr(t)
	var api string
	for _, p := range []string{"/api/v1/targets", "/api/v1/episodes", "/api/v1/history", "/targets/web"} {
		resp, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", p, resp.StatusCode, body)
		}
		api += string(body)
	}
	stop()

	// trueup diff while the live Secret differs from Git (the daemon is
	// stopped, so nothing heals it first).
	kubectl(t, env, "-n", "web", "patch", "secret", "db", "--type=merge", "-p", `{"stringData":{"password":"`+sopsDrifted+`"}}`)
	diffOut, diffErr, code := trueup(t, "diff", "web", "-c", cfg)
	if code != 1 || !strings.Contains(diffOut, "Secret") || !strings.Contains(diffOut, "/data/password") {
		t.Errorf("trueup diff: exit %d, want 1 with the Secret's /data/password:\n%s%s", code, diffOut, diffErr)
	}

	histOut, _, hcode := trueup(t, "history", "-o", "json", "--limit", "100000", "-c", cfg)
	var recs []history.Record
	if hcode != 0 || json.Unmarshal([]byte(histOut), &recs) != nil || len(recs) == 0 {
		t.Fatalf("history export: exit %d\n%s", hcode, histOut)
	}
	var slackOut strings.Builder
	for _, c := range slackSrv.snapshot() {
		slackOut.WriteString(c.Text + c.Blocks)
	}
	if !strings.Contains(slackOut.String(), "Secret") {
		t.Errorf("no Slack message about the Secret: %s", slackOut.String())
	}
	outputs := map[string]string{"daemon log": logs.String(), "history export": histOut, "Slack payloads": slackOut.String(), "trueup diff": diffOut + diffErr, "API and pages": api}
	for _, v := range []string{sopsPlaintext, sopsDrifted} {
		for _, needle := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			for name, out := range outputs {
				if strings.Contains(out, needle) {
					t.Errorf("%s holds %q", name, needle)
				}
			}
		}
	}
}

// kubectlTry runs kubectl and returns its error instead of failing.
func kubectlTry(env *kubeenv.Env, args ...string) (string, error) {
	out, err := exec.Command("kubectl", append([]string{"--kubeconfig", env.Kubeconfig}, args...)...).CombinedOutput()
	return string(out), err
}
