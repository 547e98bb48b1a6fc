package policy

import (
	"errors"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as a policy file: it never
// panics, always returns a set, reports failures as LoadErrors, and what
// loads can be evaluated.
func FuzzLoad(f *testing.F) {
	for _, data := range starterFiles() {
		f.Add(data)
	}
	f.Add([]byte(goodPolicy))
	f.Add([]byte(policyDoc("p", "variables: [{name: a, expression: 'object.'}]\nvalidations: [{expression: 'true'}]\n")))
	f.Add([]byte(exceptionYAML("x", "mode-fast", webRef, "2026-07-01")))
	f.Add([]byte("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: mode-fast, validationActions: [Deny]}\n"))
	f.Add([]byte("---\n- 1\n---\n: :\n---\n{{{"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte{0xff, 0xfe, 0x00})
	objs := []string{configMap, privilegedDeployment, secureBucket}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load(map[string][]byte{"fuzz.yaml": data})
		if s == nil {
			t.Fatal("Load returned no set")
		}
		var errs LoadErrors
		if err != nil && (!errors.As(err, &errs) || len(errs) == 0) {
			t.Fatalf("error is not LoadErrors: %v", err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Document < 1 || e.Err == nil {
				t.Fatalf("LoadError without its place or cause: %+v", e)
			}
		}
		for _, o := range objs {
			s.Evaluate(object(t, o), nil, now)
		}
	})
}
