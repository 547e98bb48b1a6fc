package kube

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/trueup-dev/trueup/drift"
)

func TestDryRunErrorImmutable(t *testing.T) {
	deploy := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	selector := field.NewPath("spec", "selector")
	tests := []struct {
		name          string
		err           error
		wantImmutable bool
		wantInvalid   bool
	}{
		{name: "built-in immutable field",
			err:           apierrors.NewInvalid(deploy, "web", field.ErrorList{field.Invalid(selector, "x", apivalidation.FieldImmutableErrorMsg)}),
			wantImmutable: true, wantInvalid: true},
		{name: "immutable ConfigMap",
			err: apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "c",
				field.ErrorList{field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set")}),
			wantImmutable: true, wantInvalid: true},
		{name: "other validation error",
			err:         apierrors.NewInvalid(deploy, "web", field.ErrorList{field.Required(selector, "")}),
			wantInvalid: true},
		{name: "webhook wording",
			err:           apierrors.NewBadRequest(`admission webhook "guard.example.com" denied the request: spec.size is immutable`),
			wantImmutable: true},
		{name: "forbidden", err: apierrors.NewForbidden(schema.GroupResource{Resource: "deployments"}, "web", errors.New("no"))},
		{name: "conflict is not immutability", err: apierrors.NewConflict(schema.GroupResource{Resource: "deployments"}, "web", errors.New("changed"))},
		{name: "not an API error", err: errors.New("connection refused: immutable field")},
	}
	ref := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("compare: %w", &DryRunError{Ref: ref, Err: tt.err})
			if got := errors.Is(err, ErrImmutable); got != tt.wantImmutable {
				t.Errorf("errors.Is(ErrImmutable) = %v, want %v", got, tt.wantImmutable)
			}
			if got := apierrors.IsInvalid(err); got != tt.wantInvalid {
				t.Errorf("apierrors.IsInvalid = %v, want %v", got, tt.wantInvalid)
			}
			var dre *DryRunError
			if !errors.As(err, &dre) || dre.Ref != ref {
				t.Errorf("errors.As(*DryRunError) = %v", dre)
			}
			want := "compare: Deployment.apps/shop/web: dry-run apply: " + tt.err.Error()
			if err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}
