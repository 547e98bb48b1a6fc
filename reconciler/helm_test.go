package reconciler_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler"
)

// podinfoChart is a small podinfo-like chart: a Deployment whose replicas
// come from values.yaml, a Service, and a pre-install hook Job.
func podinfoChart(replicas string) map[string]string {
	return map[string]string{
		"chart/Chart.yaml":  "apiVersion: v2\nname: podinfo\nversion: 6.7.0\n",
		"chart/values.yaml": "replicaCount: " + replicas + "\nimage: {repository: ghcr.io/stefanprodan/podinfo, tag: 6.7.0}\nport: 9898\n",
		"chart/templates/_helpers.tpl": `{{- define "podinfo.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
`,
		"chart/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {{- include "podinfo.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {{- include "podinfo.labels" . | nindent 6 }}
  template:
    metadata:
      labels: {{- include "podinfo.labels" . | nindent 8 }}
    spec:
      containers:
        - name: podinfo
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports: [{containerPort: {{ .Values.port }}}]
`,
		"chart/templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {{- include "podinfo.labels" . | nindent 4 }}
  ports: [{port: {{ .Values.port }}, targetPort: {{ .Values.port }}}]
`,
		"chart/templates/hook.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations: {helm.sh/hook: pre-install}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox}]
`,
		"chart/templates/NOTES.txt": "podinfo is listening on {{ .Values.port }}\n",
	}
}

// TestHelmTargetAppliesHealsAndFollowsValues: a target with render.helm
// applies its chart, heals a kubectl scale and applies a values change.
func TestHelmTargetAppliesHealsAndFollowsValues(t *testing.T) {
	s := newScenario(t, "render: {helm: {chart: app/chart, releaseName: podinfo}}\nremediation: {drift: heal}")

	t.Run("the chart is applied, the hook is reported and not applied", func(t *testing.T) {
		s.commit(podinfoChart("2"), "podinfo chart")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		if out.Revision.Commit == "" {
			t.Fatal("no revision")
		}
		if got := s.kubectl("get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas}"); got != "2" {
			t.Fatalf("replicas %s, want 2 from values.yaml", got)
		}
		if !s.exists("service", "podinfo") {
			t.Fatal("service podinfo not applied")
		}
		if s.exists("job", "podinfo-migrate") {
			t.Fatal("the hook job was applied")
		}
		if w := strings.Join(out.Warnings, "\n"); !strings.Contains(w, "helm hook Job/batch podinfo-migrate (pre-install) from app/chart/templates/hook.yaml is not applied") {
			t.Fatalf("warnings %q do not report the skipped hook", out.Warnings)
		}
		if o := findObject(out.Report, "Deployment", "podinfo"); o == nil || o.Origin != "app/chart/templates/deployment.yaml" {
			t.Fatalf("want the Deployment's origin to be its template, got %+v", o)
		}
	})

	t.Run("kubectl scale is drift and is healed", func(t *testing.T) {
		s.kubectl("scale", "deployment", "podinfo", "--replicas=5")
		plan, err := s.rec.Plan(t.Context(), s.ns)
		if err != nil {
			t.Fatal(err)
		}
		o := findObject(plan.Report, "Deployment", "podinfo")
		if o == nil || o.Status != drift.Drifted || len(o.Fields) != 1 || o.Fields[0].Path != "/spec/replicas" {
			t.Fatalf("want /spec/replicas drifted, got %+v", o)
		}
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionHealed)
		if got := s.kubectl("get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas}"); got != "2" {
			t.Fatalf("replicas %s after heal, want 2", got)
		}
	})

	t.Run("a values change in Git is applied", func(t *testing.T) {
		s.commit(podinfoChart("3"), "scale podinfo to 3")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		if got := s.kubectl("get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas}"); got != "3" {
			t.Fatalf("replicas %s, want 3 from the new values.yaml", got)
		}
	})
}

// TestHelmRemoteChartFailsClearly: a remote chart without a chart fetcher
// fails the target at render and applies nothing.
func TestHelmRemoteChartFailsClearly(t *testing.T) {
	s := newScenario(t, "render: {helm: {chart: {repository: https://stefanprodan.github.io/podinfo, name: podinfo, version: 6.7.0}}}")
	s.commit(map[string]string{"README.md": "values live here"}, "no chart")
	out := s.reconcile(reconciler.TriggerInterval)
	if out.Err == nil || out.FailedStage() != reconciler.StageRender || out.Apply != nil {
		t.Fatalf("want a render failure and no apply, got %s %v", out.Action, out.Err)
	}
	if !strings.Contains(out.Err.Error(), "remote charts are not supported yet") {
		t.Fatalf("error %q does not say remote charts are not supported yet", out.Err)
	}
}

// TestHelmRendersForTheTargetsCluster: without render.helm.kubeVersion a
// chart sees its cluster as Argo CD and Flux render it: the server's
// version in .Capabilities.KubeVersion and the APIs it serves, CRDs
// included, in .Capabilities.APIVersions (helm template's offline default
// is v1.20.0 and the built-in APIs only).
func TestHelmRendersForTheTargetsCluster(t *testing.T) {
	s := newScenario(t, "render: {helm: {chart: app/chart, releaseName: caps}}")
	group := s.ns + ".trueup.test"
	crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`, group)
	crdFile := filepath.Join(t.TempDir(), "crd.yaml")
	if err := os.WriteFile(crdFile, []byte(crd), 0o600); err != nil {
		t.Fatal(err)
	}
	s.kubectlAll("apply", "-f", crdFile)
	t.Cleanup(func() {
		_, _ = exec.Command("kubectl", "--kubeconfig", s.env.Kubeconfig, "delete", "-f", crdFile).CombinedOutput()
	})
	s.kubectlAll("wait", "--for", "condition=established", "crd/widgets."+group)
	var version struct{ GitVersion string }
	if err := json.Unmarshal([]byte(s.kubectlAll("get", "--raw", "/version")), &version); err != nil || version.GitVersion == "" {
		t.Fatalf("server version: %v", err)
	}

	s.commit(map[string]string{
		"chart/Chart.yaml": "apiVersion: v2\nname: caps\nversion: 1.0.0\nkubeVersion: \">=1.30.0-0\"\n",
		"chart/templates/caps.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: caps}
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  widgets: {{ .Capabilities.APIVersions.Has "` + group + `/v1/Widget" | quote }}
`,
	}, "a chart that reads its capabilities")
	out := s.reconcile(reconciler.TriggerInterval)
	mustAction(t, out, reconciler.ActionApplied)
	if got := s.kubectl("get", "configmap", "caps", "-o", "jsonpath={.data.kube}"); got != version.GitVersion {
		t.Errorf(".Capabilities.KubeVersion = %q, want the server's %q", got, version.GitVersion)
	}
	if got := s.kubectl("get", "configmap", "caps", "-o", "jsonpath={.data.widgets}"); got != "true" {
		t.Errorf(".Capabilities.APIVersions.Has the cluster's CRD = %q, want true", got)
	}
}
