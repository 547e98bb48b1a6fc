package kube

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// listMin is how many objects of one kind in one namespace make a list
// cheaper than reading them one by one.
const listMin = 16

// listPage bounds the objects of one list response.
const listPage = 500

// group is a kind in a namespace.
type group struct {
	gvk       schema.GroupVersionKind
	namespace string
}

func listKey(o *unstructured.Unstructured) group {
	return group{gvk: o.GroupVersionKind(), namespace: o.GetNamespace()}
}

// Listed is the live state ListLive read: the live objects of each kind and
// namespace it listed, by name.
type Listed map[group]map[string]*unstructured.Unstructured

// Lookup returns the live version of desired from the lists: listed is
// false when its kind and namespace were not listed (read it one by one),
// live is nil when it was listed and does not exist.
func (l Listed) Lookup(desired *unstructured.Unstructured) (live *unstructured.Unstructured, listed bool) {
	byName, ok := l[listKey(desired)]
	if !ok {
		return nil, false
	}
	return byName[desired.GetName()], true
}

// ListLive lists through c the live objects of every kind and namespace
// that holds at least listMin desired objects, at most concurrency lists at
// a time: one request per page of 500 instead of one per object. A group
// whose list failed (forbidden, say) is left out, and its objects must be
// read one by one; a failed list is never read as "nothing exists".
func ListLive(ctx context.Context, c client.Client, desired []*unstructured.Unstructured, concurrency int) Listed {
	counts := map[group]int{}
	for _, o := range desired {
		counts[listKey(o)]++
	}
	out := Listed{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(max(concurrency, 1))
	for k, n := range counts {
		// Cluster-scoped kinds (and objects without a namespace) are read
		// one by one: a list without a namespace would be cluster-wide.
		if n < listMin || k.namespace == "" {
			continue
		}
		g.Go(func() error {
			byName, err := list(ctx, c, k)
			if err != nil {
				return nil // read one by one
			}
			mu.Lock()
			out[k] = byName
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// list reads every object of a group, page by page.
func list(ctx context.Context, c client.Client, k group) (map[string]*unstructured.Unstructured, error) {
	byName := map[string]*unstructured.Unstructured{}
	cont := ""
	for {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
		opts := []client.ListOption{client.InNamespace(k.namespace), client.Limit(listPage), client.Continue(cont)}
		if err := c.List(ctx, l, opts...); err != nil {
			return nil, err
		}
		for i := range l.Items {
			o := &l.Items[i]
			if o.GetNamespace() != k.namespace {
				continue
			}
			o.SetGroupVersionKind(k.gvk) // list items may come without their kind
			byName[o.GetName()] = o
		}
		if cont = l.GetContinue(); cont == "" {
			return byName, nil
		}
	}
}
