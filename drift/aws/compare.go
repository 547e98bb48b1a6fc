package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
)

// Compare reads the live state of the desired resources (see Observe) and
// compares each with its desired spec. It returns one report per desired
// object, in order, with Time set; the caller sets Target and Revision.
//
//   - missing: the resource does not exist;
//   - drifted: a field the spec sets differs live (paths are JSON pointers
//     under /spec, with the live and desired values), or, when the spec sets
//     tags, a tag that is not trueup's own differs, was added or removed;
//   - in-sync: every field the spec sets matches;
//   - unknown: the object is invalid, or its live state could not be read
//     (throttling, a 5xx, access denied, a partial listing); Error says
//     why. An unknown resource is never drifted and never missing.
//
// Fields the spec does not set are not compared (as with server-side
// apply); policy documents compare in canonical form (NormalizePolicy);
// rule sets and managedPolicyArns compare as sets. Ignore rules drop paths
// as drift.DiffFields does. Before reading, the account's identity is
// checked (CheckIdentity): credentials of another account make every object
// unknown and the error matches ErrWrongAccount.
//
// The error joins the per-object errors (each starting with the object's
// identity); the report is complete either way.
func (a *Account) Compare(ctx context.Context, desired []*unstructured.Unstructured, ignore []drift.IgnoreRule) (drift.Report, error) {
	report := drift.Report{Time: a.now().UTC(), Objects: make([]drift.ObjectReport, len(desired))}
	for i, r := range ignore {
		if err := r.Validate(); err != nil {
			return report, fmt.Errorf("ignore[%d]: %w", i, err)
		}
	}
	var errs []error
	var decoded []*Desired
	var at []int
	seen := map[key]bool{}
	for i, obj := range desired {
		d, err := Decode(obj)
		if err == nil && seen[keyOf(d.Ref)] {
			err = &InvalidError{Ref: d.Ref, Problems: []error{errors.New("declared twice")}}
		}
		if err != nil {
			report.Objects[i] = drift.ObjectReport{Ref: Ref(obj.GetKind(), obj.GetName()), Status: drift.Unknown, Error: err.Error()}
			errs = append(errs, err)
			continue
		}
		seen[keyOf(d.Ref)] = true
		decoded = append(decoded, d)
		at = append(at, i)
	}
	obs, err := a.Observe(ctx, decoded, ObserveOptions{})
	errs = append(errs, err)
	for j, o := range obs {
		rep := a.ReportOf(o, ignore)
		if rep.Status == drift.Drifted {
			a.attribute(ctx, o, &rep)
		}
		report.Objects[at[j]] = rep
	}
	return report, errors.Join(errs...)
}

// attribute puts the resolver's actor on every drifted field, or says that
// it is unknown: attribution is best effort (see ActorResolver).
func (a *Account) attribute(ctx context.Context, o Observed, rep *drift.ObjectReport) {
	actor, err := a.actors.ResolveActor(ctx, o.Desired.Ref, o.ARN)
	if err != nil || actor == nil || actor.Name() == "" {
		actor = &drift.Actor{Unknown: ActorUnknown}
	}
	for i := range rep.Fields {
		cp := *actor
		rep.Fields[i].Actor = &cp
	}
}

// ReportOf compares one observed resource with its desired spec; it does no
// I/O. See Compare for the statuses.
func (a *Account) ReportOf(o Observed, ignore []drift.IgnoreRule) drift.ObjectReport {
	ref := o.Desired.Ref
	switch {
	case o.Err != nil:
		return drift.ObjectReport{Ref: ref, Status: drift.Unknown, Error: o.Err.Error()}
	case !o.Exists:
		return drift.ObjectReport{Ref: ref, Status: drift.Missing}
	}
	live, desired := a.Documents(o)
	fields := drift.DiffFields(live, desired, drift.IgnoredPaths(ignore, ref, o.Desired.Labels))
	if len(fields) == 0 {
		return drift.ObjectReport{Ref: ref, Status: drift.InSync}
	}
	return drift.ObjectReport{Ref: ref, Status: drift.Drifted, Fields: fields}
}

// Documents renders an existing observed resource and its desired spec as
// the two Kubernetes-style documents that are compared: the live one holds
// only the fields the desired spec sets (its tags without trueup's), with
// set-like lists aligned to the desired order so that a diff by index
// reports a changed, added or removed element at a stable path.
func (a *Account) Documents(o Observed) (live, desired map[string]any) {
	spec := a.comparable(o.Desired.Spec)
	dspec := toMap(spec)
	lspec := restrict(toMap(o.Live), dspec, reflect.TypeOf(spec))
	alignSpec(o.Desired.Ref.Kind, lspec, dspec)
	return envelope(o.Desired.Ref, lspec), envelope(o.Desired.Ref, dspec)
}

// comparable returns the desired spec in the form reads render: a security
// group's pairs without this account's id.
func (a *Account) comparable(spec any) any {
	sg, ok := spec.(*SecurityGroupSpec)
	if !ok {
		return spec
	}
	cp := *sg
	cp.Ingress, cp.Egress = clonePermissions(sg.Ingress), clonePermissions(sg.Egress)
	a.dropOwnAccount(&cp)
	return &cp
}

func clonePermissions(perms []IPPermission) []IPPermission {
	if perms == nil {
		return nil
	}
	out := make([]IPPermission, len(perms))
	for i, p := range perms {
		p.UserIDGroupPairs = append([]UserIDGroupPair(nil), p.UserIDGroupPairs...)
		out[i] = p
	}
	return out
}

func envelope(ref drift.ObjectRef, spec map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": APIVersion,
		"kind":       ref.Kind,
		"metadata":   map[string]any{"name": ref.Name},
		"spec":       spec,
	}
}

// toMap encodes a spec as a JSON object.
func toMap(spec any) map[string]any {
	b, _ := json.Marshal(spec) // specs always encode
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// restrict keeps the members of live that desired sets, descending into
// members whose Go type (in spec type t) is a struct: as with server-side
// apply, fields Git does not set are not managed. Maps (tags, inline
// policies), lists and policy documents are managed as a whole.
func restrict(live, desired map[string]any, t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[name] = f.Type
	}
	out := map[string]any{}
	for k, dv := range desired {
		lv, ok := live[k]
		if !ok {
			continue
		}
		ft := fields[k]
		for ft != nil && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		lm, lok := lv.(map[string]any)
		dm, dok := dv.(map[string]any)
		if ft != nil && ft.Kind() == reflect.Struct && ft != policyType && lok && dok {
			out[k] = restrict(lm, dm, ft)
			continue
		}
		out[k] = lv
	}
	return out
}
