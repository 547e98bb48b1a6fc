package drift

import (
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Attribute tells who wrote the live value at path (a JSON pointer) from the
// live object's metadata.managedFields, leaving out self (trueup's own field
// manager). It returns nil when it cannot tell.
//
// A manager is a candidate when its field set holds the path or fields
// under it (a whole list item a kubectl edit added), or holds an atomic
// ancestor of the path as a whole. Holders of the path itself win over
// holders of an ancestor, then the most recent write wins. List indexes in
// the path are matched to the entries fieldsV1 uses (k:{"name":"web"},
// v:"value", i:0) through the live object's list items.
//
// It returns nil when self owns the live value (the live value is the one
// trueup applied, so a difference comes from Git, not from the cluster), and
// when no one else owns the path: a field removed out of band is owned by no
// one any more.
//
// The Actor's Time is when the manager last wrote the object, which is when
// it wrote the field or later: managedFields keeps one time per manager and
// operation, not per field. It is zero when the entry has no time, which is
// the case for writes through the scale subresource (kubectl scale, an
// autoscaler). The Actor does not tell the subresource.
func Attribute(live *unstructured.Unstructured, path string, self string) *Actor {
	if live == nil {
		return nil
	}
	tokens, err := SplitPointer(path)
	if err != nil {
		return nil
	}
	return newAttributor(live, self).attribute(tokens)
}

// AttributeFields sets the Actor of each field from the live object, as
// Attribute does, parsing managedFields once.
func AttributeFields(live *unstructured.Unstructured, fields []FieldDiff, self string) {
	if live == nil || len(fields) == 0 {
		return
	}
	a := newAttributor(live, self)
	for i := range fields {
		tokens, err := SplitPointer(fields[i].Path)
		if err != nil {
			continue
		}
		fields[i].Actor = a.attribute(tokens)
	}
}

// managerSet is one parsed managedFields entry.
type managerSet struct {
	manager   string
	operation string
	time      time.Time
	fields    *fieldSet
}

type attributor struct {
	doc    map[string]any
	self   []*fieldSet
	others []managerSet
}

func newAttributor(live *unstructured.Unstructured, self string) *attributor {
	a := &attributor{doc: live.Object}
	for _, e := range live.GetManagedFields() {
		if e.FieldsV1 == nil {
			continue
		}
		fs, err := parseFieldsV1(e.FieldsV1.Raw)
		if err != nil {
			continue // a corrupt entry tells nothing
		}
		if e.Manager == self {
			a.self = append(a.self, fs)
			continue
		}
		ms := managerSet{manager: e.Manager, operation: string(e.Operation), fields: fs}
		if e.Time != nil {
			ms.time = e.Time.UTC()
		}
		a.others = append(a.others, ms)
	}
	return a
}

func (a *attributor) attribute(tokens []string) *Actor {
	for _, fs := range a.self {
		if own, leaf := fs.lookup(a.doc, tokens); own != notOwned && leaf {
			return nil
		}
	}
	var best *managerSet
	bestOwn := notOwned
	for i := range a.others {
		ms := &a.others[i]
		own, _ := ms.fields.lookup(a.doc, tokens)
		if own == notOwned {
			continue
		}
		if best == nil || own > bestOwn || (own == bestOwn && ms.time.After(best.time)) {
			best, bestOwn = ms, own
		}
	}
	if best == nil {
		return nil
	}
	return &Actor{Manager: best.manager, Operation: best.operation, Time: best.time}
}
