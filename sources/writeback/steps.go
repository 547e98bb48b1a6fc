package writeback

import (
	"fmt"
	"slices"
	"strconv"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// step is one token of a change's path, with what is known of the list
// it indexes. A strategic-merge patch does not address list items by
// index but by a merge key (a container by its name), so an index of the
// object has to be turned into that key before a patch can be searched or
// written.
type step struct {
	key      string // the token
	index    int    // the token as a list index; -1 when it is not one
	list     bool   // the object has a list here
	mergeKey string // the item's merge key, when the list merges by one
	mergeVal any    // the item's value of mergeKey
}

// builtinGroups are the API groups of Kubernetes' own kinds, for which
// kustomize merges lists by their merge keys. Lists of other kinds are
// replaced whole by a strategic-merge patch.
var builtinGroups = []string{
	"", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
	"storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
	"admissionregistration.k8s.io", "certificates.k8s.io", "node.k8s.io", "events.k8s.io",
}

// mergeKeyFor returns the patch merge key of a list field of a Kubernetes
// kind, or "" for a list that is replaced whole.
func mergeKeyFor(field string, parents []string) string {
	switch field {
	case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets":
		return "name"
	case "volumeMounts":
		return "mountPath"
	case "volumeDevices":
		return "devicePath"
	case "hostAliases":
		return "ip"
	case "ports":
		for _, p := range parents {
			if p == "containers" || p == "initContainers" || p == "ephemeralContainers" {
				return "containerPort"
			}
		}
		return "port"
	}
	return ""
}

// translate follows tokens through hint, a JSON-like copy of the object,
// and notes for each list index the item's merge key and value.
func translate(tokens []string, hint any, builtin bool) []step {
	out := make([]step, len(tokens))
	cur := hint
	for i, tok := range tokens {
		st := step{key: tok, index: -1}
		if n, err := strconv.Atoi(tok); err == nil && n >= 0 && strconv.Itoa(n) == tok {
			st.index = n
		}
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			st.list = true
			cur = nil
			if st.index >= 0 && st.index < len(c) {
				cur = c[st.index]
				mk := ""
				if builtin && i > 0 {
					mk = mergeKeyFor(tokens[i-1], tokens[:i-1])
				}
				if m, ok := cur.(map[string]any); ok && mk != "" {
					if v, ok := m[mk]; ok && isScalar(v) {
						st.mergeKey, st.mergeVal = mk, v
					}
				}
			}
		default:
			cur = nil
		}
		out[i] = st
	}
	return out
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, int64, float64, bool:
		return true
	}
	return false
}

// resolveSteps follows steps in a document and returns the path there in
// the document's own indexes, and whether it exists.
func resolveSteps(n *kyaml.Node, steps []step) ([]string, bool) {
	var out []string
	for _, st := range steps {
		switch n.Kind {
		case kyaml.MappingNode:
			c := mapGet(n, st.key)
			if c == nil {
				return out, false
			}
			out, n = append(out, st.key), c
		case kyaml.SequenceNode:
			i := findItem(n, st)
			if i < 0 {
				return out, false
			}
			out, n = append(out, strconv.Itoa(i)), n.Content[i]
		default:
			return out, false
		}
	}
	return out, true
}

// findItem returns the index of the item a step means in a sequence: by
// merge key when it has one, else by index; -1 when there is none.
func findItem(seq *kyaml.Node, st step) int {
	if st.mergeKey == "" {
		if st.index >= 0 && st.index < len(seq.Content) {
			return st.index
		}
		return -1
	}
	want := fmt.Sprint(st.mergeVal)
	for i, item := range seq.Content {
		if k := mapGet(item, st.mergeKey); k != nil && k.Kind == kyaml.ScalarNode && k.Value == want {
			return i
		}
	}
	return -1
}

// smpExpressible reports whether a strategic-merge patch can address the
// path: every list on the way merges by a key the object's item has.
func smpExpressible(steps []step) bool {
	for _, st := range steps {
		if (st.list || st.index >= 0) && st.mergeKey == "" {
			return false
		}
	}
	return true
}

// smpPlacement returns where and what to write in a strategic-merge patch
// document so that it sets v at steps (or, with remove, deletes it): the
// path to the deepest part the document already has, and the value to
// set there, with list items named by their merge keys.
func smpPlacement(root *kyaml.Node, steps []step, v any, remove bool) ([]string, any, error) {
	var tokens []string
	n := root
	i := 0
	for ; i < len(steps); i++ {
		st := steps[i]
		var next *kyaml.Node
		tok := st.key
		switch n.Kind {
		case kyaml.MappingNode:
			next = mapGet(n, st.key)
		case kyaml.SequenceNode:
			if j := findItem(n, st); j >= 0 && st.mergeKey != "" {
				next, tok = n.Content[j], strconv.Itoa(j)
			}
		}
		if next == nil {
			break
		}
		tokens, n = append(tokens, tok), next
	}
	if i == len(steps) {
		if remove {
			return tokens, deleteValue(steps[len(steps)-1]), nil
		}
		return tokens, v, nil
	}
	value, err := smpValue(steps[i:], v, remove)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case isNull(n):
		return tokens, value, nil
	case n.Kind == kyaml.SequenceNode && steps[i].list:
		items, _ := value.([]any)
		if len(items) != 1 {
			return nil, nil, fmt.Errorf("list item without a merge key: %w", ErrUnsupported)
		}
		return append(tokens, "-"), items[0], nil
	case n.Kind == kyaml.MappingNode && !steps[i].list:
		m, _ := value.(map[string]any)
		return append(tokens, steps[i].key), m[steps[i].key], nil
	}
	return nil, nil, fmt.Errorf("the patch has a different shape at %s: %w", pointer(tokens), ErrUnsupported)
}

// deleteValue is what a strategic-merge patch holds to delete a field:
// null for a mapping member, a $patch: delete directive for a list item.
func deleteValue(st step) any {
	if st.mergeKey != "" {
		return map[string]any{st.mergeKey: st.mergeVal, "$patch": "delete"}
	}
	return nil
}

// smpValue builds the patch value for steps: {key: ...} for a member,
// [{mergeKey: value, ...}] for a list item.
func smpValue(steps []step, v any, remove bool) (any, error) {
	if len(steps) == 0 {
		return v, nil
	}
	st := steps[0]
	if !st.list && st.mergeKey == "" {
		if remove && len(steps) == 1 {
			return map[string]any{st.key: nil}, nil
		}
		inner, err := smpValue(steps[1:], v, remove)
		return map[string]any{st.key: inner}, err
	}
	if st.mergeKey == "" {
		return nil, fmt.Errorf("list item without a merge key: %w", ErrUnsupported)
	}
	if remove && len(steps) == 1 {
		return []any{deleteValue(st)}, nil
	}
	inner, err := smpValue(steps[1:], v, remove)
	if err != nil {
		return nil, err
	}
	item, ok := inner.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("list item that is not a mapping: %w", ErrUnsupported)
	}
	out := map[string]any{st.mergeKey: st.mergeVal}
	for k, e := range item {
		out[k] = e
	}
	return []any{out}, nil
}

func isBuiltin(group string) bool { return slices.Contains(builtinGroups, group) }
