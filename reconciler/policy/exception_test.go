package policy

import (
	"strings"
	"testing"
	"time"
)

const privilegedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {owner: shop}}
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/web
          securityContext: {privileged: true}
          resources: {limits: {cpu: 1, memory: 1Gi}}
`

func exceptionYAML(name, policy, object, expires string) string {
	return "---\napiVersion: policy.trueup.dev/v1alpha1\nkind: PolicyException\nmetadata: {name: " + name + "}\nspec:\n" +
		"  policy: " + policy + "\n  object: " + object + "\n  reason: vendor agent needs it\n" +
		"  expires: " + expires + "\n  approver: security@example.com\n"
}

const webRef = "{apiVersion: apps/v1, kind: Deployment, namespace: shop, name: web}"

func TestExceptions(t *testing.T) {
	tests := []struct {
		name       string
		exceptions string
		exempt     string // name of the exception that exempts, "" for none
		expired    string // name of the expired exception reported
		note       string
	}{
		{name: "no exception"},
		{name: "valid exception", exempt: "web-agent",
			exceptions: exceptionYAML("web-agent", "no-privileged-containers", webRef, "2026-07-01"),
			note:       "exempt by exception web-agent (approved by security@example.com) until 2026-07-01T00:00:00Z: vendor agent needs it"},
		{name: "valid until a time", exempt: "web-agent",
			exceptions: exceptionYAML("web-agent", "no-privileged-containers", webRef, "2026-06-15T12:00:01Z"),
			note:       "exempt by exception web-agent (approved by security@example.com) until 2026-06-15T12:00:01Z: vendor agent needs it"},
		{name: "expired date", expired: "web-agent",
			exceptions: exceptionYAML("web-agent", "no-privileged-containers", webRef, "2026-06-15"),
			note:       "exception web-agent (approved by security@example.com) expired at 2026-06-15T00:00:00Z"},
		{name: "expires exactly now", expired: "web-agent",
			exceptions: exceptionYAML("web-agent", "no-privileged-containers", webRef, `"2026-06-15T14:00:00+02:00"`),
			note:       "exception web-agent (approved by security@example.com) expired at 2026-06-15T12:00:00Z"},
		{name: "a valid one wins over an expired one", exempt: "renewed",
			exceptions: exceptionYAML("old", "no-privileged-containers", webRef, "2026-01-01") +
				exceptionYAML("renewed", "no-privileged-containers", webRef, "2027-01-01"),
			note: "exempt by exception renewed (approved by security@example.com) until 2027-01-01T00:00:00Z: vendor agent needs it"},
		{name: "the latest expired one is named", expired: "second",
			exceptions: exceptionYAML("first", "no-privileged-containers", webRef, "2025-01-01") +
				exceptionYAML("second", "no-privileged-containers", webRef, "2026-01-01"),
			note: "exception second (approved by security@example.com) expired at 2026-01-01T00:00:00Z"},
		{name: "other policy",
			exceptions: exceptionYAML("x", "allowed-registries", webRef, "2027-01-01")},
		{name: "other name",
			exceptions: exceptionYAML("x", "no-privileged-containers", "{apiVersion: apps/v1, kind: Deployment, namespace: shop, name: api}", "2027-01-01")},
		{name: "other namespace",
			exceptions: exceptionYAML("x", "no-privileged-containers", "{apiVersion: apps/v1, kind: Deployment, namespace: prod, name: web}", "2027-01-01")},
		{name: "no namespace",
			exceptions: exceptionYAML("x", "no-privileged-containers", "{apiVersion: apps/v1, kind: Deployment, name: web}", "2027-01-01")},
		{name: "other kind",
			exceptions: exceptionYAML("x", "no-privileged-containers", "{apiVersion: apps/v1, kind: StatefulSet, namespace: shop, name: web}", "2027-01-01")},
		{name: "other group",
			exceptions: exceptionYAML("x", "no-privileged-containers", "{apiVersion: extensions/v1beta1, kind: Deployment, namespace: shop, name: web}", "2027-01-01")},
		{name: "another version of the same group", exempt: "x",
			exceptions: exceptionYAML("x", "no-privileged-containers", "{apiVersion: apps/v1beta2, kind: Deployment, namespace: shop, name: web}", "2027-01-01"),
			note:       "exempt by exception x (approved by security@example.com) until 2027-01-01T00:00:00Z: vendor agent needs it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := starterFilesWith("exceptions.yaml", tc.exceptions)
			s := mustLoad(t, files)
			fs := s.Evaluate(object(t, privilegedDeployment), nil, now)
			if len(fs) != 1 || fs[0].Policy != "no-privileged-containers" {
				t.Fatalf("findings = %v, want one of no-privileged-containers", fs)
			}
			f := fs[0]
			if got := exceptionName(f.Excepted); got != tc.exempt {
				t.Errorf("Excepted = %q, want %q", got, tc.exempt)
			}
			if got := exceptionName(f.ExpiredException); got != tc.expired {
				t.Errorf("ExpiredException = %q, want %q", got, tc.expired)
			}
			if f.Note != tc.note {
				t.Errorf("Note:\n got  %q\n want %q", f.Note, tc.note)
			}
			if f.Exempt() != (tc.exempt != "") || f.Blocks() != (tc.exempt == "") || len(Blocking(fs)) != len(fs)-boolInt(tc.exempt != "") {
				t.Errorf("Exempt = %v, Blocks = %v, Blocking = %v", f.Exempt(), f.Blocks(), Blocking(fs))
			}
			if f.Message != "Deployment web runs privileged containers: app" {
				t.Errorf("an exempt finding keeps its message, got %q", f.Message)
			}
		})
	}
}

// starterFilesWith returns two starter policies (all the exception tests
// need, and quicker to compile than the library) and one more file.
func starterFilesWith(name, content string) map[string][]byte {
	all := starterFiles()
	return map[string][]byte{
		"no-privileged-containers.yaml": all["no-privileged-containers.yaml"],
		"allowed-registries.yaml":       all["allowed-registries.yaml"],
		name:                            []byte(content),
	}
}

func exceptionName(e *Exception) string {
	if e == nil {
		return ""
	}
	return e.Name
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestExceptionLoaded(t *testing.T) {
	s := mustLoad(t, starterFilesWith("ex.yaml", exceptionYAML("web-agent", "no-privileged-containers", webRef, "2026-07-01T08:30:00-02:00")))
	got := s.Exceptions()
	want := Exception{
		Name: "web-agent", File: "ex.yaml", Policy: "no-privileged-containers",
		Object: ExceptionObject{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		Reason: "vendor agent needs it", Expires: time.Date(2026, 7, 1, 10, 30, 0, 0, time.UTC), Approver: "security@example.com",
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("Exceptions() =\n %+v\nwant\n %+v", got, want)
	}
}

func TestExceptionErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{name: "every field missing",
			doc: "apiVersion: policy.trueup.dev/v1alpha1\nkind: PolicyException\nspec: {object: {namespace: shop}}\n",
			want: []string{
				"ex.yaml: document 1: PolicyException: metadata.name: required",
				"ex.yaml: document 1: PolicyException: spec.policy: required",
				"ex.yaml: document 1: PolicyException: spec.object.apiVersion: required",
				"ex.yaml: document 1: PolicyException: spec.object.kind: required",
				"ex.yaml: document 1: PolicyException: spec.object.name: required",
				"ex.yaml: document 1: PolicyException: spec.reason: required",
				"ex.yaml: document 1: PolicyException: spec.approver: required",
				"ex.yaml: document 1: PolicyException: spec.expires: required",
			}},
		{name: "bad expiry and apiVersion",
			doc: exceptionYAML("x", "no-privileged-containers", "{apiVersion: a/b/c, kind: Deployment, name: web}", "next week"),
			want: []string{
				`ex.yaml: document 1: PolicyException x: spec.object.apiVersion: unexpected GroupVersion string: a/b/c`,
				`ex.yaml: document 1: PolicyException x: spec.expires: "next week" is neither an RFC 3339 date (2006-01-02) nor date-time (2006-01-02T15:04:05Z)`,
			}},
		{name: "unknown policy",
			doc:  exceptionYAML("x", "no-privileged", webRef, "2027-01-01"),
			want: []string{`ex.yaml: document 1: PolicyException x: spec.policy: no ValidatingAdmissionPolicy named "no-privileged"`}},
		{name: "unknown field",
			doc:  strings.Replace(exceptionYAML("x", "no-privileged-containers", webRef, "2027-01-01"), "approver:", "approvedBy:", 1),
			want: []string{`ex.yaml: document 1: PolicyException x: error unmarshaling JSON: while decoding JSON: json: unknown field "approvedBy"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(starterFilesWith("ex.yaml", tc.doc))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
			if len(s.Exceptions()) != 0 || len(s.Policies()) != 2 {
				t.Errorf("a broken exception is dropped and the policies kept: %d exceptions, %d policies", len(s.Exceptions()), len(s.Policies()))
			}
		})
	}
}
