package policy

import (
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules"
)

// matches reports whether the request is in the scope of match, the
// apiserver's order and rules: namespaceSelector, objectSelector,
// excludeResourceRules, resourceRules (an empty list matches everything,
// as in a binding's matchResources). matchPolicy Equivalent is treated as
// Exact: trueup evaluates the object in the version it is written in.
func (s *Set) matches(m *admissionregistrationv1.MatchResources, req *request) bool {
	if m == nil {
		return true
	}
	if !s.namespaceSelected(m.NamespaceSelector, req) || !objectSelected(m.ObjectSelector, req) {
		return false
	}
	if matchesRules(m.ExcludeResourceRules, req.attrs) {
		return false
	}
	return len(m.ResourceRules) == 0 || matchesRules(m.ResourceRules, req.attrs)
}

func matchesRules(named []admissionregistrationv1.NamedRuleWithOperations, attrs admission.Attributes) bool {
	for _, nr := range named {
		m := rules.Matcher{Rule: nr.RuleWithOperations, Attr: attrs}
		if !m.Matches() {
			continue
		}
		if len(nr.ResourceNames) == 0 || slices.Contains(nr.ResourceNames, attrs.GetName()) {
			return true
		}
	}
	return false
}

// selector parses a label selector; nil and {} select everything, and an
// invalid one (rejected at load) selects nothing.
func selector(ls *metav1.LabelSelector) labels.Selector {
	if ls == nil {
		return labels.Everything()
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return labels.Nothing()
	}
	return sel
}

// objectSelected matches the labels of the object or of the old object.
func objectSelected(ls *metav1.LabelSelector, req *request) bool {
	sel := selector(ls)
	if sel.Empty() {
		return true
	}
	for _, o := range []map[string]string{req.labels, req.oldLabels} {
		if o != nil && sel.Matches(labels.Set(o)) {
			return true
		}
	}
	return false
}

// namespaceSelected follows the apiserver: cluster-scoped objects always
// match, a Namespace is matched on its own labels, and a namespaced object
// on its namespace's labels, which only the NamespaceLabels option can
// give; without them only an empty selector matches.
func (s *Set) namespaceSelected(ls *metav1.LabelSelector, req *request) bool {
	sel := selector(ls)
	if sel.Empty() {
		return true
	}
	if req.isNamespace() {
		return objectSelected(ls, req)
	}
	if req.ref.Namespace == "" {
		return true
	}
	nsLabels, ok := s.namespaceLabels(req.ref.Namespace)
	return ok && sel.Matches(labels.Set(nsLabels))
}

func (s *Set) namespaceLabels(name string) (map[string]string, bool) {
	if s.opts.namespaces == nil || name == "" {
		return nil, false
	}
	return s.opts.namespaces(name)
}

// enforced reports whether the policy is enforced for this request: by its
// action annotation, or by a binding with Deny that matches the request.
func (s *Set) enforced(c *compiled, req *request) bool {
	if c.action == ActionEnforce {
		return true
	}
	for i := range c.denyBindings {
		if s.matches(&c.denyBindings[i], req) {
			return true
		}
	}
	return false
}
