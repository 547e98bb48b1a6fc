package policy

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/fixtures/policies"
)

// now is the fixed evaluation time of the tests.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// object decodes one YAML object.
func object(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("decode object: %v\n%s", err, doc)
	}
	return &unstructured.Unstructured{Object: m}
}

// mustLoad loads files that must all be valid.
func mustLoad(t testing.TB, files map[string][]byte, opts ...Option) *Set {
	t.Helper()
	s, err := Load(files, opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

// loadOne loads a single policy file given as YAML text.
func loadOne(t testing.TB, doc string, opts ...Option) *Set {
	t.Helper()
	return mustLoad(t, map[string][]byte{"test.yaml": []byte(doc)}, opts...)
}

// starterFiles returns a fresh copy of the starter library's files.
func starterFiles() map[string][]byte { return policies.Files() }

var starter *Set

// starterSet loads the starter library from fixtures/policies once.
func starterSet(t testing.TB) *Set {
	t.Helper()
	if starter == nil {
		starter = mustLoad(t, policies.Files())
	}
	return starter
}

// messages returns the messages of the findings of one policy and fails on
// evaluation errors.
func messages(t testing.TB, findings []Finding, policy string) []string {
	t.Helper()
	var out []string
	for _, f := range findings {
		if f.Err != "" {
			t.Errorf("%s: unexpected evaluation error: %s", f.Policy, f.Err)
		}
		if f.Policy == policy {
			out = append(out, f.Message)
		}
	}
	return out
}

// policyDoc builds a policy from spec lines (indented under spec); unless
// they have their own matchConstraints, it matches Deployments and
// ConfigMaps on every operation.
func policyDoc(name, spec string) string {
	head := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ` + name + `
spec:
`
	if strings.HasPrefix(spec, "matchConstraints:") || strings.Contains(spec, "\nmatchConstraints:") {
		return head + indent(spec, "  ")
	}
	return head + `  matchConstraints:
    resourceRules:
      - apiGroups: ["", "apps"]
        apiVersions: ["v1"]
        resources: ["deployments", "configmaps"]
        operations: ["CREATE", "UPDATE", "DELETE"]
` + indent(spec, "  ")
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

const configMap = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {tier: web}}
data: {mode: fast}
`
