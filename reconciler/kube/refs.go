package kube

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trueup-dev/trueup/drift"
)

// Labels and annotations trueup reads and writes.
const (
	// LabelTarget names the target that applied an object. Apply refuses an
	// object whose live label names another target, and prune deletes only
	// objects carrying the target's own value.
	LabelTarget = "trueup.dev/target"
	// LabelInventory marks an inventory ConfigMap (value "true"); the watch
	// skips objects carrying it.
	LabelInventory = "trueup.dev/inventory"
	// AnnotationForce set to ForceEnabled on the desired or the live object
	// lets Apply delete and recreate it when an immutable field changes.
	AnnotationForce = "trueup.dev/force"
	ForceEnabled    = "enabled"
	// AnnotationPrune set to PruneDisabled on the live object keeps it when
	// it leaves Git: it is dropped from the inventory instead of deleted.
	AnnotationPrune = "trueup.dev/prune"
	PruneDisabled   = "disabled"
	// AnnotationRevision on the inventory records the revision last applied
	// and found healthy.
	AnnotationRevision = "trueup.dev/revision"
	// AnnotationAttempted on the inventory records a revision that was
	// applied but did not become healthy; it is removed by the first apply
	// that comes out healthy.
	AnnotationAttempted = "trueup.dev/attempted-revision"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "trueup"

// RefOf returns the identity of an object.
func RefOf(obj *unstructured.Unstructured) drift.ObjectRef { return drift.RefOf(obj) }

// GVK returns the group, version and kind of a ref.
func GVK(ref drift.ObjectRef) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind}
}

// objectKey identifies an object regardless of the API version it is read or
// written in: moving an object from v1beta1 to v1 in Git is not a prune.
type objectKey struct {
	Group, Kind, Namespace, Name string
}

func keyOf(ref drift.ObjectRef) objectKey {
	return objectKey{Group: ref.Group, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
}

// compareRefs orders refs by group, kind, namespace, name, then version.
func compareRefs(a, b drift.ObjectRef) int {
	return cmp.Or(
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version),
	)
}

// sortRefs returns refs sorted and without duplicates (by objectKey; the
// first version seen wins).
func sortRefs(refs []drift.ObjectRef) []drift.ObjectRef {
	seen := make(map[objectKey]bool, len(refs))
	out := make([]drift.ObjectRef, 0, len(refs))
	for _, r := range refs {
		if k := keyOf(r); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	slices.SortFunc(out, compareRefs)
	return out
}
