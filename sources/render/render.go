package render

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/trueup-dev/trueup/sources"
	"sigs.k8s.io/kustomize/api/konfig"
)

// Mode says how a target was rendered.
type Mode string

const (
	// ModePlain: every YAML and JSON file under the path.
	ModePlain Mode = "plain"
	// ModeKustomize: the kustomization at the path, built by kustomize.
	ModeKustomize Mode = "kustomize"
)

// Result is the rendered desired state of one target.
type Result struct {
	Mode Mode
	// Objects in a deterministic order: file then document order in plain
	// mode, kustomize's output order in kustomize mode.
	Objects []sources.Object
	// Kustomize holds, for each object, what kustomize recorded about where
	// it came from. It is nil when no object was built by kustomize;
	// otherwise it has one entry per object, zero for plain objects.
	Kustomize []KustomizeOrigin
	// Hooks are the Helm hook objects a chart render left out (ModeHelm).
	Hooks []Hook
}

// Render turns the files of a commit into the objects of the target at
// path ("" or "." for the repository root; a file path renders that file).
// files holds the whole repository; only what the render needs is read.
func Render(files sources.Tree, target string, opt Options) (*Result, error) {
	dir, err := cleanTarget(target)
	if err != nil {
		return nil, fmt.Errorf("render %q: %w", target, err)
	}
	res, err := render(files, dir, newBudget(opt))
	if err != nil {
		return nil, fmt.Errorf("render %q: %w", dir, err)
	}
	return res, nil
}

func render(files sources.Tree, dir string, b *budget) (*Result, error) {
	isFile := files.Has(dir)
	if isFile && slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(dir)) {
		dir, isFile = path.Dir(dir), false // a kustomization file: build its directory
	}
	if !isFile && !hasDir(files, dir) {
		return nil, errorf(ErrNotFound, "no such file or directory in the repository")
	}
	var res *Result
	if !isFile && KustomizationFile(files, dir) != "" {
		objs, kos, err := renderKustomize(files, dir, b)
		if err != nil {
			return nil, err
		}
		res = &Result{Mode: ModeKustomize, Objects: objs, Kustomize: kos}
	} else {
		if err := refuseHelmChart(files, dir); err != nil {
			return nil, err
		}
		var err error
		if res, err = renderPlain(files, dir, b); err != nil {
			return nil, err
		}
	}
	if err := checkDuplicates(res.Objects); err != nil {
		return nil, err
	}
	return res, nil
}

// helmChartFile names the file that makes a folder a Helm chart.
const helmChartFile = "Chart.yaml"

// refuseHelmChart refuses a plain render of a Helm chart: its Chart.yaml
// and templates are not manifests, and reading them as such would fail
// with "missing kind" or a YAML error about template syntax.
func refuseHelmChart(files sources.Tree, dir string) error {
	for _, u := range PlainUnits(files, dir) {
		if path.Base(u.Path) == helmChartFile && !u.Kustomize {
			return errorf(ErrUnsupported, "%s: %s is a Helm chart: render it with targets[].render.helm "+
				"(chart: %s) instead of a plain path", sources.QuotePath(u.Path), sources.QuotePath(path.Dir(u.Path)), sources.QuotePath(path.Dir(u.Path)))
		}
	}
	return nil
}

// cleanTarget normalises a target path; "." is the root.
func cleanTarget(target string) (string, error) {
	if path.IsAbs(target) {
		return "", errorf(ErrInvalid, "path must be relative to the repository root")
	}
	p := path.Clean("./" + target)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", errorf(ErrInvalid, "path leaves the repository")
	}
	return p, nil
}

// hasDir reports whether some file lives under dir.
func hasDir(files sources.Tree, dir string) bool {
	if dir == "." {
		return len(files.Paths()) > 0
	}
	for _, p := range files.Paths() {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// objectKey identifies an object for duplicate detection: group, kind,
// namespace as written, and name.
func objectKey(o sources.Object) string {
	gvk := o.Object.GroupVersionKind()
	return fmt.Sprintf("%s/%s %s/%s", gvk.Group, gvk.Kind, o.Object.GetNamespace(), o.Object.GetName())
}

// checkDuplicates refuses two objects with the same identity.
func checkDuplicates(objs []sources.Object) error {
	seen := make(map[string]sources.Origin, len(objs))
	for _, o := range objs {
		k := objectKey(o)
		if first, ok := seen[k]; ok {
			return errorf(ErrDuplicate, "%s: %s is also defined in %s", docID(o.Origin.File, o.Origin.Index), describeObject(o), docID(first.File, first.Index))
		}
		seen[k] = o.Origin
	}
	return nil
}

// describeObject names an object in messages: "Deployment/apps prod/web".
func describeObject(o sources.Object) string {
	gvk := o.Object.GroupVersionKind()
	kind := gvk.Kind
	if gvk.Group != "" {
		kind += "/" + gvk.Group
	}
	if ns := o.Object.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", kind, ns, o.Object.GetName())
	}
	return kind + " " + o.Object.GetName()
}
