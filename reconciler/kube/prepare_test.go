package kube

import (
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	f := newFixture(t)
	nsGroup := "ns-" + f.ns + ".example.com"
	clusterGroup := "cl-" + f.ns + ".example.com"
	tests := []struct {
		name      string
		docs      string
		defaultNS string
		wantNS    map[string]string // kind/name -> namespace after Prepare
		wantErr   string
	}{
		{
			name:      "namespaced object gets the default namespace",
			docs:      configMaps("1", "a"),
			defaultNS: "apps",
			wantNS:    map[string]string{"ConfigMap/a": "apps"},
		},
		{
			name:      "an explicit namespace stays",
			docs:      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: other\n",
			defaultNS: "apps",
			wantNS:    map[string]string{"ConfigMap/a": "other"},
		},
		{
			name:      "cluster-scoped object loses a namespace",
			docs:      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n  namespace: apps\n",
			defaultNS: "apps",
			wantNS:    map[string]string{"ClusterRole/r": ""},
		},
		{
			name:      "kind of a namespaced CRD in the batch",
			docs:      widgetCRD(nsGroup, "Namespaced"),
			defaultNS: "apps",
			wantNS:    map[string]string{"Widget/w1": "apps", "CustomResourceDefinition/widgets." + nsGroup: ""},
		},
		{
			name:      "kind of a cluster-scoped CRD in the batch",
			docs:      strings.Replace(widgetCRD(clusterGroup, "Cluster"), "  name: w1\n", "  name: w1\n  namespace: apps\n", 1),
			defaultNS: "apps",
			wantNS:    map[string]string{"Widget/w1": ""},
		},
		{
			name:      "unknown kind",
			docs:      "apiVersion: nowhere.example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n",
			defaultNS: "apps",
			wantErr:   `target "t": Gadget.nowhere.example.com//g: prepare: invalid object: kind nowhere.example.com/v1, Kind=Gadget is not served`,
		},
		{
			name:    "namespaced object without any namespace",
			docs:    configMaps("1", "a"),
			wantErr: `target "t": ConfigMap//a: prepare: invalid object: namespaced object without a namespace`,
		},
		{
			name:      "object without a name",
			docs:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
			defaultNS: "apps",
			wantErr:   "apiVersion, kind and metadata.name are required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := parse(t, tt.docs)
			err := f.cluster.Prepare(objs, "t", tt.defaultNS)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if IsRetryable(err) {
					t.Errorf("retryable: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if got := o.GetLabels()[LabelTarget]; got != "t" {
					t.Errorf("%s: label %q", o.GetName(), got)
				}
				want, ok := tt.wantNS[o.GetKind()+"/"+o.GetName()]
				if ok && o.GetNamespace() != want {
					t.Errorf("%s/%s: namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), want)
				}
			}
		})
	}
}

func TestApplyRefusesUnpreparedObjects(t *testing.T) {
	f := newFixture(t)
	objs := parse(t, configMaps("1", "a", "a"))
	for _, o := range objs {
		o.SetNamespace(f.ns)
	}
	_, err := f.cluster.Apply(t.Context(), f.ns, objs, testOptions())
	wantErrorIs(t, err, ErrInvalidObject)
	if !strings.Contains(err.Error(), "call Prepare first") {
		t.Errorf("err = %v", err)
	}
	objs[0].SetLabels(map[string]string{LabelTarget: f.ns})
	objs[1].SetLabels(map[string]string{LabelTarget: f.ns})
	_, err = f.cluster.Apply(t.Context(), f.ns, objs, testOptions())
	if err == nil || !strings.Contains(err.Error(), "duplicate object") {
		t.Errorf("err = %v, want duplicate", err)
	}
	if f.inventory(f.ns).Found {
		t.Error("inventory written")
	}
}
