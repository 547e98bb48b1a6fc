package kube

import (
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/fixtures/kubeenv"
)

func TestMain(m *testing.M) { kubeenv.Main(m) }

// sharedCluster is the package's one Cluster on the shared control plane,
// built once as the daemon does.
var sharedCluster struct {
	once sync.Once
	c    *Cluster
	err  error
}

// fixture is one test's view of a cluster: a fresh namespace, used as the
// target name too (unique per test).
type fixture struct {
	t       *testing.T
	env     *kubeenv.Env
	cluster *Cluster
	ns      string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := kubeenv.Shared(t)
	sharedCluster.once.Do(func() {
		sharedCluster.c, sharedCluster.err = NewCluster("test", env.Config)
	})
	if sharedCluster.err != nil {
		t.Fatal(sharedCluster.err)
	}
	return &fixture{t: t, env: env, cluster: sharedCluster.c, ns: env.Namespace(t)}
}

// testOptions are quick to wait and prune by default.
func testOptions() ApplyOptions {
	o := DefaultApplyOptions()
	o.Timeout = 30 * time.Second
	o.WaitInterval = 200 * time.Millisecond
	o.Prune.Enabled = true
	return o
}

// parse decodes a multi-document YAML stream.
func parse(t testing.TB, docs string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatalf("parse %q: %v", doc, err)
		}
		out = append(out, obj)
	}
	return out
}

// configMaps renders ConfigMaps without a namespace, data key "v" = value.
func configMaps(value string, names ...string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + n + "\ndata:\n  v: \"" + value + "\"\n---\n")
	}
	return b.String()
}

// apply prepares and applies docs for target with opts.
func (f *fixture) apply(target, docs string, opts ApplyOptions) (*Result, error) {
	f.t.Helper()
	objs := parse(f.t, docs)
	if err := f.cluster.Prepare(objs, target, f.ns); err != nil {
		f.t.Fatalf("prepare: %v", err)
	}
	return f.cluster.Apply(f.t.Context(), target, objs, opts)
}

// mustApply applies and fails the test on error.
func (f *fixture) mustApply(target, docs string, opts ApplyOptions) *Result {
	f.t.Helper()
	res, err := f.apply(target, docs, opts)
	if err != nil {
		f.t.Fatalf("apply: %v\nresult: %+v", err, res)
	}
	return res
}

// get reads a live object; nil when it does not exist.
func (f *fixture) get(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	f.t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(apiVersion)
	obj.SetKind(kind)
	err := f.cluster.Client().Get(f.t.Context(), client.ObjectKey{Namespace: ns, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatalf("get %s %s/%s: %v", kind, ns, name, err)
	}
	return obj
}

func (f *fixture) configMap(name string) *unstructured.Unstructured {
	f.t.Helper()
	return f.get("v1", "ConfigMap", f.ns, name)
}

// inventory reads the target's inventory and fails the test on error.
func (f *fixture) inventory(target string) Inventory {
	f.t.Helper()
	inv, err := f.cluster.ReadInventory(f.t.Context(), target, DefaultInventoryNamespace)
	if err != nil {
		f.t.Fatalf("read inventory: %v", err)
	}
	return inv
}

// inventoryNames returns the names in the target's inventory.
func (f *fixture) inventoryNames(target string) []string {
	f.t.Helper()
	var names []string
	for _, r := range f.inventory(target).Objects {
		names = append(names, r.Name)
	}
	return names
}

// kubectl runs kubectl against the environment.
func (f *fixture) kubectl(args ...string) string {
	f.t.Helper()
	out, err := exec.Command("kubectl", append([]string{"--kubeconfig", f.env.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		f.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// entry returns the result entry of the named object.
func entry(t *testing.T, res *Result, kind, name string) Entry {
	t.Helper()
	for _, e := range res.Entries {
		if e.Ref.Kind == kind && e.Ref.Name == name {
			return e
		}
	}
	t.Fatalf("no entry for %s %s in %+v", kind, name, res.Entries)
	return Entry{}
}

func wantAction(t *testing.T, res *Result, kind, name string, want Action) Entry {
	t.Helper()
	e := entry(t, res, kind, name)
	if e.Action != want {
		t.Errorf("%s %s: action %q (%s), want %q", kind, name, e.Action, e.Message, want)
	}
	return e
}

func wantErrorIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func refNames(refs []drift.ObjectRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Name)
	}
	return out
}
