package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/fixtures/golden"
)

const configFixtures = "../../fixtures/config"

func TestValidateGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(configFixtures, "config.*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("config fixtures missing: %v %v", files, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			rel := filepath.ToSlash(filepath.Join("fixtures/config", filepath.Base(f)))
			stdout, stderr, code := trueup(t, "validate", "-c", f)
			stdout = strings.ReplaceAll(stdout, f, rel)
			wantCode := 1
			if strings.HasPrefix(name, "config.good") {
				wantCode = 0
			}
			if code != wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, wantCode, stdout, stderr)
			}
			if wantCode == 1 && !strings.Contains(stdout, ": ") {
				t.Fatalf("bad config output names no field path:\n%s", stdout)
			}
			golden.Check(t, filepath.Join(configFixtures, "golden", name+".txt"), fmt.Sprintf("exit %d\n%s", code, stdout))
		})
	}
}

func TestValidateJSON(t *testing.T) {
	stdout, _, code := trueup(t, "validate", "-o", "json", "-c", filepath.Join(configFixtures, "config.bad-unknown-reference.yaml"))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var res validateResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if res.Valid || len(res.Errors) != 3 || res.Errors[2].Path != "targets[2].source" {
		t.Fatalf("unexpected result: %+v", res)
	}
}

func TestValidateNeverPrintsSecrets(t *testing.T) {
	stdout, stderr, _ := trueup(t, "validate", "-c", filepath.Join(configFixtures, "config.bad-inline-secret.yaml"))
	if strings.Contains(stdout+stderr, "hunter2") {
		t.Fatalf("secret value printed:\n%s%s", stdout, stderr)
	}
}

func TestValidateMissingFile(t *testing.T) {
	_, stderr, code := trueup(t, "validate", "-c", filepath.Join(t.TempDir(), "nope.yaml"))
	if code != exitError || !strings.Contains(stderr, "-c PATH") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	stdout, _, code := trueup(t, "version", "-o", "json")
	var v versionInfo
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v.Version == "" {
		t.Fatalf("exit %d, output %q", code, stdout)
	}
	_, stderr, code := trueup(t, "version", "-o", "xml")
	if code != exitError || !strings.Contains(stderr, "unknown output format") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
