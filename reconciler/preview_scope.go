package reconciler

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	driftkube "github.com/trueup-dev/trueup/drift/kube"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

// previewScope keeps the prepared objects a preview may dry-run: those the
// target already manages. A preview runs with trueup's identity and shows
// live values, so an object a pull request adds elsewhere (another team's
// namespace, a cluster-scoped object the target never applied) is not read;
// it is reported as not previewed, with no live value.
//
// The target manages its default namespace, every namespace its inventory
// holds objects in (and those Namespace objects), and the cluster-scoped
// objects in its inventory. origins are the objects' origin files; the
// kept ones are returned in step.
func previewScope(t *config.Target, inv kube.Inventory, objs []*unstructured.Unstructured, origins []string) (keep []*unstructured.Unstructured, keptOrigins []string, refused []drift.ObjectReport) {
	namespaces, owned := managedScope(t, inv)
	for i, o := range objs {
		ref := driftkube.Ref(o)
		reason := ""
		switch {
		case owned[unversioned(ref)]:
		case ref.Namespace != "" && !namespaces[ref.Namespace]:
			reason = fmt.Sprintf("target %q manages no object in namespace %q (it manages %s)", t.Name, ref.Namespace, strings.Join(sortedKeys(namespaces), ", "))
		case ref.Namespace == "" && !(ref.Group == "" && ref.Kind == "Namespace" && namespaces[ref.Name]):
			reason = fmt.Sprintf("a cluster-scoped object that target %q has not applied", t.Name)
		}
		if reason != "" {
			refused = append(refused, drift.ObjectReport{Ref: ref, Status: drift.Unknown, Origin: origins[i],
				Error: "not previewed: " + reason + "; a preview reads only what the target already manages"})
			continue
		}
		keep = append(keep, o)
		keptOrigins = append(keptOrigins, origins[i])
	}
	return keep, keptOrigins, refused
}

// managedScope is the namespaces and the (unversioned) objects a target
// manages.
func managedScope(t *config.Target, inv kube.Inventory) (map[string]bool, map[drift.ObjectRef]bool) {
	namespaces := map[string]bool{}
	if t.Namespace != "" {
		namespaces[t.Namespace] = true
	}
	owned := map[drift.ObjectRef]bool{}
	for _, ref := range inv.Objects {
		owned[unversioned(ref)] = true
		if ref.Namespace != "" {
			namespaces[ref.Namespace] = true
		}
		if ref.Group == "" && ref.Kind == "Namespace" {
			namespaces[ref.Name] = true
		}
	}
	return namespaces, owned
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
