package kube

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
)

// serverMetadata are the metadata fields the API server writes: never part
// of what an apply sets, never drift.
var serverMetadata = []string{
	"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink",
}

// normalized returns a copy of obj without what is not compared: status,
// server-written metadata and kubectl's last-applied-configuration
// annotation (kubectl's client-side apply bookkeeping; trueup applies
// server-side, and for a Secret the annotation holds its data). An
// annotations map left empty is removed.
func normalized(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := obj.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "status")
	for _, f := range serverMetadata {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(out.Object, "metadata", "annotations", drift.LastAppliedAnnotation)
	if ann, ok, _ := unstructured.NestedMap(out.Object, "metadata", "annotations"); ok && len(ann) == 0 {
		unstructured.RemoveNestedField(out.Object, "metadata", "annotations")
	}
	return out
}

// applyPayload returns a copy of desired fit for a server-side apply: no
// server-written metadata (an apply must not carry managedFields, and a
// resourceVersion or uid would turn it into a conditional write) and no
// status (the main resource ignores it).
func applyPayload(desired *unstructured.Unstructured) *unstructured.Unstructured {
	out := desired.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "status")
	for _, f := range serverMetadata {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	return out
}
