package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trueup-dev/trueup/fixtures/gitrepo"
	"github.com/trueup-dev/trueup/fixtures/motoenv"
	"github.com/trueup-dev/trueup/fixtures/policies"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const ciDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {owner: team-web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: %s
          resources: {limits: {cpu: 100m, memory: 64Mi}}
`

// TestValidatePolicies is the CI gate: exit 0 when a checkout passes, 1
// with the violation listed, 2 when a policy does not compile (naming the
// file and position).
func TestValidatePolicies(t *testing.T) {
	pol := policies.WriteDir(t)
	good := writeFiles(t, map[string]string{"web.yaml": strings.Replace(ciDeployment, "%s", "registry.example.com/web:1.0", 1)})
	bad := writeFiles(t, map[string]string{"web.yaml": strings.Replace(ciDeployment, "%s", "docker.io/library/nginx:latest", 1)})

	out, errOut, code := trueup(t, "validate", "--policies", pol, good)
	if code != 0 || !strings.Contains(out, "no policy findings") {
		t.Fatalf("compliant checkout: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = trueup(t, "validate", "--policies", pol, bad)
	if code != 1 || !strings.Contains(out, "allowed-registries") || !strings.Contains(out, "docker.io/library/nginx:latest") || !strings.Contains(out, "blocked") {
		t.Fatalf("violating checkout: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = trueup(t, "validate", "--policies", pol, bad, "-o", "json")
	var rows []findingRow
	if code != 1 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0].Policy != "allowed-registries" || rows[0].Object.Name != "web" {
		t.Fatalf("json: exit %d\n%s", code, out)
	}

	broken := writeFiles(t, map[string]string{"broken.yaml": `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: broken}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["CREATE"]}]
  validations:
    - expression: "object.spec.replicas >"
`})
	_, errOut, code = trueup(t, "validate", "--policies", broken, good)
	if code != 2 || !strings.Contains(errOut, "broken.yaml") || !strings.Contains(errOut, "spec.validations[0].expression: 1:23") {
		t.Fatalf("broken policy: exit %d\n%s", code, errOut)
	}
}

// TestComplianceReport lists the live findings of an account target on
// moto: none while the bucket is private, one after it is opened by hand.
func TestComplianceReport(t *testing.T) {
	env := motoenv.Start(t)
	repo := gitrepo.Init(t, filepath.Join(t.TempDir(), "infra.git"))
	bucket := strings.Replace(testBucket, "  tags:\n", "  serverSideEncryptionConfiguration:\n    rules: [{applyServerSideEncryptionByDefault: {sseAlgorithm: AES256}}]\n  tags:\n", 1)
	repo.Commit(t, map[string]gitrepo.Entry{"aws/logs.yaml": gitrepo.File(bucket)}, gitrepo.CommitOptions{Message: "a private bucket"})
	cfg := accountConfig(t, env, repo)
	if err := os.WriteFile(cfg, []byte(readFile(t, cfg)+"policies:\n  - dir: "+policies.WriteDir(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := trueup(t, "apply", "buckets", "-c", cfg); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := trueup(t, "compliance", "report", "-c", cfg); code != 0 || !strings.Contains(out, "no policy findings") {
		t.Fatalf("report of a private bucket: exit %d\n%s%s", code, out, errOut)
	}
	cli := s3.NewFromConfig(env.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := cli.DeletePublicAccessBlock(context.Background(), &s3.DeletePublicAccessBlockInput{Bucket: aws.String("trueup-e2e-logs")}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := trueup(t, "compliance", "report", "buckets", "-c", cfg, "-o", "csv")
	if code != 1 || !strings.HasPrefix(out, "target,path,object,policy,severity,action,status,message\n") ||
		!strings.Contains(out, "buckets,,S3Bucket.aws.trueup.dev//trueup-e2e-logs,s3-bucket-secure,critical,enforce,blocked,") {
		t.Fatalf("report of an opened bucket: exit %d\n%s%s", code, out, errOut)
	}
}
