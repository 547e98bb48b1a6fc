package reconciler

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// StageTenant: the render holds objects the target's tenant may not manage;
// nothing of the target is sent to the cluster.
const StageTenant Stage = "tenant"

// TenantViolation is one rendered object its target's tenant may not
// manage, with the rule it breaks and the fix.
type TenantViolation struct {
	Ref drift.ObjectRef `json:"ref"`
	// Origin is the file the object came from.
	Origin string `json:"origin,omitempty"`
	Rule   string `json:"rule"`
	Fix    string `json:"fix"`
}

// TenantError refuses a target's plan: every object its tenant may not
// manage.
type TenantError struct {
	Target     string
	Tenant     string
	Violations []TenantViolation
}

func (e *TenantError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "target %q: tenant %s: %d object(s) outside the tenant's boundaries; nothing of the target is applied or pruned:", e.Target, e.Tenant, len(e.Violations))
	for _, v := range e.Violations {
		b.WriteString("\n  ")
		b.WriteString(v.Ref.String())
		if v.Origin != "" {
			b.WriteString(" (from " + v.Origin + ")")
		}
		b.WriteString(": tenant " + e.Tenant + ": " + v.Rule + "; " + v.Fix)
	}
	return b.String()
}

// checkTenant returns the objects tenant ti (tenants[ti] of the config)
// may not manage, in order. objs are prepared (kube.Prepare): a
// namespaced kind carries its namespace (the target's namespace when the
// file named none), a cluster-scoped one none, as the cluster's REST mapper
// or a CustomResourceDefinition of the same render says. origins[i] is
// the file of objs[i] (may be shorter).
//
// The rules, in order: a kind in deniedKinds is refused everywhere; a
// Namespace needs createNamespaces and a name matching namespaces; any
// other cluster-scoped kind must be in clusterKinds; a namespaced object
// must be in a namespace matching namespaces.
func checkTenant(tn *config.Tenant, ti int, objs []*unstructured.Unstructured, origins []string) []TenantViolation {
	p := fmt.Sprintf("tenants[%d]", ti)
	var out []TenantViolation
	for i, o := range objs {
		ref := kube.RefOf(o)
		v := TenantViolation{Ref: ref}
		if i < len(origins) {
			v.Origin = origins[i]
		}
		kind := kindName(ref)
		switch {
		case matchKind(tn.DeniedKinds, ref):
			v.Rule = fmt.Sprintf("%s is in %s.deniedKinds", kind, p)
			v.Fix = "remove the object from Git (the platform team denies this kind)"
		case ref.Group == "" && ref.Kind == "Namespace" && !tn.CreateNamespaces:
			v.Rule = fmt.Sprintf("Namespace %s: %s.createNamespaces is false", ref.Name, p)
			v.Fix = "remove the Namespace from Git and ask the platform team to create it, or set createNamespaces: true on the tenant"
		case ref.Group == "" && ref.Kind == "Namespace" && !matchGlobs(tn.Namespaces, ref.Name):
			v.Rule = fmt.Sprintf("Namespace %s does not match %s.namespaces (%s)", ref.Name, p, strings.Join(tn.Namespaces, ", "))
			v.Fix = "rename it to match, or add it to the tenant's namespaces"
		case ref.Group == "" && ref.Kind == "Namespace":
			continue
		case ref.Namespace == "" && !matchKind(tn.ClusterKinds, ref):
			v.Rule = fmt.Sprintf("%s is cluster-scoped and not in %s.clusterKinds", kind, p)
			v.Fix = fmt.Sprintf("remove the object from Git, or add %s to the tenant's clusterKinds", kind)
		case ref.Namespace != "" && !matchGlobs(tn.Namespaces, ref.Namespace):
			v.Rule = fmt.Sprintf("namespace %s does not match %s.namespaces (%s)", ref.Namespace, p, strings.Join(tn.Namespaces, ", "))
			v.Fix = "move the object to one of the tenant's namespaces (or set the target's namespace), or add the namespace to the tenant's namespaces"
		default:
			continue
		}
		out = append(out, v)
	}
	return out
}

// kindName is Kind.group, or Kind for the core group.
func kindName(ref drift.ObjectRef) string {
	if ref.Group == "" {
		return ref.Kind
	}
	return ref.Kind + "." + ref.Group
}

// matchKind reports whether a kind rule matches: "Kind" matches the kind
// in any API group, "Kind.group" only in that group.
func matchKind(rules []string, ref drift.ObjectRef) bool {
	for _, r := range rules {
		kind, group, grouped := strings.Cut(r, ".")
		if kind == ref.Kind && (!grouped || group == ref.Group) {
			return true
		}
	}
	return false
}

func matchGlobs(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

// guardTenant refuses the plan of a tenant's target when any prepared
// object breaks the tenant's rules; targets outside any tenant pass.
func (r *Reconciler) guardTenant(t *config.Target, objs []*unstructured.Unstructured, origins []string) error {
	ti := r.cfg.TenantIndex(t.Name)
	if ti < 0 {
		return nil
	}
	tn := &r.cfg.Tenants[ti]
	if vs := checkTenant(tn, ti, objs, origins); len(vs) > 0 {
		return &TenantError{Target: t.Name, Tenant: tn.Name, Violations: vs}
	}
	return nil
}
