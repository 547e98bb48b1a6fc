package aws

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
)

// Desired is a decoded, validated desired resource.
type Desired struct {
	Ref drift.ObjectRef
	// Labels are the object's metadata.labels, for ignore-rule selectors.
	Labels map[string]string
	// Spec is *S3BucketSpec, *IAMRoleSpec, *IAMPolicySpec or
	// *SecurityGroupSpec, with policy documents in canonical form.
	Spec any
}

// newSpec returns an empty spec of kind, or nil for an unsupported kind.
func newSpec(kind string) validator {
	switch kind {
	case KindS3Bucket:
		return &S3BucketSpec{}
	case KindIAMRole:
		return &IAMRoleSpec{}
	case KindIAMPolicy:
		return &IAMPolicySpec{}
	case KindSecurityGroup:
		return &SecurityGroupSpec{}
	}
	return nil
}

// InvalidError is a desired object that cannot be decoded. It matches
// ErrInvalidObject; its message names every problem's field path:
// S3Bucket/logs: spec.versionning: unknown field (did you mean versioning?).
type InvalidError struct {
	Ref      drift.ObjectRef
	Problems []error
}

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return ID(e.Ref) + ": " + strings.Join(msgs, "; ")
}

// Is matches ErrInvalidObject.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalidObject }

// Decode checks a desired object and decodes its spec. Unknown fields,
// values of the wrong type, bad enum values and missing required fields
// are errors (an *InvalidError) naming the field path.
func Decode(obj *unstructured.Unstructured) (*Desired, error) {
	ref := Ref(obj.GetKind(), obj.GetName())
	problems := checkEnvelope(obj)
	spec := newSpec(obj.GetKind())
	if spec == nil || len(problems) > 0 {
		return nil, &InvalidError{Ref: ref, Problems: problems}
	}
	raw, _, err := unstructured.NestedFieldNoCopy(obj.Object, "spec")
	if err != nil || raw == nil {
		raw = map[string]any{}
	}
	if problems = checkShape("spec", raw, reflect.TypeOf(spec)); len(problems) > 0 {
		return nil, &InvalidError{Ref: ref, Problems: problems}
	}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, spec)
	}
	if err != nil {
		return nil, &InvalidError{Ref: ref, Problems: []error{fmt.Errorf("spec: %w", err)}}
	}
	if err := spec.validate(ref.Name); err != nil {
		return nil, &InvalidError{Ref: ref, Problems: unjoin(err)}
	}
	if c, ok := spec.(interface{ canonicalize() error }); ok {
		if err := c.canonicalize(); err != nil {
			return nil, &InvalidError{Ref: ref, Problems: unjoin(err)}
		}
	}
	return &Desired{Ref: ref, Labels: obj.GetLabels(), Spec: spec}, nil
}

// DecodeAll decodes every object; two objects with the same kind and name
// are an error. The error joins every object's problems.
func DecodeAll(objs []*unstructured.Unstructured) ([]*Desired, error) {
	out := make([]*Desired, 0, len(objs))
	seen := map[key]bool{}
	var errs []error
	for _, obj := range objs {
		d, err := Decode(obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[keyOf(d.Ref)] {
			errs = append(errs, &InvalidError{Ref: d.Ref, Problems: []error{errors.New("declared twice")}})
			continue
		}
		seen[keyOf(d.Ref)] = true
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkEnvelope checks apiVersion, kind and metadata.
func checkEnvelope(obj *unstructured.Unstructured) []error {
	var errs []error
	if v := obj.GetAPIVersion(); v != APIVersion {
		errs = append(errs, fmt.Errorf("apiVersion: %q is not %s", v, APIVersion))
	}
	if newSpec(obj.GetKind()) == nil {
		errs = append(errs, fmt.Errorf("kind: %q is not one of %s", obj.GetKind(), strings.Join(Kinds(), ", ")))
	}
	if obj.GetName() == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	}
	if ns := obj.GetNamespace(); ns != "" {
		errs = append(errs, fmt.Errorf("metadata.namespace: %q set, but AWS resources are not namespaced", ns))
	}
	for k := range obj.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "spec":
		default:
			errs = append(errs, unknownField(k, k, []string{"apiVersion", "kind", "metadata", "spec"}))
		}
	}
	return errs
}

var policyType = reflect.TypeFor[Policy]()

// checkShape checks that v, a decoded YAML/JSON value at path, fits Go type
// t: no unknown fields, the right kinds of values, integers in range.
func checkShape(path string, v any, t reflect.Type) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // unset
	}
	if t == policyType {
		if _, err := NormalizePolicy(v); err != nil {
			return []error{fmt.Errorf("%s: %w", path, err)}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return checkStruct(path, v, t)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return []error{wrongType(path, "an object", v)}
		}
		var errs []error
		for _, k := range slices.Sorted(maps.Keys(m)) {
			errs = append(errs, checkShape(mapPath(path, k), m[k], t.Elem())...)
		}
		return errs
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return []error{wrongType(path, "a list", v)}
		}
		var errs []error
		for i, e := range l {
			errs = append(errs, checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return []error{wrongType(path, "a string", v)}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return []error{wrongType(path, "a boolean", v)}
		}
	case reflect.Int32:
		if err := checkInt32(path, v); err != nil {
			return []error{err}
		}
	}
	return nil
}

func checkStruct(path string, v any, t reflect.Type) []error {
	m, ok := v.(map[string]any)
	if !ok {
		return []error{wrongType(path, "an object", v)}
	}
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
			names = append(names, name)
		}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ft, ok := fields[k]
		if !ok {
			errs = append(errs, unknownField(mapPath(path, k), k, names))
			continue
		}
		errs = append(errs, checkShape(mapPath(path, k), m[k], ft)...)
	}
	return errs
}

func checkInt32(path string, v any) error {
	var f float64
	switch n := v.(type) {
	case int64:
		f = float64(n)
	case int:
		f = float64(n)
	case int32:
		f = float64(n)
	case float64:
		f = n
	default:
		return wrongType(path, "an integer", v)
	}
	if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return fmt.Errorf("%s: %v is not a 32-bit integer", path, v)
	}
	return nil
}

func wrongType(path, want string, v any) error {
	return fmt.Errorf("%s: must be %s, not %s", path, want, typeName(v))
}

// unknownField reports an unknown field, suggesting the closest known name.
func unknownField(path, name string, known []string) error {
	if s := closest(name, known); s != "" {
		return fmt.Errorf("%s: unknown field (did you mean %s?)", path, s)
	}
	return fmt.Errorf("%s: unknown field (known: %s)", path, strings.Join(known, ", "))
}

// closest returns the known name nearest to name (case-insensitive edit
// distance), or "" when none is close enough to be a likely typo.
func closest(name string, known []string) string {
	best, bestDist := "", math.MaxInt
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist <= max(2, len(name)/3) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// mapPath appends a member name to a dotted path, quoting names that hold
// dots, slashes or spaces: spec.tags["trueup.dev/target"].
func mapPath(path, k string) string {
	if k == "" || strings.ContainsAny(k, `./ "[]`) {
		return fmt.Sprintf("%s[%q]", path, k)
	}
	return path + "." + k
}
