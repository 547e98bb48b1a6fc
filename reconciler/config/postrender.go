package config

import (
	"path"
	"strings"
)

// HelmPostRender is render.helm.postRender: a kustomization that runs over
// the chart's output.
type HelmPostRender struct {
	// Kustomization is a folder of the target's source (from the
	// repository root) holding a kustomization.yaml. The chart's objects
	// are added to its resources, so its patches, images, labels,
	// namespace and replicas apply to them. Its own resources, if any,
	// are added to the target too.
	Kustomization string `json:"kustomization"`
}

// validatePostRender checks render.helm.postRender's shape; whether the
// folder holds a kustomization is checked when the target renders.
func validatePostRender(e *errs, p string, pr *HelmPostRender) {
	if pr == nil {
		return
	}
	kp := field(p, "kustomization")
	if pr.Kustomization == "" {
		e.add(kp, "required: a folder of the target's source holding a kustomization.yaml, like apps/web/post-render")
		return
	}
	validatePath(e, kp, pr.Kustomization)
	if b := path.Base(pr.Kustomization); strings.HasSuffix(b, ".yaml") || strings.HasSuffix(b, ".yml") || b == "Kustomization" {
		e.add(kp, "%q: name the folder that holds the kustomization file, like %s", pr.Kustomization, path.Dir(pr.Kustomization))
	}
}
