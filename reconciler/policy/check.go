package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// settings are trueup's annotations and the failure policy of a policy.
type settings struct {
	severity Severity
	action   Action
	failOpen bool
}

var celIdentifier = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`) })

// checkPolicy checks what the apiserver would reject before compiling, and
// reads trueup's annotations. Each error names its field.
func checkPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) (settings, []*LoadError) {
	var errs []*LoadError
	add := func(field string, format string, args ...any) {
		errs = append(errs, &LoadError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	st := settings{severity: SeverityWarning, action: ActionWarn}
	if p.Name == "" {
		add("metadata.name", "required")
	}
	if v, ok := p.Annotations[AnnotationSeverity]; ok {
		st.severity = Severity(v)
		if st.severity != SeverityInfo && st.severity != SeverityWarning && st.severity != SeverityCritical {
			add("metadata.annotations["+AnnotationSeverity+"]", "%q is not one of info, warning, critical", v)
		}
	}
	if v, ok := p.Annotations[AnnotationAction]; ok {
		st.action = Action(v)
		if st.action != ActionWarn && st.action != ActionEnforce {
			add("metadata.annotations["+AnnotationAction+"]", "%q is not one of warn, enforce", v)
		}
	}
	switch fp := p.Spec.FailurePolicy; {
	case fp == nil || *fp == admissionregistrationv1.Fail:
	case *fp == admissionregistrationv1.Ignore:
		st.failOpen = true
	default:
		add("spec.failurePolicy", "%q is not one of Fail, Ignore", *fp)
	}
	if p.Spec.MatchConstraints == nil || len(p.Spec.MatchConstraints.ResourceRules) == 0 {
		add("spec.matchConstraints.resourceRules", "at least one rule is required")
	} else {
		errs = append(errs, checkMatchResources("spec.matchConstraints", p.Spec.MatchConstraints)...)
	}
	if len(p.Spec.Validations) == 0 {
		add("spec.validations", "at least one validation is required (trueup does not evaluate auditAnnotations)")
	}
	for i, v := range p.Spec.Validations {
		if strings.TrimSpace(v.Expression) == "" {
			add(fmt.Sprintf("spec.validations[%d].expression", i), "required")
		}
		if strings.Contains(v.Message, "\n") {
			add(fmt.Sprintf("spec.validations[%d].message", i), "must not contain line breaks")
		}
	}
	errs = append(errs, checkNames("spec.variables", len(p.Spec.Variables), func(i int) (string, string) {
		return p.Spec.Variables[i].Name, p.Spec.Variables[i].Expression
	}, true)...)
	errs = append(errs, checkNames("spec.matchConditions", len(p.Spec.MatchConditions), func(i int) (string, string) {
		return p.Spec.MatchConditions[i].Name, p.Spec.MatchConditions[i].Expression
	}, false)...)
	return st, errs
}

// checkNames checks the names and expressions of variables or match
// conditions: required, unique, and for variables a CEL identifier.
func checkNames(path string, n int, at func(int) (name, expr string), identifier bool) []*LoadError {
	var errs []*LoadError
	seen := map[string]bool{}
	for i := range n {
		name, expr := at(i)
		field := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case name == "":
			errs = append(errs, &LoadError{Field: field + ".name", Err: fmt.Errorf("required")})
		case identifier && !celIdentifier().MatchString(name):
			errs = append(errs, &LoadError{Field: field + ".name", Err: fmt.Errorf("%q is not a valid CEL identifier", name)})
		case seen[name]:
			errs = append(errs, &LoadError{Field: field + ".name", Err: fmt.Errorf("%q is already used", name)})
		}
		seen[name] = true
		if strings.TrimSpace(expr) == "" {
			errs = append(errs, &LoadError{Field: field + ".expression", Err: fmt.Errorf("required")})
		}
	}
	return errs
}

func checkMatchResources(path string, m *admissionregistrationv1.MatchResources) []*LoadError {
	var errs []*LoadError
	for field, sel := range map[string]*metav1.LabelSelector{".namespaceSelector": m.NamespaceSelector, ".objectSelector": m.ObjectSelector} {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, &LoadError{Field: path + field, Err: err})
		}
	}
	for field, rules := range map[string][]admissionregistrationv1.NamedRuleWithOperations{".resourceRules": m.ResourceRules, ".excludeResourceRules": m.ExcludeResourceRules} {
		for i, r := range rules {
			at := fmt.Sprintf("%s%s[%d]", path, field, i)
			for name, list := range map[string]int{"apiGroups": len(r.APIGroups), "apiVersions": len(r.APIVersions), "resources": len(r.Resources), "operations": len(r.Operations)} {
				if list == 0 {
					errs = append(errs, &LoadError{Field: at + "." + name, Err: fmt.Errorf("at least one entry is required")})
				}
			}
		}
	}
	sortErrs(errs)
	return errs
}

func checkBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) []*LoadError {
	var errs []*LoadError
	if b.Spec.PolicyName == "" {
		errs = append(errs, &LoadError{Field: "spec.policyName", Err: fmt.Errorf("required")})
	}
	for i, a := range b.Spec.ValidationActions {
		if a != admissionregistrationv1.Deny && a != admissionregistrationv1.Warn && a != admissionregistrationv1.Audit {
			errs = append(errs, &LoadError{Field: fmt.Sprintf("spec.validationActions[%d]", i), Err: fmt.Errorf("%q is not one of Deny, Warn, Audit", a)})
		}
	}
	if b.Spec.MatchResources != nil {
		errs = append(errs, checkMatchResources("spec.matchResources", b.Spec.MatchResources)...)
	}
	return errs
}

// sortErrs orders errors by field, since they were gathered from maps.
func sortErrs(errs []*LoadError) {
	slices.SortStableFunc(errs, func(a, b *LoadError) int { return strings.Compare(a.Field, b.Field) })
}
