package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
)

// Inventory data keys and format version.
const (
	inventoryObjectsKey = "objects"
	inventoryFormatKey  = "format"
	inventoryFormat     = "v1"
	// inventoryCreatedKey lists the Namespaces trueup created (a JSON
	// array of names). Added within format v1: an inventory without it
	// reads as "created none", and older readers ignore it.
	inventoryCreatedKey = "createdNamespaces"
)

// Inventory is what one target has applied to one cluster and not deleted.
type Inventory struct {
	Target string `json:"target"`
	// Namespace holds the inventory ConfigMap.
	Namespace string `json:"namespace"`
	// Found: the ConfigMap exists. A missing inventory reads as Found false
	// with no objects; a failed read is an error, never an empty inventory.
	Found bool `json:"found"`
	// Revision is the last revision applied and found healthy (or applied
	// without a health wait), if the apply named one.
	Revision string `json:"revision,omitempty"`
	// Attempted is a revision applied after Revision whose objects did not
	// become healthy (see ApplyOptions.RecordUnhealthy); its objects are in
	// Objects. Empty once an apply comes out healthy. Inventories written
	// before it existed read as empty.
	Attempted string `json:"attempted,omitempty"`
	// Objects are sorted by group, kind, namespace, name.
	Objects []drift.ObjectRef `json:"objects"`
	// CreatedNamespaces are the Namespaces of Objects that trueup created
	// (the apply that first wrote them got "created" from the API server),
	// sorted. A Namespace of Objects not listed existed before and was
	// taken over, or was recorded by an inventory written before trueup
	// marked them: prune never deletes it. Inventories written before it
	// existed read as empty.
	CreatedNamespaces []string `json:"createdNamespaces,omitempty"`
}

// Created reports whether trueup created the Namespace name.
func (inv Inventory) Created(name string) bool {
	return slices.Contains(inv.CreatedNamespaces, name)
}

// Applied reports whether revision was applied and found healthy, with no
// failed rollout since: false while an unhealthy attempt is pending.
func (inv Inventory) Applied(revision string) bool {
	return inv.Found && inv.Revision == revision && inv.Attempted == ""
}

// InventoryName is the name of a target's inventory ConfigMap.
func InventoryName(target string) string { return "trueup-inventory-" + target }

// ReadInventory reads a target's inventory from the cluster.
func (c *Cluster) ReadInventory(ctx context.Context, target, namespace string) (Inventory, error) {
	if namespace == "" {
		namespace = DefaultInventoryNamespace
	}
	inv := Inventory{Target: target, Namespace: namespace}
	cm := &corev1.ConfigMap{}
	err := c.ownClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: InventoryName(target)}, cm)
	if apierrors.IsNotFound(err) {
		return inv, nil
	}
	if err != nil {
		return inv, targetErr(target, fmt.Sprintf("read inventory %s/%s", namespace, InventoryName(target)), err)
	}
	refs, created, err := decodeInventory(cm.Data)
	if err != nil {
		return inv, targetErr(target, fmt.Sprintf("read inventory %s/%s", namespace, InventoryName(target)), err)
	}
	inv.Found, inv.Objects, inv.CreatedNamespaces = true, refs, created
	inv.Revision, inv.Attempted = cm.Annotations[AnnotationRevision], cm.Annotations[AnnotationAttempted]
	return inv, nil
}

// writeInventory records inv with a server-side apply, creating the
// namespace when it is missing.
func (c *Cluster) writeInventory(ctx context.Context, inv Inventory) error {
	cm, err := inventoryObject(inv)
	if err != nil {
		return err
	}
	err = c.applyInventoryObject(ctx, cm)
	if apierrors.IsNotFound(err) {
		if err = c.ensureNamespace(ctx, inv.Namespace); err == nil {
			err = c.applyInventoryObject(ctx, cm)
		}
	}
	if err != nil {
		return targetErr(inv.Target, fmt.Sprintf("write inventory %s/%s", inv.Namespace, InventoryName(inv.Target)), err)
	}
	return nil
}

func (c *Cluster) applyInventoryObject(ctx context.Context, cm *unstructured.Unstructured) error {
	return c.ownClient.Patch(ctx, cm.DeepCopy(), client.Apply, client.ForceOwnership, client.FieldOwner(FieldManager))
}

func (c *Cluster) ensureNamespace(ctx context.Context, name string) error {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	if err := c.ownClient.Patch(ctx, ns, client.Apply, client.ForceOwnership, client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// inventoryObject renders inv as a ConfigMap for server-side apply.
func inventoryObject(inv Inventory) (*unstructured.Unstructured, error) {
	data, err := encodeInventory(inv.Objects)
	if err != nil {
		return nil, err
	}
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetNamespace(inv.Namespace)
	cm.SetName(InventoryName(inv.Target))
	cm.SetLabels(map[string]string{LabelTarget: inv.Target, LabelInventory: "true"})
	ann := map[string]string{}
	for k, v := range map[string]string{AnnotationRevision: inv.Revision, AnnotationAttempted: inv.Attempted} {
		if v != "" {
			ann[k] = v
		}
	}
	if len(ann) > 0 {
		cm.SetAnnotations(ann)
	}
	fields := map[string]string{
		inventoryFormatKey:  inventoryFormat,
		inventoryObjectsKey: data,
	}
	if len(inv.CreatedNamespaces) > 0 {
		fields[inventoryCreatedKey] = encodeNames(inv.CreatedNamespaces)
	}
	if err := unstructured.SetNestedStringMap(cm.Object, fields, "data"); err != nil {
		return nil, err
	}
	return cm, nil
}

// encodeNames writes names as a sorted JSON array, one per line.
func encodeNames(names []string) string {
	var b bytes.Buffer
	b.WriteString("[")
	for i, n := range slices.Sorted(slices.Values(names)) {
		line, _ := json.Marshal(n) // a string always marshals
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		b.Write(line)
	}
	b.WriteString("\n]\n")
	return b.String()
}

// encodeInventory writes refs as a JSON array with one ref per line, sorted,
// so the ConfigMap reads and diffs well and the same set always encodes to
// the same bytes.
func encodeInventory(refs []drift.ObjectRef) (string, error) {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range sortRefs(refs) {
		line, err := json.Marshal(r)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		b.Write(line)
	}
	b.WriteString("\n]\n")
	return b.String(), nil
}

// decodeInventory parses the ConfigMap data: the objects and the
// Namespaces among them that trueup created. Anything it cannot read fully
// is an error wrapping ErrInventory.
func decodeInventory(data map[string]string) ([]drift.ObjectRef, []string, error) {
	if f := data[inventoryFormatKey]; f != inventoryFormat {
		return nil, nil, fmt.Errorf("%w: format %q, want %q", ErrInventory, f, inventoryFormat)
	}
	raw, ok := data[inventoryObjectsKey]
	if !ok {
		return nil, nil, fmt.Errorf("%w: no %q key", ErrInventory, inventoryObjectsKey)
	}
	var refs []drift.ObjectRef
	if err := json.Unmarshal([]byte(raw), &refs); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInventory, err)
	}
	for i, r := range refs {
		if r.Version == "" || r.Kind == "" || r.Name == "" {
			return nil, nil, fmt.Errorf("%w: entry %d (%s): version, kind and name are required", ErrInventory, i, r)
		}
	}
	refs = sortRefs(refs)
	var created []string
	if raw, ok := data[inventoryCreatedKey]; ok {
		if err := json.Unmarshal([]byte(raw), &created); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrInventory, inventoryCreatedKey, err)
		}
	}
	return refs, createdNamespaces(refs, created, nil), nil
}

// createdNamespaces returns the Namespaces of objects that trueup created:
// those of prev, changed by this run's changes (name -> true: created,
// false: taken over), sorted. A name that is not a Namespace of objects is
// dropped, so the mark leaves with the object.
func createdNamespaces(objects []drift.ObjectRef, prev []string, changes map[string]bool) []string {
	set := map[string]bool{}
	for _, n := range prev {
		set[n] = true
	}
	for n, created := range changes {
		set[n] = created
	}
	var out []string
	for _, r := range objects {
		if isNamespace(r) && set[r.Name] && !slices.Contains(out, r.Name) {
			out = append(out, r.Name)
		}
	}
	slices.Sort(out)
	return out
}
