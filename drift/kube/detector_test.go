package kube_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/drift/kube"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

func TestMain(m *testing.M) { kubeenv.Main(m) }

const (
	secretOriginal = "s3cr3t-original-pw"
	secretChanged  = "n3w-s3cr3t-by-hand"
)

// cluster is the shared control plane with one client for the package, the
// way the daemon builds one client per cluster.
type cluster struct {
	env    *kubeenv.Env
	client client.Client
}

var shared struct {
	once sync.Once
	c    cluster
	err  error
}

func newCluster(t *testing.T) cluster {
	t.Helper()
	env := kubeenv.Shared(t)
	shared.once.Do(func() {
		c, err := client.New(env.Config, client.Options{})
		shared.c, shared.err = cluster{env: env, client: c}, err
	})
	if shared.err != nil {
		t.Fatalf("client: %v", shared.err)
	}
	return shared.c
}

// object decodes a YAML manifest the way the renderer hands objects over
// (integers as int64), with the namespace set.
func object(t *testing.T, ns, manifest string) *unstructured.Unstructured {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatalf("yaml: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		t.Fatalf("decode: %v", err)
	}
	u.SetNamespace(ns)
	return u
}

func deploymentManifest(image string) string {
	return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, trueup.dev/target: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ` + image + `
        args: [--port=80]
        ports: [{containerPort: 80}]
`
}

const configMapManifest = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: settings, trueup.dev/target: shop}
data: {key: value, other: kept}
`

func secretManifest() string {
	return `
apiVersion: v1
kind: Secret
metadata:
  name: db
  labels: {trueup.dev/target: shop}
type: Opaque
data: {password: ` + b64(secretOriginal) + `, user: ` + b64("app") + `}
`
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// apply server-side applies obj as trueup does.
func (c cluster) apply(t *testing.T, obj *unstructured.Unstructured) {
	t.Helper()
	err := c.client.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(obj.DeepCopy()),
		client.FieldOwner(kube.DefaultFieldManager), client.ForceOwnership)
	if err != nil {
		t.Fatalf("apply %s: %v", kube.Ref(obj), err)
	}
}

// kubectl runs the machine's kubectl against the cluster, with extra
// environment variables (KUBE_EDITOR) when given.
func (c cluster) kubectl(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", c.env.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// compare reads the live object and compares it with desired.
func compare(t *testing.T, d *kube.Detector, desired *unstructured.Unstructured, ignore []drift.IgnoreRule) drift.ObjectReport {
	t.Helper()
	live, err := d.Get(t.Context(), desired)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	report, err := d.Compare(t.Context(), desired, live, ignore)
	if err != nil {
		t.Fatalf("compare %s: %v", kube.Ref(desired), err)
	}
	return report
}

func wantInSync(t *testing.T, r drift.ObjectReport) {
	t.Helper()
	if r.Status != drift.InSync || len(r.Fields) != 0 {
		t.Fatalf("%s: status %s, fields %s; want in sync", r.Ref, r.Status, asJSON(t, r.Fields))
	}
	if r.ResourceVersion == "" {
		t.Fatalf("%s: no resourceVersion", r.Ref)
	}
}

// wantOneField checks that r drifted in exactly one field at path and
// returns it.
func wantOneField(t *testing.T, r drift.ObjectReport, path string) drift.FieldDiff {
	t.Helper()
	if r.Status != drift.Drifted || len(r.Fields) != 1 || r.Fields[0].Path != path {
		t.Fatalf("%s: status %s, fields %s; want drifted at %s only", r.Ref, r.Status, asJSON(t, r.Fields), path)
	}
	return r.Fields[0]
}

// wantActor checks the actor of a drifted field. The time is checked when
// timed: managedFields entries written through the scale subresource carry
// no time (kubectl scale), so their actors have a zero Time.
func wantActor(t *testing.T, f drift.FieldDiff, manager, operation string, timed bool, notBefore time.Time) {
	t.Helper()
	a := f.Actor
	if a == nil || a.Manager != manager || a.Operation != operation {
		t.Fatalf("%s: actor %+v, want %s/%s", f.Path, a, manager, operation)
	}
	if !timed {
		if !a.Time.IsZero() {
			t.Logf("%s: the %s entry has a time now (%v): tighten this test", f.Path, manager, a.Time)
		}
		return
	}
	// managedFields times have one-second precision.
	if a.Time.Before(notBefore.Truncate(time.Second)) || a.Time.After(time.Now().Add(time.Minute)) {
		t.Fatalf("%s: actor time %v, want after %v", f.Path, a.Time, notBefore)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(raw)
}

// TestDriftScenario walks the life of three objects trueup applied: in sync,
// changed with kubectl in several ways, ignored, deleted.
func TestDriftScenario(t *testing.T) {
	c := newCluster(t)
	ns := c.env.Namespace(t)
	d := kube.New(c.client)
	deploy := object(t, ns, deploymentManifest("nginx:1.27"))
	cm := object(t, ns, configMapManifest)
	secret := object(t, ns, secretManifest())
	for _, obj := range []*unstructured.Unstructured{deploy, cm, secret} {
		c.apply(t, obj)
	}

	t.Run("in sync despite server defaults", func(t *testing.T) {
		live, err := d.Get(t.Context(), deploy)
		if err != nil {
			t.Fatal(err)
		}
		// The server defaulted fields Git does not set: they must not be drift.
		if _, ok, _ := unstructured.NestedMap(live.Object, "spec", "strategy"); !ok {
			t.Fatal("live Deployment has no defaulted spec.strategy: the test would prove nothing")
		}
		for _, obj := range []*unstructured.Unstructured{deploy, cm, secret} {
			wantInSync(t, compare(t, d, obj, nil))
		}
	})

	t.Run("kubectl scale", func(t *testing.T) {
		start := time.Now()
		c.kubectl(t, nil, "-n", ns, "scale", "deployment", "web", "--replicas=5")
		r := compare(t, d, deploy, nil)
		f := wantOneField(t, r, "/spec/replicas")
		if f.Live != int64(5) || f.Desired != int64(2) {
			t.Fatalf("replicas live %#v desired %#v, want int64 5 and 2", f.Live, f.Desired)
		}
		if f.Masked {
			t.Fatal("replicas masked")
		}
		wantActor(t, f, "kubectl", "Update", false, start)
		t.Logf("kubectl scale: actor %+v", *f.Actor)
	})

	t.Run("ignore rule", func(t *testing.T) {
		rules := []drift.IgnoreRule{
			{Paths: []string{"/spec/replicas"}, Selector: drift.Selector{Kind: "Deployment"}},
		}
		wantInSync(t, compare(t, d, deploy, rules))
		// A rule for another kind or name leaves the drift visible.
		others := []drift.IgnoreRule{
			{Paths: []string{"/spec/replicas"}, Selector: drift.Selector{Kind: "StatefulSet"}},
			{Paths: []string{"/spec/replicas"}, Selector: drift.Selector{Kind: "Deployment", Name: "api"}},
		}
		wantOneField(t, compare(t, d, deploy, others), "/spec/replicas")
		// A selector by label (the target label the objects carry).
		byLabel := []drift.IgnoreRule{
			{Paths: []string{"/spec/replicas"}, Selector: drift.Selector{Labels: map[string]string{"app": "web"}}},
		}
		wantInSync(t, compare(t, d, deploy, byLabel))
	})

	t.Run("kubectl edit of a container image", func(t *testing.T) {
		start := time.Now()
		c.kubectl(t, []string{"KUBE_EDITOR=sed -i s/nginx:1.27/nginx:1.28/"}, "-n", ns, "edit", "deployment", "web")
		r := compare(t, d, deploy, []drift.IgnoreRule{{Paths: []string{"/spec/replicas"}}})
		f := wantOneField(t, r, "/spec/template/spec/containers/0/image")
		if f.Live != "nginx:1.28" || f.Desired != "nginx:1.27" {
			t.Fatalf("image live %v desired %v", f.Live, f.Desired)
		}
		wantActor(t, f, "kubectl-edit", "Update", true, start)
		t.Logf("kubectl edit: actor %+v", *f.Actor)
	})

	t.Run("kubectl patch of an atomic list", func(t *testing.T) {
		start := time.Now()
		c.kubectl(t, nil, "-n", ns, "patch", "deployment", "web", "--type=json",
			"-p", `[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--debug"}]`)
		ignore := []drift.IgnoreRule{{Paths: []string{"/spec/replicas", "/spec/template/spec/containers/0/image"}}}
		r := compare(t, d, deploy, ignore)
		f := wantOneField(t, r, "/spec/template/spec/containers/0/args/1")
		if f.Live != "--debug" || f.Desired != nil {
			t.Fatalf("args/1 live %v desired %v", f.Live, f.Desired)
		}
		// args is atomic: kubectl-patch now owns the whole list.
		wantActor(t, f, "kubectl-patch", "Update", true, start)
	})

	t.Run("healed, then a container added out of band is not drift", func(t *testing.T) {
		c.apply(t, deploy) // what heal does
		wantInSync(t, compare(t, d, deploy, nil))
		// Server-side apply keeps list items other managers own: applying
		// Git would not remove the sidecar, so it is not drift.
		c.kubectl(t, nil, "-n", ns, "patch", "deployment", "web", "--type=strategic",
			"-p", `{"spec":{"template":{"spec":{"containers":[{"name":"debug","image":"busybox:1.36"}]}}}}`)
		live, err := d.Get(t.Context(), deploy)
		if err != nil {
			t.Fatal(err)
		}
		if containers, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers"); len(containers) != 2 {
			t.Fatalf("live containers %v, want web and debug", containers)
		}
		wantInSync(t, compare(t, d, deploy, nil))
	})

	t.Run("kubectl patch of a ConfigMap", func(t *testing.T) {
		start := time.Now()
		c.kubectl(t, nil, "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"key":"by-hand"}}`)
		r := compare(t, d, cm, nil)
		f := wantOneField(t, r, "/data/key")
		if f.Live != "by-hand" || f.Desired != "value" {
			t.Fatalf("data.key live %v desired %v", f.Live, f.Desired)
		}
		wantActor(t, f, "kubectl-patch", "Update", true, start)
	})

	t.Run("kubectl removes a label", func(t *testing.T) {
		c.kubectl(t, nil, "-n", ns, "label", "configmap", "settings", "trueup.dev/target-")
		r := compare(t, d, cm, []drift.IgnoreRule{{Paths: []string{"/data"}}})
		f := wantOneField(t, r, "/metadata/labels/trueup.dev~1target")
		if f.Live != nil || f.Desired != "shop" {
			t.Fatalf("label live %v desired %v", f.Live, f.Desired)
		}
		// No one owns a removed field any more: no actor rather than a guess.
		if f.Actor != nil {
			t.Fatalf("actor of a removed label %+v, want nil", f.Actor)
		}
	})

	t.Run("Secret changed by hand is masked", func(t *testing.T) {
		start := time.Now()
		c.kubectl(t, nil, "-n", ns, "patch", "secret", "db", "--type=merge",
			"-p", `{"stringData":{"password":"`+secretChanged+`"}}`)
		r := compare(t, d, secret, nil)
		f := wantOneField(t, r, "/data/password")
		if !f.Masked || f.Live != drift.MaskedChanged || f.Desired != drift.MaskedChanged {
			t.Fatalf("password diff %+v, want masked and changed on both sides", f)
		}
		wantActor(t, f, "kubectl-patch", "Update", true, start)
		raw := asJSON(t, r)
		for _, leak := range []string{secretOriginal, secretChanged, b64(secretOriginal), b64(secretChanged)} {
			if strings.Contains(raw, leak) {
				t.Fatalf("report leaks %q: %s", leak, raw)
			}
		}
	})

	t.Run("deleted object is missing", func(t *testing.T) {
		c.kubectl(t, nil, "-n", ns, "delete", "deployment", "web", "--wait=false")
		reports, err := d.CompareAll(t.Context(), []*unstructured.Unstructured{deploy, cm}, nil, 2)
		if err != nil {
			t.Fatalf("CompareAll: %v", err)
		}
		if reports[0].Status != drift.Missing || len(reports[0].Fields) != 0 || reports[0].Ref != kube.Ref(deploy) {
			t.Fatalf("deployment report %s, want missing", asJSON(t, reports[0]))
		}
		if reports[1].Status != drift.Drifted {
			t.Fatalf("configmap report %s, want drifted", asJSON(t, reports[1]))
		}
	})
}
