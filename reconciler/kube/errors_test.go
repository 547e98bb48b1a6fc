package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/trueup-dev/trueup/drift"
)

func TestIsRetryable(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	gk := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	refused := &url.Error{Op: "Patch", URL: "https://127.0.0.1:1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	invalid := apierrors.NewInvalid(gk, "web", field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable")})
	ref := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web"}

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", refused, true},
		{"wrapped connection refused", objectErr("web", ref, "apply", refused), true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, false},
		{"server timeout", apierrors.NewServerTimeout(gr, "patch", 1), true},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), true},
		{"internal error", apierrors.NewInternalError(errors.New("etcd")), true},
		{"service unavailable", apierrors.NewServiceUnavailable("down"), true},
		{"conflict", apierrors.NewConflict(gr, "web", errors.New("changed")), true},
		{"invalid", invalid, false},
		{"forbidden", apierrors.NewForbidden(gr, "web", errors.New("rbac")), false},
		{"unauthorized", apierrors.NewUnauthorized("who"), false},
		{"immutable", objectErr("web", ref, "apply", fmt.Errorf("%w: %w", ErrImmutable, invalid)), false},
		{"owned by other target", objectErr("web", ref, "apply", ErrOwnedByOtherTarget), false},
		{"unhealthy", fmt.Errorf("%w: timeout", ErrUnhealthy), false},
		{"unknown kind", &meta.NoKindMatchError{GroupKind: gk}, false},
		{"joined transient", errors.Join(refused, context.DeadlineExceeded), true},
		{"joined with terminal", errors.Join(refused, invalid), false},
		{"plain error", errors.New("something"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestObjectErrorMessage(t *testing.T) {
	ref := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web"}
	err := objectErr("web", ref, "apply", errors.New("boom"))
	if got, want := err.Error(), `target "web": Deployment.apps/web/web: apply: boom`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestIsImmutable(t *testing.T) {
	gk := schema.GroupKind{Kind: "Service"}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"field is immutable", apierrors.NewInvalid(gk, "s", field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable")}), true},
		{"may not change once set", apierrors.NewInvalid(gk, "s", field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), "x", "may not change once set")}), true},
		{"statefulset forbidden", apierrors.NewInvalid(gk, "s", field.ErrorList{field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas' are forbidden")}), true},
		{"plain invalid value", apierrors.NewInvalid(gk, "s", field.ErrorList{field.Invalid(field.NewPath("spec", "ports"), "x", "must be between 1 and 65535")}), false},
		{"conflict", apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "s", errors.New("field is immutable")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isImmutable(tt.err); got != tt.want {
				t.Errorf("isImmutable = %v, want %v", got, tt.want)
			}
		})
	}
}
