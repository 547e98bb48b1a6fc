package render

import "math"

// estimate is an upper bound of what a kustomization builds, computed
// before kustomize runs. A base listed twice counts twice, so a small
// repository whose kustomizations include each other in a diamond (each
// level doubling the output) is refused before kustomize does the work.
type estimate struct {
	objects int64
	bytes   int64 // after alias expansion
}

func (e *estimate) add(o estimate) {
	e.objects = satAdd(e.objects, o.objects)
	e.bytes = satAdd(e.bytes, o.bytes)
}

// satAdd adds two non-negative numbers, stopping at the largest int64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// docsEstimate counts the objects and bytes of a resource file.
func docsEstimate(docs []decodedDoc) estimate {
	var e estimate
	for _, d := range docs {
		n := int64(1)
		if m, ok := d.value.(map[string]any); ok {
			if items, isList := listItems(m); isList {
				n = int64(len(items))
			}
		}
		e.add(estimate{objects: n, bytes: d.size})
	}
	return e
}
