package kube_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/drift/kube"
)

func TestImmutableField(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d := kube.New(c.client)
	c.apply(t, object(t, ns, deploymentManifest("nginx:1.27")))

	// A new selector (with matching template labels) is an immutable change.
	moved := strings.ReplaceAll(deploymentManifest("nginx:1.27"), "{app: web}", "{app: web2}")
	desired := object(t, ns, moved)
	live, err := d.Get(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	report, err := d.Compare(t.Context(), desired, live, nil)
	if err == nil {
		t.Fatalf("Compare = %+v, want an error", report)
	}
	if !errors.Is(err, kube.ErrImmutable) || !apierrors.IsInvalid(err) {
		t.Fatalf("error %v: want ErrImmutable and Invalid", err)
	}
	if prefix := "Deployment.apps/" + ns + "/web: dry-run apply: "; !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("error %q does not start with %q", err, prefix)
	}
	var dre *kube.DryRunError
	if !errors.As(err, &dre) || dre.Ref != kube.Ref(desired) {
		t.Fatalf("errors.As(*DryRunError) = %+v", dre)
	}
}

func TestCompareAllUnknown(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d := kube.New(c.client)
	cm := object(t, ns, configMapManifest)
	c.apply(t, cm)
	widget := object(t, ns, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}`)
	absent := object(t, ns, `{apiVersion: v1, kind: ConfigMap, metadata: {name: absent}}`)

	reports, err := d.CompareAll(t.Context(), []*unstructured.Unstructured{widget, cm, absent}, nil, 0)
	if err == nil {
		t.Fatal("CompareAll: want the unreadable object's error")
	}
	if reports[0].Status != drift.Unknown || !strings.HasPrefix(reports[0].Error, "Widget.example.com/"+ns+"/w: get: ") {
		t.Fatalf("widget report %s: want unknown with the read error", asJSON(t, reports[0]))
	}
	if !strings.Contains(err.Error(), reports[0].Error) {
		t.Fatalf("error %q lacks %q", err, reports[0].Error)
	}
	if reports[1].Status != drift.InSync || reports[2].Status != drift.Missing {
		t.Fatalf("reports %s: want in-sync and missing", asJSON(t, reports[1:]))
	}

	// A context that ended: everything unknown, nothing missing or drifted.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	reports, err = d.CompareAll(ctx, []*unstructured.Unstructured{cm, absent}, nil, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CompareAll after cancel: %v", err)
	}
	for _, r := range reports {
		if r.Status != drift.Unknown || r.Error == "" {
			t.Fatalf("report after cancel %s: want unknown", asJSON(t, r))
		}
	}
}

func TestCompareStaleLive(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d := kube.New(c.client)
	cm := object(t, ns, configMapManifest)
	c.apply(t, cm)
	stale, err := d.Get(t.Context(), cm)
	if err != nil {
		t.Fatal(err)
	}
	c.kubectl(t, nil, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"key":"by-hand"}}`)
	fresh, err := d.Get(t.Context(), cm)
	if err != nil {
		t.Fatal(err)
	}

	// Compared with a cached copy from before the change, the report is
	// still about the object the dry-run saw.
	r, err := d.Compare(t.Context(), cm, stale, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := wantOneField(t, r, "/data/key")
	if f.Live != "by-hand" || f.Actor == nil || f.Actor.Manager != "kubectl-patch" {
		t.Fatalf("diff %s: want the live value by kubectl-patch", asJSON(t, f))
	}
	if r.ResourceVersion != fresh.GetResourceVersion() {
		t.Fatalf("resourceVersion %s, want the fresh %s (stale %s)", r.ResourceVersion, fresh.GetResourceVersion(), stale.GetResourceVersion())
	}
}

func TestCompareWritesNothing(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d := kube.New(c.client)
	cm := object(t, ns, configMapManifest)
	c.apply(t, cm)
	c.kubectl(t, nil, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"key":"by-hand"}}`)
	before, err := d.Get(t.Context(), cm)
	if err != nil {
		t.Fatal(err)
	}
	desired := cm.DeepCopy()
	if _, err := d.Compare(t.Context(), cm, before, nil); err != nil {
		t.Fatal(err)
	}
	after, err := d.Get(t.Context(), cm)
	if err != nil {
		t.Fatal(err)
	}
	if after.GetResourceVersion() != before.GetResourceVersion() {
		t.Fatalf("resourceVersion moved from %s to %s: the dry-run wrote", before.GetResourceVersion(), after.GetResourceVersion())
	}
	if !reflect.DeepEqual(cm, desired) {
		t.Fatal("Compare modified the desired object")
	}
}

func TestWithFieldManager(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	cm := object(t, ns, configMapManifest)
	c.apply(t, cm) // as "trueup"

	// A Detector with another manager name sees trueup's fields as someone
	// else's: the manager name must be the one the applies use.
	other := kube.New(c.client, kube.WithFieldManager("other"))
	if other.FieldManager() != "other" || kube.New(c.client).FieldManager() != kube.DefaultFieldManager {
		t.Fatal("FieldManager")
	}
	changed := cm.DeepCopy()
	if err := unstructured.SetNestedField(changed.Object, "new", "data", "key"); err != nil {
		t.Fatal(err)
	}
	live, err := other.Get(t.Context(), changed)
	if err != nil {
		t.Fatal(err)
	}
	r, err := other.Compare(t.Context(), changed, live, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := wantOneField(t, r, "/data/key")
	if f.Actor == nil || f.Actor.Manager != kube.DefaultFieldManager || f.Actor.Operation != "Apply" {
		t.Fatalf("actor %+v, want trueup/Apply", f.Actor)
	}

	// The same change seen by trueup itself: a change in Git, no actor.
	r, err = kube.New(c.client).Compare(t.Context(), changed, live, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := wantOneField(t, r, "/data/key"); f.Actor != nil || f.Live != "value" || f.Desired != "new" {
		t.Fatalf("diff %s: want value -> new without actor", asJSON(t, f))
	}
}

func TestCompareDeletedSinceRead(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d := kube.New(c.client)
	cm := object(t, ns, configMapManifest)
	c.apply(t, cm)
	live, err := d.Get(t.Context(), cm)
	if err != nil {
		t.Fatal(err)
	}
	c.kubectl(t, nil, "-n", ns, "delete", "configmap", "settings")

	r, err := d.Compare(t.Context(), cm, live, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != drift.Missing || len(r.Fields) != 0 {
		t.Fatalf("report %s: want missing", asJSON(t, r))
	}
}

func TestSecretStringData(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d := kube.New(c.client)
	// Git often holds stringData; the server keeps only data.
	desired := object(t, ns, `
apiVersion: v1
kind: Secret
metadata: {name: api, labels: {trueup.dev/target: shop}}
stringData: {token: `+secretOriginal+`}
`)
	c.apply(t, desired)
	wantInSync(t, compare(t, d, desired, nil))

	c.kubectl(t, nil, "-n", ns, "patch", "secret", "api", "--type=merge",
		"-p", `{"data":{"token":"`+b64(secretChanged)+`","extra":"`+b64(secretChanged)+`"}}`)
	r := compare(t, d, desired, nil)
	f := wantOneField(t, r, "/data/token")
	if !f.Masked || f.Live != drift.MaskedChanged || f.Desired != drift.MaskedChanged {
		t.Fatalf("token diff %s: want masked and changed", asJSON(t, f))
	}
	raw := asJSON(t, r)
	for _, leak := range []string{secretOriginal, secretChanged, b64(secretOriginal), b64(secretChanged)} {
		if strings.Contains(raw, leak) {
			t.Fatalf("report leaks %q: %s", leak, raw)
		}
	}
}
