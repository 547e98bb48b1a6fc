package kube

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Prepare readies rendered objects for Apply, in place: it labels every
// object trueup.dev/target=<target>, puts namespaced objects that have no
// namespace in defaultNamespace, and clears the namespace of cluster-scoped
// ones. Whether a kind is namespaced comes from the cluster (REST mapper) or,
// for a kind defined by a CustomResourceDefinition in the same batch, from the
// CRD's spec.scope. A kind known to neither is an error, as is a namespaced
// object without a namespace when defaultNamespace is empty. All problems come
// back at once, each naming its object.
//
// Whether the live object already belongs to another target is checked by
// Apply, which reads it anyway.
func (c *Cluster) Prepare(objs []*unstructured.Unstructured, target, defaultNamespace string) error {
	batch := crdScopes(objs)
	var errs []error
	for _, obj := range objs {
		err := c.prepareOne(obj, target, defaultNamespace, batch)
		if err == nil {
			continue
		}
		errs = append(errs, objectErr(target, RefOf(obj), "prepare", err))
		if !errors.Is(err, ErrInvalidObject) {
			// The cluster could not answer (unreachable, forbidden): every
			// other object would fail the same way.
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) prepareOne(obj *unstructured.Unstructured, target, defaultNamespace string, batch map[schema.GroupKind]bool) error {
	if obj.GetName() == "" || obj.GetKind() == "" || obj.GetAPIVersion() == "" {
		return fmt.Errorf("%w: apiVersion, kind and metadata.name are required", ErrInvalidObject)
	}
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelTarget] = target
	obj.SetLabels(labels)

	namespaced, err := c.namespaced(obj.GroupVersionKind(), batch)
	if err != nil {
		return err
	}
	switch {
	case !namespaced:
		obj.SetNamespace("")
	case obj.GetNamespace() != "":
	case defaultNamespace == "":
		return fmt.Errorf("%w: namespaced object without a namespace, and the target names no default namespace", ErrInvalidObject)
	default:
		obj.SetNamespace(defaultNamespace)
	}
	return nil
}

// namespaced tells whether gvk is a namespaced kind: from the batch's CRDs
// first, then from the cluster.
func (c *Cluster) namespaced(gvk schema.GroupVersionKind, batch map[schema.GroupKind]bool) (bool, error) {
	if ns, ok := batch[gvk.GroupKind()]; ok {
		return ns, nil
	}
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, fmt.Errorf("%w: kind %s is not served by the cluster and no CustomResourceDefinition in this render defines it: %w", ErrInvalidObject, gvk, err)
	}
	if err != nil {
		return false, fmt.Errorf("look up kind %s: %w", gvk, err)
	}
	return mapping.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// crdScopes maps the group-kinds defined by CustomResourceDefinitions in objs
// to whether they are namespaced.
func crdScopes(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for _, obj := range objs {
		if gk := obj.GroupVersionKind().GroupKind(); gk != (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
			continue
		}
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(obj.Object, "spec", "scope")
		if kind != "" {
			out[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return out
}
