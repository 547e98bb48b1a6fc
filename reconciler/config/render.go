package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Render selects a renderer for a target other than plain YAML/kustomize.
type Render struct {
	Helm *HelmRender `json:"helm,omitempty"`
}

// Hooks modes of a Helm render.
const (
	// HooksSkip: objects annotated helm.sh/hook are reported, not applied.
	HooksSkip = "skip"
	// HooksApply: hook objects are applied as ordinary objects.
	HooksApply = "apply"
)

// HelmRender renders a Helm chart with the Helm library (as `helm
// template`; no hooks run, no cluster or network is reached).
type HelmRender struct {
	// Chart is a chart folder in the target's source (a path from the
	// repository root), or a remote chart.
	Chart HelmChart `json:"chart"`
	// Values files, merged in order over the chart's values.yaml.
	Values []HelmValuesFile `json:"values,omitempty"`
	// Set are values by dotted key (image.tag, ingress.hosts[0]), applied
	// after the files, like helm --set (strings stay strings).
	Set map[string]SetValue `json:"set,omitempty"`
	// ReleaseName is .Release.Name; default the target's name.
	ReleaseName string `json:"releaseName,omitempty"`
	// Namespace is .Release.Namespace; default the target's namespace.
	Namespace string `json:"namespace,omitempty"`
	// IncludeCRDs renders the charts' crds/ folders too; default true.
	IncludeCRDs *bool `json:"includeCRDs,omitempty"`
	// KubeVersion is .Capabilities.KubeVersion (default: helm template's).
	KubeVersion string `json:"kubeVersion,omitempty"`
	// APIVersions are added to .Capabilities.APIVersions.
	APIVersions []string `json:"apiVersions,omitempty"`
	// Hooks is "skip" (default: hook objects are reported and not applied)
	// or "apply" (applied as ordinary objects).
	Hooks string `json:"hooks,omitempty"`
	// PostRender runs kustomize over the chart's objects (hooks left out)
	// before they are applied, like Flux's postRenderers.
	PostRender *HelmPostRender `json:"postRender,omitempty"`
}

// HelmChart is a chart folder in the source (Path) or a remote chart
// (Remote): exactly one. In YAML it is a string (the folder) or a mapping
// (the remote chart).
type HelmChart struct {
	Path   string
	Remote *RemoteChart
}

// RemoteChart is a chart in an HTTP chart repository or an OCI registry.
type RemoteChart struct {
	// Repository is https://... (index.yaml) or oci://...
	Repository string `json:"repository"`
	Name       string `json:"name"`
	// Version is an exact version or a semver range.
	Version string `json:"version,omitempty"`
	// Digest pins the chart archive (sha256:<hex>).
	Digest string `json:"digest,omitempty"`
	// Auth are the repository's credentials (default anonymous).
	Auth *ChartAuth `json:"auth,omitempty"`
}

// UnmarshalJSON reads a path string or a remote chart mapping (unknown
// fields refused).
func (c *HelmChart) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = HelmChart{Path: s}
		return nil
	}
	if len(bytes.TrimSpace(b)) == 0 || bytes.TrimSpace(b)[0] != '{' {
		return fmt.Errorf("want a chart folder path (a string) or a remote chart {repository, name, version, digest, auth}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r RemoteChart
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("remote chart: %s: want {repository, name, version, digest, auth}", err)
	}
	*c = HelmChart{Remote: &r}
	return nil
}

// MarshalJSON writes the path string or the remote chart mapping.
func (c HelmChart) MarshalJSON() ([]byte, error) {
	if c.Remote != nil {
		return json.Marshal(c.Remote)
	}
	return json.Marshal(c.Path)
}

// HelmValuesFile is a values file: Path from the repository root of
// Source (default: the target's source, at the target's revision; another
// source is read at its newest revision).
type HelmValuesFile struct {
	Path   string `json:"path"`
	Source string `json:"source,omitempty"`
}

// SetValue is a string, number or boolean of render.helm.set.
type SetValue struct {
	// Value is a string, float64 or bool.
	Value any
}

// UnmarshalJSON accepts a string, number or boolean.
func (v *SetValue) UnmarshalJSON(b []byte) error {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	switch x.(type) {
	case string, float64, bool:
		v.Value = x
		return nil
	}
	return fmt.Errorf("want a string, number or boolean, got %s", describe(x))
}

// MarshalJSON writes the value.
func (v SetValue) MarshalJSON() ([]byte, error) { return json.Marshal(v.Value) }

// String is the value as helm --set would read it.
func (v SetValue) String() string {
	switch x := v.Value.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return ""
}

// IncludesCRDs reports whether the crds/ folders are rendered (default true).
func (h *HelmRender) IncludesCRDs() bool { return h.IncludeCRDs == nil || *h.IncludeCRDs }
