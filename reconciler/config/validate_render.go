package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

var (
	digestRE     = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	apiVersionRE = regexp.MustCompile(`^[A-Za-z0-9.-]+(/[A-Za-z0-9.-]+){0,2}$`)
)

// maxReleaseName is Helm's limit on release names.
const maxReleaseName = 53

// validateRender checks targets[].render.
func validateRender(e *errs, p string, t *Target, idx nameIndex) {
	if t.Render == nil {
		return
	}
	rp := field(p, "render")
	if t.Render.Helm == nil {
		e.add(rp, "set helm: the renderer to use (leave render unset for plain YAML or kustomize)")
		return
	}
	hp := field(rp, "helm")
	h := t.Render.Helm
	if t.Path != "" && t.Path != "." {
		e.add(field(p, "path"), "leave path unset with render.helm: the chart folder is render.helm.chart")
	}
	validateChart(e, field(hp, "chart"), h.Chart)
	for i, v := range h.Values {
		vp := index(field(hp, "values"), i)
		if v.Path == "" {
			e.add(field(vp, "path"), "required: a values file from the repository root, like apps/web/values-prod.yaml")
		}
		validatePath(e, field(vp, "path"), v.Path)
		if v.Source != "" {
			reference(e, field(vp, "source"), "source", v.Source, idx.sources)
		}
	}
	for k := range h.Set {
		if k == "" || strings.ContainsAny(k, "=, \t\n") {
			e.add(fmt.Sprintf("%s[%q]", field(hp, "set"), k), "%q is not a value key: write dotted keys like image.tag or hosts[0] (no '=', ',' or spaces)", k)
		}
	}
	if n := h.ReleaseName; n != "" && (!nameRE.MatchString(n) || len(n) > maxReleaseName) {
		e.add(field(hp, "releaseName"), "%q is not a valid release name: lowercase letters, digits and '-', at most %d characters", n, maxReleaseName)
	}
	if h.ReleaseName == "" && len(t.Name) > maxReleaseName {
		e.add(field(hp, "releaseName"), "required: the target name is longer than Helm's %d-character release name limit", maxReleaseName)
	}
	if ns := h.Namespace; ns != "" && (!nameRE.MatchString(ns) || len(ns) > 63) {
		e.add(field(hp, "namespace"), "%q is not a valid namespace name", ns)
	}
	if v := h.KubeVersion; v != "" {
		if _, err := semver.NewVersion(strings.TrimPrefix(v, "v")); err != nil {
			e.add(field(hp, "kubeVersion"), "%q is not a Kubernetes version: write it like v1.37.0", v)
		}
	}
	for i, v := range h.APIVersions {
		if !apiVersionRE.MatchString(v) {
			e.add(index(field(hp, "apiVersions"), i), "%q is not an API version: write it like apps/v1 or monitoring.coreos.com/v1/ServiceMonitor", v)
		}
	}
	oneOf(e, field(hp, "hooks"), h.Hooks, HooksSkip, HooksApply)
	validatePostRender(e, field(hp, "postRender"), h.PostRender)
}

// validateChart checks a chart folder path or a remote chart's shape.
func validateChart(e *errs, p string, c HelmChart) {
	if c.Remote == nil {
		if c.Path == "" {
			e.add(p, "required: a chart folder from the repository root (like charts/web), or {repository, name, version}")
			return
		}
		validatePath(e, p, c.Path)
		return
	}
	r := c.Remote
	switch {
	case r.Repository == "":
		e.add(field(p, "repository"), "required: an https:// chart repository or an oci:// registry")
	case !strings.HasPrefix(r.Repository, "https://") && !strings.HasPrefix(r.Repository, "http://") && !strings.HasPrefix(r.Repository, "oci://"):
		e.add(field(p, "repository"), "%q: want an https:// chart repository or an oci:// registry", r.Repository)
	}
	if r.Name == "" {
		e.add(field(p, "name"), "required: the chart's name")
	}
	if r.Version == "" && r.Digest == "" {
		e.add(field(p, "version"), "required: a version or semver range (or a digest)")
	}
	if r.Version != "" {
		if _, err := semver.NewConstraint(r.Version); err != nil {
			e.add(field(p, "version"), "%q is not a version or semver range", r.Version)
		}
	}
	if r.Digest != "" && !digestRE.MatchString(r.Digest) {
		e.add(field(p, "digest"), "%q: want sha256:<64 hex digits>", r.Digest)
	}
	validateRemoteChartAuth(e, p, r)
}

// setDefaults fills the defaults of a Helm render from its target.
func (h *HelmRender) setDefaults(t *Target) {
	if h.ReleaseName == "" {
		h.ReleaseName = t.Name
	}
	if h.Namespace == "" {
		h.Namespace = t.Namespace
	}
	if h.IncludeCRDs == nil {
		yes := true
		h.IncludeCRDs = &yes
	}
	if h.Hooks == "" {
		h.Hooks = HooksSkip
	}
}
