package policy

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/drift"
)

// Exception exempts one object from one policy until it expires. It is
// written as a PolicyException document:
//
//	apiVersion: policy.trueup.dev/v1alpha1
//	kind: PolicyException
//	metadata: {name: web-needs-host-network}
//	spec:
//	  policy: no-privileged-containers
//	  object: {apiVersion: apps/v1, kind: Deployment, namespace: shop, name: web}
//	  reason: vendor agent needs it until the v3 upgrade
//	  expires: "2026-09-30"            # RFC 3339 date or date-time
//	  approver: security@example.com
//
// All fields are required except object.namespace (absent for
// cluster-scoped objects and AWS resources). The object's version is not
// compared, so an exception survives an apiVersion upgrade. A date expires
// at its start, midnight UTC.
type Exception struct {
	Name     string          `json:"name"`
	File     string          `json:"file,omitempty"`
	Policy   string          `json:"policy"`
	Object   ExceptionObject `json:"object"`
	Reason   string          `json:"reason"`
	Expires  time.Time       `json:"expires"`
	Approver string          `json:"approver"`
}

// ExceptionObject names the exempt object.
type ExceptionObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// Expired reports whether the exception no longer exempts at now.
func (e *Exception) Expired(now time.Time) bool { return !now.Before(e.Expires) }

// Covers reports whether the exception is for this policy and object.
func (e *Exception) Covers(policy string, ref drift.ObjectRef) bool {
	gv, err := schema.ParseGroupVersion(e.Object.APIVersion)
	return err == nil && e.Policy == policy && gv.Group == ref.Group && e.Object.Kind == ref.Kind &&
		e.Object.Namespace == ref.Namespace && e.Object.Name == ref.Name
}

type exceptionDoc struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Policy   string          `json:"policy"`
		Object   ExceptionObject `json:"object"`
		Reason   string          `json:"reason"`
		Expires  string          `json:"expires"`
		Approver string          `json:"approver"`
	} `json:"spec"`
}

// parseException decodes and checks a PolicyException document; each
// error names its field.
func parseException(doc []byte) (*Exception, []*LoadError) {
	var d exceptionDoc
	if err := yaml.UnmarshalStrict(doc, &d); err != nil {
		return nil, []*LoadError{{Err: err}}
	}
	sp := d.Spec
	e := &Exception{Name: d.Metadata.Name, Policy: sp.Policy, Object: sp.Object, Reason: sp.Reason, Approver: sp.Approver}
	var errs []*LoadError
	required := func(field, value string) {
		if strings.TrimSpace(value) == "" {
			errs = append(errs, &LoadError{Field: field, Err: fmt.Errorf("required")})
		}
	}
	required("metadata.name", e.Name)
	required("spec.policy", e.Policy)
	required("spec.object.apiVersion", e.Object.APIVersion)
	required("spec.object.kind", e.Object.Kind)
	required("spec.object.name", e.Object.Name)
	required("spec.reason", e.Reason)
	required("spec.approver", e.Approver)
	required("spec.expires", sp.Expires)
	if _, err := schema.ParseGroupVersion(e.Object.APIVersion); err != nil {
		errs = append(errs, &LoadError{Field: "spec.object.apiVersion", Err: err})
	}
	if sp.Expires != "" {
		t, err := parseExpiry(sp.Expires)
		if err != nil {
			errs = append(errs, &LoadError{Field: "spec.expires", Err: err})
		}
		e.Expires = t
	}
	return e, errs
}

func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 date (2006-01-02) nor date-time (2006-01-02T15:04:05Z)", s)
}

// except marks a finding exempt by the covering exception that lasts
// longest, or, when every covering exception has expired, names the one
// that expired last.
func (s *Set) except(f *Finding, req *request, now time.Time) {
	var valid, expired *Exception
	for _, e := range s.exceptions {
		if !e.Covers(f.Policy, req.ref) {
			continue
		}
		if e.Expired(now) {
			if expired == nil || e.Expires.After(expired.Expires) {
				expired = e
			}
		} else if valid == nil || e.Expires.After(valid.Expires) {
			valid = e
		}
	}
	switch {
	case valid != nil:
		cp := *valid
		f.Excepted = &cp
		f.Note = fmt.Sprintf("exempt by exception %s (approved by %s) until %s: %s",
			cp.Name, cp.Approver, cp.Expires.Format(time.RFC3339), cp.Reason)
	case expired != nil:
		cp := *expired
		f.ExpiredException = &cp
		f.Note = fmt.Sprintf("exception %s (approved by %s) expired at %s",
			cp.Name, cp.Approver, cp.Expires.Format(time.RFC3339))
	}
}
