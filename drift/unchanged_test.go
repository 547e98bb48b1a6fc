package drift

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// appliedDeployment is a Deployment as the API server returns it after
// trueup applied deploymentConfig: defaults added, the port's key
// defaulted (protocol), trueup's entry without f:protocol.
const appliedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  resourceVersion: "7"
  labels: {app: web}
  managedFields:
  - manager: trueup
    operation: Apply
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:labels: {f:app: {}}}
      f:spec:
        f:replicas: {}
        f:selector: {}
        f:template:
          f:spec:
            f:containers:
              k:{"name":"web"}:
                .: {}
                f:name: {}
                f:image: {}
                f:ports:
                  k:{"containerPort":80,"protocol":"TCP"}:
                    .: {}
                    f:containerPort: {}
  - manager: kube-controller-manager
    operation: Update
    apiVersion: apps/v1
    subresource: status
    fieldsType: FieldsV1
    fieldsV1: {f:status: {f:replicas: {}}}
spec:
  replicas: 2
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: web}}
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
        ports: [{containerPort: 80, protocol: TCP}]
status: {replicas: 2}
`

const deploymentConfig = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
`

func decode(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestApplyUnchanged(t *testing.T) {
	container := []string{"spec", "template", "spec", "containers"}
	setContainer := func(u *unstructured.Unstructured, key string, v any) {
		cs, _, _ := unstructured.NestedSlice(u.Object, container...)
		cs[0].(map[string]any)[key] = v
		_ = unstructured.SetNestedSlice(u.Object, cs, container...)
	}
	trueupEntry := func(u *unstructured.Unstructured, f func(e map[string]any)) {
		entries, _, _ := unstructured.NestedSlice(u.Object, "metadata", "managedFields")
		f(entries[0].(map[string]any))
		_ = unstructured.SetNestedSlice(u.Object, entries, "metadata", "managedFields")
	}
	tests := []struct {
		name   string
		config func(*unstructured.Unstructured)
		live   func(*unstructured.Unstructured)
		want   bool
	}{
		{name: "as applied, with server defaults and a defaulted list key", want: true},
		{name: "a float that is an integer", want: true, config: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, float64(2), "spec", "replicas")
		}},
		{name: "a changed value", config: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(3), "spec", "replicas")
		}},
		{name: "a number as a string", config: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "2", "spec", "replicas")
		}},
		{name: "a null", config: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, nil, "spec", "paused")
		}},
		{name: "a field trueup does not own although live has it", config: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(600), "spec", "progressDeadlineSeconds")
		}},
		{name: "a field trueup owns that Git dropped", config: func(u *unstructured.Unstructured) {
			unstructured.RemoveNestedField(u.Object, "spec", "replicas")
		}},
		{name: "the key field set explicitly while the entry does not own it", config: func(u *unstructured.Unstructured) {
			setContainer(u, "ports", []any{map[string]any{"containerPort": int64(80), "protocol": "TCP"}})
		}},
		{name: "a list item another manager added live", live: func(u *unstructured.Unstructured) {
			cs, _, _ := unstructured.NestedSlice(u.Object, container...)
			_ = unstructured.SetNestedSlice(u.Object, append(cs, map[string]any{"name": "debug", "image": "busybox"}), container...)
		}},
		{name: "a value changed live", live: func(u *unstructured.Unstructured) { setContainer(u, "image", "nginx:1.28") }},
		{name: "an atomic field with a live default", live: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "In", "spec", "selector", "matchExpressions")
		}},
		{name: "the entry is an Update", live: func(u *unstructured.Unstructured) {
			trueupEntry(u, func(e map[string]any) { e["operation"] = "Update" })
		}},
		{name: "the entry is of another apiVersion", live: func(u *unstructured.Unstructured) {
			trueupEntry(u, func(e map[string]any) { e["apiVersion"] = "apps/v1beta2" })
		}},
		{name: "no entry of trueup", live: func(u *unstructured.Unstructured) {
			trueupEntry(u, func(e map[string]any) { e["manager"] = "kubectl" })
		}},
		{name: "another name", live: func(u *unstructured.Unstructured) { u.SetName("api") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config, live := decode(t, deploymentConfig), decode(t, appliedDeployment)
			if tt.config != nil {
				tt.config(config)
			}
			if tt.live != nil {
				tt.live(live)
			}
			if got := ApplyUnchanged(config, live, "trueup"); got != tt.want {
				t.Errorf("ApplyUnchanged = %v, want %v", got, tt.want)
			}
		})
	}
}
