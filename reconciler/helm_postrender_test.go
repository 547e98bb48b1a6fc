package reconciler_test

import (
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/reconciler"
)

// postRender is a post-render kustomization for podinfoChart: replicas
// from a patch file, a label from an inline patch, the image tag.
func postRender(replicas string) map[string]string {
	return map[string]string{
		"post/kustomization.yaml": `patches:
  - path: replicas.yaml
  - target: {kind: Deployment}
    patch: |-
      - {op: add, path: /metadata/labels/tier, value: frontend}
images:
  - {name: ghcr.io/stefanprodan/podinfo, newTag: 6.9.3}
`,
		"post/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: podinfo}\nspec: {replicas: " + replicas + "}\n",
	}
}

func withFiles(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestHelmPostRenderApplies: a target with render.helm.postRender applies
// the chart's objects as its kustomization patched them, keeps the
// template as the Deployment's origin, leaves the hook out, and applies a
// change to the post-render kustomization alone.
func TestHelmPostRenderApplies(t *testing.T) {
	s := newScenario(t, "render: {helm: {chart: app/chart, releaseName: podinfo, postRender: {kustomization: app/post}}}")

	t.Run("the patched chart is applied", func(t *testing.T) {
		s.commit(withFiles(podinfoChart("2"), postRender("4")), "podinfo with a post-render")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		if got := s.kubectl("get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas} {.metadata.labels.tier} {.spec.template.spec.containers[0].image}"); got != "4 frontend ghcr.io/stefanprodan/podinfo:6.9.3" {
			t.Fatalf("deployment: %q, want the post-render's replicas 4, tier=frontend and image tag 6.9.3", got)
		}
		if !s.exists("service", "podinfo") {
			t.Fatal("service podinfo not applied")
		}
		if s.exists("job", "podinfo-migrate") {
			t.Fatal("the post-render re-added the hook job")
		}
		if w := strings.Join(out.Warnings, "\n"); !strings.Contains(w, "helm hook Job/batch podinfo-migrate (pre-install)") {
			t.Fatalf("warnings %q do not report the skipped hook", out.Warnings)
		}
		if o := findObject(out.Report, "Deployment", "podinfo"); o == nil || o.Origin != "app/chart/templates/deployment.yaml" {
			t.Fatalf("want the Deployment's origin to be its template, got %+v", o)
		}
	})

	t.Run("a change to the post-render alone is applied", func(t *testing.T) {
		s.commit(withFiles(podinfoChart("2"), postRender("6")), "six replicas")
		out := s.reconcile(reconciler.TriggerInterval)
		mustAction(t, out, reconciler.ActionApplied)
		if got := s.kubectl("get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas}"); got != "6" {
			t.Fatalf("replicas %s, want 6 from the new patch", got)
		}
	})

	t.Run("a missing kustomization fails the render and applies nothing", func(t *testing.T) {
		s.commit(podinfoChart("3"), "drop the post-render folder")
		out := s.reconcile(reconciler.TriggerInterval)
		if out.Err == nil || out.FailedStage() != reconciler.StageRender || out.Apply != nil {
			t.Fatalf("want a render failure and no apply, got %s %v", out.Action, out.Err)
		}
		if !strings.Contains(out.Err.Error(), "app/post: no kustomization.yaml") {
			t.Fatalf("error %q does not name the missing kustomization", out.Err)
		}
		if got := s.kubectl("get", "deployment", "podinfo", "-o", "jsonpath={.spec.replicas}"); got != "6" {
			t.Fatalf("replicas %s after the failed render, want 6", got)
		}
	})
}
