package drift

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// liveDeployment is a Deployment as a cluster returns it after trueup
// applied it, the controller wrote its status, `kubectl scale` changed the
// replicas, `kubectl edit` changed an image and added a container, a bot
// added a finalizer and another applier (helm) owns the atomic selector.
const liveDeployment = `{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {
    "name": "web", "namespace": "shop",
    "labels": {"app": "web", "trueup.dev/target": "shop"},
    "finalizers": ["example.com/guard"],
    "managedFields": [
      {"manager": "trueup", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-01-01T10:00:00Z",
       "fieldsType": "FieldsV1", "fieldsV1": {
         "f:metadata": {"f:labels": {"f:app": {}, "f:trueup.dev/target": {}}},
         "f:spec": {"f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
           "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:name": {},
             "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}}}}},
      {"manager": "helm", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-01-01T09:00:00Z",
       "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:selector": {}}}},
      {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-01-01T10:00:05Z",
       "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:status": {"f:replicas": {}, "f:observedGeneration": {}}}},
      {"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-01-02T03:04:05Z",
       "fieldsType": "FieldsV1", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
      {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-01-02T04:00:00Z",
       "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
         "k:{\"name\":\"web\"}": {"f:image": {}},
         "k:{\"name\":\"debug\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
      {"manager": "finalizer-bot", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-01-02T05:00:00Z",
       "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:finalizers": {".": {}, "v:\"example.com/guard\"": {}}}}},
      {"manager": "broken", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-01-03T00:00:00Z",
       "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": "not an object"}}}
    ]
  },
  "spec": {
    "replicas": 5,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
      "metadata": {"labels": {"app": "web"}},
      "spec": {"containers": [
        {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"name": "debug", "image": "busybox"}
      ]}
    }
  },
  "status": {"replicas": 5, "observedGeneration": 3}
}`

func mustUnstructured(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return u
}

func at(s string) time.Time {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return tm
}

func TestAttribute(t *testing.T) {
	live := mustUnstructured(t, liveDeployment)
	tests := []struct {
		name string
		path string
		self string
		want *Actor
	}{
		{name: "kubectl scale took spec.replicas", path: "/spec/replicas", self: "trueup",
			want: &Actor{Manager: "kubectl", Operation: "Update", Time: at("2026-01-02T03:04:05Z")}},
		{name: "list item by merge key", path: "/spec/template/spec/containers/0/image", self: "trueup",
			want: &Actor{Manager: "kubectl-edit", Operation: "Update", Time: at("2026-01-02T04:00:00Z")}},
		{name: "whole list item added out of band", path: "/spec/template/spec/containers/1", self: "trueup",
			want: &Actor{Manager: "kubectl-edit", Operation: "Update", Time: at("2026-01-02T04:00:00Z")}},
		{name: "set item by value", path: "/metadata/finalizers/0", self: "trueup",
			want: &Actor{Manager: "finalizer-bot", Operation: "Update", Time: at("2026-01-02T05:00:00Z")}},
		{name: "atomic ancestor", path: "/spec/selector/matchLabels/app", self: "trueup",
			want: &Actor{Manager: "helm", Operation: "Apply", Time: at("2026-01-01T09:00:00Z")}},
		{name: "status subresource", path: "/status/replicas", self: "trueup",
			want: &Actor{Manager: "kube-controller-manager", Operation: "Update", Time: at("2026-01-01T10:00:05Z")}},
		{name: "only self owns it", path: "/metadata/labels/app", self: "trueup", want: nil},
		{name: "self owns a key-matched list item field", path: "/spec/template/spec/containers/0/ports/0/containerPort",
			self: "trueup", want: nil},
		{name: "a different self", path: "/metadata/labels/app", self: "kubectl",
			want: &Actor{Manager: "trueup", Operation: "Apply", Time: at("2026-01-01T10:00:00Z")}},
		{name: "self is left out even when it holds fields under the path", path: "/spec/template/spec/containers/0",
			self: "trueup", want: &Actor{Manager: "kubectl-edit", Operation: "Update", Time: at("2026-01-02T04:00:00Z")}},
		{name: "owned by no one (removed live)", path: "/metadata/labels/tier", self: "trueup", want: nil},
		{name: "index beyond the live list", path: "/spec/template/spec/containers/2/image", self: "trueup", want: nil},
		{name: "index that is not canonical", path: "/spec/template/spec/containers/00/image", self: "trueup", want: nil},
		{name: "whole object", path: "", self: "trueup", want: nil},
		{name: "bad pointer", path: "spec/replicas", self: "trueup", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Attribute(live, tt.path, tt.self)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Attribute(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

func TestAttributeNewestWriterWins(t *testing.T) {
	// Two appliers co-own a field (they applied the same value): the most
	// recent one is reported.
	live := mustUnstructured(t, `{"apiVersion": "v1", "kind": "ConfigMap",
	  "metadata": {"name": "c", "managedFields": [
	    {"manager": "a", "operation": "Apply", "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}},
	    {"manager": "b", "operation": "Apply", "time": "2026-01-05T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}},
	    {"manager": "c", "operation": "Apply", "time": "2026-01-03T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}}
	  ]},
	  "data": {"k": "v"}}`)
	got := Attribute(live, "/data/k", "trueup")
	if got == nil || got.Manager != "b" {
		t.Fatalf("Attribute = %+v, want manager b", got)
	}
}

func TestAttributeFields(t *testing.T) {
	live := mustUnstructured(t, liveDeployment)
	fields := []FieldDiff{
		{Path: "/spec/replicas", Live: int64(5), Desired: int64(2)},
		{Path: "/metadata/labels/app", Live: "web", Desired: "api"},
	}
	AttributeFields(live, fields, "trueup")
	if fields[0].Actor == nil || fields[0].Actor.Manager != "kubectl" {
		t.Fatalf("replicas actor = %+v, want kubectl", fields[0].Actor)
	}
	if fields[1].Actor != nil {
		t.Fatalf("label actor = %+v, want nil", fields[1].Actor)
	}
	AttributeFields(nil, fields, "trueup") // no live object: nothing to do, no panic
}

func TestItemMatchesNumbers(t *testing.T) {
	// fieldsV1 keys decode numbers as float64; live objects hold int64.
	elem := map[string]any{"containerPort": int64(80), "protocol": "TCP", "name": "http"}
	tests := []struct {
		key  string
		want bool
	}{
		{key: `k:{"containerPort":80,"protocol":"TCP"}`, want: true},
		{key: `k:{"containerPort":81,"protocol":"TCP"}`, want: false},
		{key: `k:{}`, want: false},
		{key: `k:not json`, want: false},
		{key: `v:80`, want: false},
	}
	for _, tt := range tests {
		if got := itemMatches(tt.key, elem); got != tt.want {
			t.Errorf("itemMatches(%s) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if !itemMatches(`v:80`, int64(80)) {
		t.Error("itemMatches(v:80, 80) = false")
	}
}
