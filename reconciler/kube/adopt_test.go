package kube

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trueup-dev/trueup/drift"
)

func TestAdopt(t *testing.T) {
	tests := []struct {
		name  string
		owner LiveOwner
		allow bool
		want  Adoption
	}{
		{name: "absent", owner: LiveOwner{}, want: AdoptionNone},
		{name: "absent, adopt allowed", owner: LiveOwner{}, allow: true, want: AdoptionNone},
		{name: "already this target's", owner: LiveOwner{Exists: true, Target: "a"}, want: AdoptionNone},
		{name: "unlabelled, adopt not allowed", owner: LiveOwner{Exists: true}, want: AdoptionRefused},
		{name: "unlabelled, adopt allowed", owner: LiveOwner{Exists: true}, allow: true, want: AdoptionAllowed},
		{name: "unlabelled, annotated for this target", owner: LiveOwner{Exists: true, Adopt: "a"}, want: AdoptionAllowed},
		{name: "unlabelled, annotated for another target", owner: LiveOwner{Exists: true, Adopt: "b"}, want: AdoptionRefused},
		{name: "another target's", owner: LiveOwner{Exists: true, Target: "b"}, want: AdoptionOtherTarget},
		{name: "another target's, adopt allowed", owner: LiveOwner{Exists: true, Target: "b"}, allow: true, want: AdoptionOtherTarget},
		{name: "another target's, annotated for this target", owner: LiveOwner{Exists: true, Target: "b", Adopt: "a"}, allow: true, want: AdoptionOtherTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Adopt("a", tt.owner, tt.allow); got != tt.want {
				t.Errorf("Adopt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckAdoptionMessage(t *testing.T) {
	ns := drift.ObjectRef{Version: "v1", Kind: "Namespace", Name: "team-b"}
	deploy := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "team-b", Name: "api"}
	tests := []struct {
		name  string
		ref   drift.ObjectRef
		owner LiveOwner
		is    error
		want  []string
	}{
		{name: "unlabelled namespace", ref: ns, owner: LiveOwner{Exists: true}, is: ErrNotAdopted, want: []string{
			`target "a": Namespace//team-b: apply: `, "no trueup label", "`kubectl annotate namespace team-b trueup.dev/adopt=a`", "set adopt: true",
		}},
		{name: "unlabelled deployment", ref: deploy, owner: LiveOwner{Exists: true, Adopt: "c"}, is: ErrNotAdopted, want: []string{
			"`kubectl annotate -n team-b deployment.apps api trueup.dev/adopt=a`",
		}},
		{name: "another target's", ref: ns, owner: LiveOwner{Exists: true, Target: "b"}, is: ErrOwnedByOtherTarget, want: []string{
			"labelled trueup.dev/target=b", "remove it from one of the two targets",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAdoption("a", tt.ref, tt.owner, false)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if IsRetryable(err) {
				t.Error("refused adoption is retryable")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCreatedNamespaces(t *testing.T) {
	ns := func(n string) drift.ObjectRef { return drift.ObjectRef{Version: "v1", Kind: "Namespace", Name: n} }
	tests := []struct {
		name    string
		objects []drift.ObjectRef
		prev    []string
		changes map[string]bool
		want    []string
	}{
		{name: "old inventory: none created", objects: []drift.ObjectRef{ns("x")}},
		{name: "created now", objects: []drift.ObjectRef{ns("x"), ns("y")}, changes: map[string]bool{"y": true}, want: []string{"y"}},
		{name: "created before stays", objects: []drift.ObjectRef{ns("x")}, prev: []string{"x"}, want: []string{"x"}},
		{name: "taken over now", objects: []drift.ObjectRef{ns("x")}, prev: []string{"x"}, changes: map[string]bool{"x": false}},
		{name: "left the inventory", objects: []drift.ObjectRef{ns("y")}, prev: []string{"x", "y"}, want: []string{"y"}},
		{name: "only namespaces", objects: []drift.ObjectRef{cm("x", "x")}, prev: []string{"x"}, changes: map[string]bool{"x": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := createdNamespaces(tt.objects, tt.prev, tt.changes); !slices.Equal(got, tt.want) {
				t.Errorf("created = %v, want %v", got, tt.want)
			}
		})
	}
}

func nsDoc(name string) string {
	return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n---\n"
}

// TestPruneCreatedNamespace: a Namespace trueup created is marked so in
// the inventory and pruned as before.
func TestPruneCreatedNamespace(t *testing.T) {
	f := newFixture(t)
	target, ns := f.ns, f.ns+"-own"
	res := f.mustApply(target, nsDoc(ns)+configMaps("1", "keep"), testOptions())
	wantAction(t, res, "Namespace", ns, ActionCreated)
	if got := f.inventory(target).CreatedNamespaces; !slices.Equal(got, []string{ns}) {
		t.Fatalf("created namespaces %v, want [%s]", got, ns)
	}

	res = f.mustApply(target, configMaps("1", "keep"), testOptions())
	wantAction(t, res, "Namespace", ns, ActionDeleted)
	if live := f.get("v1", "Namespace", "", ns); live != nil && live.GetDeletionTimestamp() == nil {
		t.Error("namespace trueup created was not deleted")
	}
	if got := f.inventory(target).CreatedNamespaces; len(got) != 0 {
		t.Errorf("created namespaces %v after the prune, want none", got)
	}
}

// TestPruneAdoptedNamespace: a Namespace that existed before trueup took
// it over is never deleted: prune releases it (label removed, dropped from
// the inventory) and everything in it stays.
func TestPruneAdoptedNamespace(t *testing.T) {
	f := newFixture(t)
	target, ns := f.ns, f.ns+"-theirs"
	f.kubectl("create", "namespace", ns)
	f.kubectl("create", "configmap", "-n", ns, "theirs", "--from-literal=k=v")

	res := f.mustApply(target, nsDoc(ns)+configMaps("1", "keep"), testOptions())
	e := wantAction(t, res, "Namespace", ns, ActionConfigured)
	if e.Message != AdoptedNote {
		t.Errorf("message %q, want %q", e.Message, AdoptedNote)
	}
	if got := f.get("v1", "Namespace", "", ns).GetLabels()[LabelTarget]; got != target {
		t.Fatalf("namespace labelled %q, want %q", got, target)
	}
	if got := f.inventory(target).CreatedNamespaces; len(got) != 0 {
		t.Fatalf("adopted namespace marked created: %v", got)
	}

	t.Run("dry-run says it will not be deleted", func(t *testing.T) {
		opts := testOptions()
		opts.DryRun = true
		res := f.mustApply(target, configMaps("1", "keep"), opts)
		if e := wantAction(t, res, "Namespace", ns, ActionSkipped); e.Message != NotCreatedNote {
			t.Errorf("message %q, want %q", e.Message, NotCreatedNote)
		}
	})

	t.Run("prune keeps it and what is in it", func(t *testing.T) {
		res := f.mustApply(target, configMaps("1", "keep"), testOptions())
		if e := wantAction(t, res, "Namespace", ns, ActionSkipped); e.Message != NotCreatedNote {
			t.Errorf("message %q, want %q", e.Message, NotCreatedNote)
		}
		live := f.get("v1", "Namespace", "", ns)
		if live == nil || live.GetDeletionTimestamp() != nil {
			t.Fatal("adopted namespace deleted")
		}
		if _, ok := live.GetLabels()[LabelTarget]; ok {
			t.Errorf("released namespace still labelled %s", LabelTarget)
		}
		if f.get("v1", "ConfigMap", ns, "theirs") == nil {
			t.Error("configmap in the adopted namespace deleted")
		}
		if names := f.inventoryNames(target); slices.Contains(names, ns) {
			t.Errorf("released namespace still in the inventory %v", names)
		}
	})

	t.Run("a later apply does not delete it either", func(t *testing.T) {
		res := f.mustApply(target, configMaps("1", "keep"), testOptions())
		for _, e := range res.Entries {
			if e.Ref.Name == ns {
				t.Errorf("released namespace acted on again: %+v", e)
			}
		}
		if f.get("v1", "Namespace", "", ns) == nil {
			t.Fatal("adopted namespace deleted")
		}
	})
}

// TestApplyRefusesUnannotatedAdoption: with AdoptAnnotatedOnly, Apply
// itself refuses an unlabelled live object (the reconciler checks before
// Apply; this is the last line for an object that appeared since).
func TestApplyRefusesUnannotatedAdoption(t *testing.T) {
	f := newFixture(t)
	f.kubectl("create", "configmap", "-n", f.ns, "theirs", "--from-literal=v=0")
	opts := testOptions()
	opts.AdoptAnnotatedOnly = true

	_, err := f.apply(f.ns, configMaps("1", "theirs"), opts)
	wantErrorIs(t, err, ErrNotAdopted)
	if got := f.configMap("theirs"); got.GetLabels()[LabelTarget] != "" {
		t.Fatalf("unannotated configmap taken over: %v", got.GetLabels())
	}

	f.kubectl("annotate", "-n", f.ns, "configmap", "theirs", AnnotationAdopt+"="+f.ns)
	res := f.mustApply(f.ns, configMaps("1", "theirs"), opts)
	wantAction(t, res, "ConfigMap", "theirs", ActionConfigured)
}

// TestInventoryWithoutCreatedMark: an inventory written before trueup
// marked the namespaces it creates still loads, and its Namespaces count
// as not created: never pruned.
func TestInventoryWithoutCreatedMark(t *testing.T) {
	f := newFixture(t)
	target, ns := f.ns, f.ns+"-old"
	f.kubectl("create", "namespace", ns)
	f.kubectl("label", "namespace", ns, LabelTarget+"="+target)
	// The format as written before (data: format, objects).
	old := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: InventoryName(target), Namespace: DefaultInventoryNamespace,
			Labels:      map[string]string{LabelTarget: target, LabelInventory: "true"},
			Annotations: map[string]string{AnnotationRevision: "abc"},
		},
		Data: map[string]string{"format": "v1", "objects": `[
{"version":"v1","kind":"ConfigMap","namespace":"` + f.ns + `","name":"keep"},
{"version":"v1","kind":"Namespace","name":"` + ns + `"}
]
`},
	}
	if err := f.cluster.ensureNamespace(t.Context(), DefaultInventoryNamespace); err != nil {
		t.Fatal(err)
	}
	if err := f.cluster.Client().Create(t.Context(), old); err != nil {
		t.Fatal(err)
	}

	inv := f.inventory(target)
	if !inv.Found || inv.Revision != "abc" || !slices.Equal(refNames(inv.Objects), []string{"keep", ns}) || len(inv.CreatedNamespaces) != 0 {
		t.Fatalf("old inventory read as %+v", inv)
	}

	res := f.mustApply(target, configMaps("1", "keep"), testOptions())
	wantAction(t, res, "Namespace", ns, ActionSkipped)
	if live := f.get("v1", "Namespace", "", ns); live == nil || live.GetDeletionTimestamp() != nil {
		t.Fatal("namespace of an old inventory deleted")
	}
}

// TestInventoryCreatedMarkRoundTrip: the mark is written in its own data
// key beside the format and objects an older reader reads.
func TestInventoryCreatedMarkRoundTrip(t *testing.T) {
	f := newFixture(t)
	target := f.ns
	inv := Inventory{Target: target, Namespace: DefaultInventoryNamespace, Found: true,
		Objects:           []drift.ObjectRef{{Version: "v1", Kind: "Namespace", Name: "x"}, {Version: "v1", Kind: "Namespace", Name: "y"}},
		CreatedNamespaces: []string{"y"},
	}
	if err := f.cluster.writeInventory(t.Context(), inv); err != nil {
		t.Fatal(err)
	}
	got := f.inventory(target)
	if !slices.Equal(got.CreatedNamespaces, []string{"y"}) || len(got.Objects) != 2 {
		t.Fatalf("read back %+v", got)
	}
	cm := f.get("v1", "ConfigMap", DefaultInventoryNamespace, InventoryName(target))
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if data["format"] != "v1" || data[inventoryCreatedKey] != "[\n\"y\"\n]\n" {
		t.Errorf("data %q", data)
	}
}
