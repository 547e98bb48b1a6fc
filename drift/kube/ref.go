package kube

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
)

// Ref returns the identity of a Kubernetes object.
func Ref(obj *unstructured.Unstructured) drift.ObjectRef { return drift.RefOf(obj) }
