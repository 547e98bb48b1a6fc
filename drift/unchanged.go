package drift

import (
	"encoding/json"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ApplyUnchanged reports whether a server-side apply of config by manager
// (with force) provably leaves live as it is, so that no dry-run is needed
// to know it is in sync. config is the object as it would be sent (no
// status, no server-written metadata). It is true only when both hold:
//
//   - every field of config is set live to the same value (JSON equality;
//     numbers by value), so merging config into live changes nothing;
//   - manager's managedFields entry on live (exactly one, operation Apply,
//     no subresource, config's apiVersion) holds exactly the fields of
//     config, so the apply removes nothing it owned before.
//
// Anything it cannot prove is false, and the caller must ask the API
// server (dry-run): a value the server normalises (a quantity written
// "0.5", a port as a string), a null, a field another manager took over,
// a list whose items are not matched one to one, in order, to the items of
// live and to manager's entries (an associative list's key may name a
// field config leaves to the server's default only when manager's entry
// does not own that field either, as the previous apply did), a list
// matched by index, or a live list with items config does not have.
func ApplyUnchanged(config, live *unstructured.Unstructured, manager string) bool {
	owned := appliedSet(live, manager, config.GetAPIVersion())
	if owned == nil || config.GetKind() != live.GetKind() {
		return false
	}
	cfgMeta, ok1 := config.Object["metadata"].(map[string]any)
	liveMeta, ok2 := live.Object["metadata"].(map[string]any)
	if !ok1 || !ok2 {
		return false
	}
	// The field manager leaves these out of every field set.
	root := without(config.Object, "apiVersion", "kind", "metadata")
	meta := without(cfgMeta, "name", "namespace")
	if cfgMeta["name"] != liveMeta["name"] || cfgMeta["namespace"] != liveMeta["namespace"] {
		return false
	}
	if len(meta) > 0 {
		root["metadata"] = meta
	}
	return sameMembers(root, live.Object, owned)
}

// appliedSet parses manager's one Apply entry of live's managedFields; nil
// when there is none, more than one entry of manager, or it is for another
// apiVersion or a subresource.
func appliedSet(live *unstructured.Unstructured, manager, apiVersion string) *fieldSet {
	var found *metav1.ManagedFieldsEntry
	entries := live.GetManagedFields()
	for i, e := range entries {
		if e.Manager != manager {
			continue
		}
		if found != nil {
			return nil
		}
		found = &entries[i]
	}
	if found == nil || found.Operation != metav1.ManagedFieldsOperationApply || found.Subresource != "" ||
		found.APIVersion != apiVersion || found.FieldsV1 == nil {
		return nil
	}
	fs, err := parseFieldsV1(found.FieldsV1.Raw)
	if err != nil {
		return nil
	}
	return fs
}

// without returns a shallow copy of m without keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// sameMembers: the object cfg is set live as it is, and owned holds
// exactly its members.
func sameMembers(cfg map[string]any, live any, owned *fieldSet) bool {
	lm, ok := live.(map[string]any)
	if !ok {
		return false
	}
	n := 0
	for k := range owned.children {
		if !strings.HasPrefix(k, "f:") {
			return false // a list item key where an object is
		}
		n++
	}
	if n != len(cfg) {
		return false
	}
	for k, cv := range cfg {
		child := owned.children["f:"+k]
		lv, present := lm[k]
		if child == nil || !present || !sameValue(cv, lv, child) {
			return false
		}
	}
	return true
}

// sameValue: the config value cv is set live (lv) as it is, and owned
// holds exactly its fields.
func sameValue(cv, lv any, owned *fieldSet) bool {
	switch c := cv.(type) {
	case nil:
		return false
	case map[string]any:
		if owned.leaf() { // an atomic object, or an empty one: replaced whole
			return exactlyEqual(c, lv)
		}
		return sameMembers(c, lv, owned)
	case []any:
		if owned.leaf() { // an atomic list: replaced whole
			return exactlyEqual(c, lv)
		}
		return sameItems(c, lv, owned)
	default:
		return owned.leaf() && exactlyEqual(c, lv)
	}
}

// exactlyEqual compares a config value (which must hold no null) with a
// live one.
func exactlyEqual(cv, lv any) bool {
	return !hasNull(cv) && equal(normalize(cv), normalize(lv))
}

func hasNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range x {
			if hasNull(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNull(e) {
				return true
			}
		}
	}
	return false
}

// sameItems: a granular list of config items, set live with exactly these
// items in this order, and owned holds one entry per item (a set's value,
// or an associative list's key) with exactly its fields.
func sameItems(cfg []any, live any, owned *fieldSet) bool {
	ll, ok := live.([]any)
	if !ok || len(ll) != len(cfg) || len(owned.children) != len(cfg) {
		return false
	}
	used := map[string]bool{}
	for i, ci := range cfg {
		key, child := ownedItem(ci, owned)
		if child == nil || used[key] || !itemMatches(key, ll[i]) {
			return false
		}
		used[key] = true
		if key[0] == 'v' { // a set's scalar: owned whole
			if !child.leaf() || !exactlyEqual(ci, ll[i]) {
				return false
			}
			continue
		}
		cm, isMap := ci.(map[string]any)
		if !isMap || !sameMembers(cm, ll[i], child) {
			return false
		}
	}
	return true
}

// ownedItem finds the one entry of owned for the config item ci: the
// "v:" entry of its value, or the "k:" entry whose key fields ci sets to
// the same values, or leaves out while the entry does not own them
// (defaulted by the server, as when the previous apply left them out).
// It returns nothing when no entry or more than one fits.
func ownedItem(ci any, owned *fieldSet) (string, *fieldSet) {
	var found string
	for k, child := range owned.children {
		if !itemFits(k, ci, child) {
			continue
		}
		if found != "" {
			return "", nil
		}
		found = k
	}
	if found == "" {
		return "", nil
	}
	return found, owned.children[found]
}

func itemFits(key string, ci any, child *fieldSet) bool {
	if strings.HasPrefix(key, "v:") {
		return itemMatches(key, ci)
	}
	if !strings.HasPrefix(key, "k:") {
		return false
	}
	cm, ok := ci.(map[string]any)
	var want map[string]any
	if !ok || json.Unmarshal([]byte(key[2:]), &want) != nil || len(want) == 0 {
		return false
	}
	for f, wv := range want {
		cv, set := cm[f]
		switch {
		case set && !exactlyEqual(cv, wv):
			return false
		case !set && child.children["f:"+f] != nil:
			return false
		}
	}
	return true
}
