package kube

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestNormalized(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{
			name: "server metadata, status and last-applied dropped",
			in: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{
					"name": "c", "namespace": "ns", "uid": "u", "resourceVersion": "7", "generation": int64(2),
					"creationTimestamp": "2026-01-01T00:00:00Z", "selfLink": "/x",
					"managedFields": []any{map[string]any{"manager": "trueup"}},
					"labels":        map[string]any{"app": "c"},
					"annotations":   map[string]any{"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "me"},
				},
				"data":   map[string]any{"k": "v"},
				"status": map[string]any{"phase": "x"},
			},
			want: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "c", "namespace": "ns",
					"labels": map[string]any{"app": "c"}, "annotations": map[string]any{"keep": "me"}},
				"data": map[string]any{"k": "v"},
			},
		},
		{
			name: "annotations left empty are removed",
			in: map[string]any{"metadata": map[string]any{"name": "c",
				"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": "{}"}}},
			want: map[string]any{"metadata": map[string]any{"name": "c"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &unstructured.Unstructured{Object: tt.in}
			before := in.DeepCopy()
			got := normalized(in)
			if !reflect.DeepEqual(got.Object, tt.want) {
				t.Fatalf("normalized = %v, want %v", got.Object, tt.want)
			}
			if !reflect.DeepEqual(in, before) {
				t.Fatal("normalized modified its input")
			}
		})
	}
}

func TestApplyPayload(t *testing.T) {
	in := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c", "resourceVersion": "7", "uid": "u",
			"managedFields": []any{map[string]any{"manager": "x"}},
			"annotations":   map[string]any{"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
		"status": map[string]any{},
	}}
	got := applyPayload(in)
	want := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c",
		"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": "{}"}}}
	if !reflect.DeepEqual(got.Object, want) {
		t.Fatalf("applyPayload = %v, want %v", got.Object, want)
	}
	if in.GetResourceVersion() != "7" {
		t.Fatal("applyPayload modified its input")
	}
}
