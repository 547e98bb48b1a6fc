package kube_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/drift/kube"
)

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Many objects of one kind in one namespace are read with one list, not one
// request each, and compare the same as when read one by one: in sync,
// drifted (attributed), missing.
func TestCompareAllListsManyObjectsOfAKind(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	var gets, lists atomic.Int64
	cfg := rest.CopyConfig(c.env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/configmaps") { // not discovery
				if r.URL.Query().Get("limit") != "" {
					lists.Add(1)
				} else {
					gets.Add(1)
				}
			}
			return rt.RoundTrip(r)
		})
	}
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := kube.New(cl)
	const n = 40
	var desired []*unstructured.Unstructured
	for i := range n {
		o := object(t, ns, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%02d\ndata:\n  mode: git\n", i))
		desired = append(desired, o)
		if i != n-1 { // the last one stays missing
			c.apply(t, o)
		}
	}
	c.kubectl(t, nil, "-n", ns, "patch", "configmap", "cm-07", "--field-manager", "kubectl-patch", "-p", `{"data":{"mode":"edited"}}`)
	gets.Store(0)
	reports, err := d.CompareAll(t.Context(), desired, nil, 4)
	if err != nil {
		t.Fatalf("CompareAll: %v", err)
	}
	for i, r := range reports {
		switch {
		case i == 7:
			f := wantOneField(t, r, "/data/mode")
			if f.Actor == nil || f.Actor.Manager != "kubectl-patch" {
				t.Fatalf("cm-07 drift attributed to %+v, want kubectl-patch", f.Actor)
			}
		case i == n-1:
			if r.Status != drift.Missing {
				t.Fatalf("cm-%02d: %s, want missing", i, r.Status)
			}
		default:
			wantInSync(t, r)
		}
	}
	if gets.Load() != 0 || lists.Load() == 0 {
		t.Fatalf("%d gets and %d lists for %d objects of one kind, want one list and no get", gets.Load(), lists.Load(), n)
	}
}
