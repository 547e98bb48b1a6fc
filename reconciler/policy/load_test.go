package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const goodPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: mode-fast}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["*"]}
  validations:
    - expression: object.data.mode == 'safe'
      message: mode must be safe
`

// A file with a broken policy between two good documents, and a second
// file with a good policy: the broken one is reported, the rest loads.
func TestLoadBrokenPolicyKeepsTheOthers(t *testing.T) {
	broken := policyDoc("broken-syntax", `validations:
  - expression: object.data.mode == 'safe'
  - expression: "object.data.mode == 'safe' &&"
`)
	files := map[string][]byte{
		"a.yaml": []byte("# leading comment\n---\n" + broken + "---\n" + strings.Replace(goodPolicy, "mode-fast", "mode-fast-2", 1)),
		"b.yaml": []byte(goodPolicy),
	}
	s, err := Load(files)
	var errs LoadErrors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("Load error = %v, want one LoadError", err)
	}
	e := errs[0]
	if e.File != "a.yaml" || e.Document != 1 || e.Kind != kindPolicy || e.Name != "broken-syntax" ||
		e.Field != "spec.validations[1].expression" || e.Line != 1 || e.Column != 30 {
		t.Errorf("LoadError = %+v", e)
	}
	wantPrefix := "a.yaml: document 1: ValidatingAdmissionPolicy broken-syntax: spec.validations[1].expression: 1:30: Syntax error: "
	if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.HasSuffix(err.Error(), `(expression: "object.data.mode == 'safe' &&")`) {
		t.Errorf("error text:\n %s\nwant prefix\n %s", err, wantPrefix)
	}
	var one *LoadError
	if !errors.As(err, &one) || one != e {
		t.Errorf("errors.As(*LoadError) = %v", one)
	}
	var names []string
	for _, p := range s.Policies() {
		names = append(names, p.Name)
	}
	if want := []string{"mode-fast-2", "mode-fast"}; !slices.Equal(names, want) {
		t.Errorf("policies = %v, want %v", names, want)
	}
	got := messages(t, s.Evaluate(object(t, configMap), nil, now), "mode-fast-2")
	if !slices.Equal(got, []string{"mode must be safe"}) {
		t.Errorf("the good policies must still evaluate, got %q", got)
	}
	if !slices.Equal(s.Errors(), errs) {
		t.Errorf("Errors() = %v", s.Errors())
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		// want is the full error text, with the file test.yaml.
		want string
	}{
		{name: "type error in a validation",
			doc: policyDoc("p", "validations:\n  - expression: \"object.metadata.name == 1 + 'a'\"\n"),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.validations[0].expression: 1:27: ` +
				`found no matching overload for '_+_' applied to '(int, string)' (expression: "object.metadata.name == 1 + 'a'")`},
		{name: "wrong return type",
			doc: policyDoc("p", "validations:\n  - expression: object.metadata.name\n"),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.validations[0].expression: ` +
				`must evaluate to bool but got dyn (expression: "object.metadata.name")`},
		{name: "messageExpression",
			doc: policyDoc("p", "validations:\n  - expression: 'true'\n    messageExpression: \"'a' + \"\n"),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.validations[0].messageExpression: 1:7: ` +
				`Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER} (expression: "'a' + ")`},
		{name: "variable using a later variable",
			doc: policyDoc("p", "variables:\n  - {name: a, expression: variables.b}\n  - {name: b, expression: '1'}\nvalidations:\n  - expression: variables.a == 1\n"),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.variables[0].expression: 1:10: ` +
				`undefined field 'b' (expression: "variables.b")`},
		{name: "match condition",
			doc: policyDoc("p", "matchConditions:\n  - {name: m, expression: 'object.kind = 1'}\nvalidations:\n  - expression: 'true'\n"),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.matchConditions[0].expression: 1:13: ` +
				`Syntax error: token recognition error at: '= '; 1:15: Syntax error: extraneous input '1' expecting <EOF> (expression: "object.kind = 1")`},
		{name: "unknown field",
			doc:  policyDoc("p", "validation:\n  - expression: 'true'\n"),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: error unmarshaling JSON: while decoding JSON: json: unknown field "validation"`},
		{name: "bad annotations",
			doc: strings.Replace(policyDoc("p", "validations: [{expression: 'true'}]\n"), "  name: p\n",
				"  name: p\n  annotations: {policy.trueup.dev/severity: high, policy.trueup.dev/action: block}\n", 1),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: metadata.annotations[policy.trueup.dev/severity]: "high" is not one of info, warning, critical` + "\n" +
				`test.yaml: document 1: ValidatingAdmissionPolicy p: metadata.annotations[policy.trueup.dev/action]: "block" is not one of warn, enforce`},
		{name: "no match constraints and no validations",
			doc: "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec: {}\n",
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.matchConstraints.resourceRules: at least one rule is required` + "\n" +
				`test.yaml: document 1: ValidatingAdmissionPolicy p: spec.validations: at least one validation is required (trueup does not evaluate auditAnnotations)`},
		{name: "rule without operations, bad selector",
			doc: "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n" +
				"  matchConstraints:\n    objectSelector: {matchExpressions: [{key: a, operator: Near}]}\n" +
				"    resourceRules: [{apiGroups: [''], apiVersions: [v1], resources: [pods]}]\n  validations: [{expression: 'true'}]\n",
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.matchConstraints.objectSelector: "Near" is not a valid label selector operator` + "\n" +
				`test.yaml: document 1: ValidatingAdmissionPolicy p: spec.matchConstraints.resourceRules[0].operations: at least one entry is required`},
		{name: "variable names",
			doc: policyDoc("p", "variables:\n  - {name: a-b, expression: '1'}\n  - {name: c, expression: '1'}\n  - {name: c, expression: '2'}\nvalidations: [{expression: 'true'}]\n"),
			want: `test.yaml: document 1: ValidatingAdmissionPolicy p: spec.variables[0].name: "a-b" is not a valid CEL identifier` + "\n" +
				`test.yaml: document 1: ValidatingAdmissionPolicy p: spec.variables[2].name: "c" is already used`},
		{name: "duplicate policy names",
			doc:  goodPolicy + "---\n" + goodPolicy,
			want: `test.yaml: document 2: ValidatingAdmissionPolicy mode-fast: metadata.name: a policy named "mode-fast" is already loaded`},
		{name: "unsupported kind",
			doc:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
			want: `test.yaml: document 1: ConfigMap x: kind: unsupported "v1" "ConfigMap": want ValidatingAdmissionPolicy or ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1), or PolicyException (policy.trueup.dev/v1alpha1)`},
		{name: "not an object",
			doc:  goodPolicy + "---\n- a list\n",
			want: `test.yaml: document 2: not a Kubernetes-style object: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type policy.header`},
		{name: "binding of an unknown policy, bad action",
			doc: goodPolicy + "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: nope, validationActions: [Deny]}\n" +
				"---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: c}\nspec: {policyName: mode-fast, validationActions: [Block]}\n",
			want: `test.yaml: document 3: ValidatingAdmissionPolicyBinding c: spec.validationActions[0]: "Block" is not one of Deny, Warn, Audit` + "\n" +
				`test.yaml: document 2: ValidatingAdmissionPolicyBinding b: spec.policyName: no ValidatingAdmissionPolicy named "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(map[string][]byte{"test.yaml": []byte(tc.doc)})
			if err == nil {
				t.Fatalf("Load succeeded, want\n%s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got  %s\n want %s", err, tc.want)
			}
			if s == nil {
				t.Fatal("Load must return the set of usable policies even on error")
			}
		})
	}
}

func TestLoadSkipsEmptyDocuments(t *testing.T) {
	s := mustLoad(t, map[string][]byte{"x.yaml": []byte("---\n# nothing\n---\n" + goodPolicy + "---\n")})
	if got := len(s.Policies()); got != 1 {
		t.Errorf("policies = %d, want 1", got)
	}
	if s, err := Load(nil); err != nil || len(s.Policies()) != 0 {
		t.Errorf("Load(nil) = %v, %v", s, err)
	}
}

func TestBindingDenyEnforces(t *testing.T) {
	binding := func(name, actions, match string) string {
		return "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n" +
			"metadata: {name: " + name + "}\nspec:\n  policyName: mode-fast\n  validationActions: " + actions + "\n" + match
	}
	tests := []struct {
		name     string
		bindings string
		want     Action
	}{
		{name: "no binding", want: ActionWarn},
		{name: "warn and audit", bindings: binding("b", "[Warn, Audit]", ""), want: ActionWarn},
		{name: "deny", bindings: binding("b", "[Deny]", ""), want: ActionEnforce},
		{name: "deny for matching objects", want: ActionEnforce,
			bindings: binding("b", "[Deny, Audit]", "  matchResources: {objectSelector: {matchLabels: {tier: web}}}\n")},
		{name: "deny for other objects", want: ActionWarn,
			bindings: binding("b", "[Deny]", "  matchResources: {objectSelector: {matchLabels: {tier: db}}}\n")},
		{name: "deny excluding configmaps", want: ActionWarn,
			bindings: binding("b", "[Deny]", "  matchResources:\n    excludeResourceRules: [{apiGroups: [''], apiVersions: ['*'], resources: [configmaps], operations: ['*']}]\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := loadOne(t, goodPolicy+tc.bindings)
			if got := s.Policies()[0].Action; got != ActionWarn {
				t.Errorf("policy's own action = %s, want warn", got)
			}
			fs := s.Evaluate(object(t, configMap), nil, now)
			if len(fs) != 1 || fs[0].Action != tc.want {
				t.Fatalf("findings = %+v, want one with action %s", fs, tc.want)
			}
			if blocking := len(Blocking(fs)) == 1; blocking != (tc.want == ActionEnforce) {
				t.Errorf("Blocking = %v", Blocking(fs))
			}
		})
	}
}
