package writeback

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/trueup-dev/trueup/sources"
	"sigs.k8s.io/kustomize/api/konfig"
)

// manifestExts are the extensions plain targets read, as kubectl does.
var manifestExts = []string{".yaml", ".yml", ".json"}

// kustomizationFile returns the kustomization file of dir, or "".
func kustomizationFile(files sources.Files, dir string) string {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if _, ok := files[path.Join(dir, n)]; ok {
			return path.Join(dir, n)
		}
	}
	return ""
}

// placeDir handles a plain directory target: its manifest files, and its
// subdirectories holding a kustomization (built with kustomize, as the
// renderer does). Exactly one of them must define the object.
func (w *work) placeDir(dir string, r request) (Applied, error) {
	files, kdirs := plainUnits(w.files, dir)
	locs, err := w.findPlain(files, r)
	if err != nil {
		return Applied{}, err
	}
	var sites []*kustSite
	for _, kd := range kdirs {
		s, err := w.findKustomize(kd, r)
		if err != nil && !isNotFound(err) {
			return Applied{}, err
		}
		if s != nil {
			sites = append(sites, s)
		}
	}
	switch n := len(locs) + len(sites); {
	case n == 0:
		return Applied{}, fmt.Errorf("no file under %s defines it: %w", dir, ErrNotFound)
	case n > 1:
		var where []string
		for _, l := range locs {
			where = append(where, l.file)
		}
		for _, s := range sites {
			where = append(where, s.res.file)
		}
		return Applied{}, fmt.Errorf("defined in %s: %w", strings.Join(where, ", "), ErrAmbiguous)
	case len(sites) == 1:
		return w.writeKustomize(sites[0], r)
	}
	return w.writeLoc(locs[0], r)
}

// placePlain handles a target that is one manifest file.
func (w *work) placePlain(files []string, r request) (Applied, error) {
	locs, err := w.findPlain(files, r)
	if err != nil {
		return Applied{}, err
	}
	switch len(locs) {
	case 0:
		return Applied{}, inFile(files[0], fmt.Errorf("not defined here: %w", ErrNotFound))
	case 1:
		return w.writeLoc(locs[0], r)
	}
	return Applied{}, inFile(files[0], fmt.Errorf("defined more than once: %w", ErrAmbiguous))
}

// findPlain returns the documents of files that define the object.
func (w *work) findPlain(files []string, r request) ([]objectLoc, error) {
	var out []objectLoc
	for _, f := range files {
		objs, err := objectsIn(f, w.files[f])
		if err != nil {
			return nil, inFile(f, err)
		}
		for _, o := range objs {
			if sameKind(o.id, r.obj) && o.id.name == r.obj.Name && sameNamespace(o.id.namespace, r.obj, r.opts.DefaultNamespace) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// writeLoc writes a change into the document that defines the object.
func (w *work) writeLoc(l objectLoc, r request) (Applied, error) {
	e := docEdit{file: l.file, chunk: l.chunk, tokens: append(slices.Clone(l.base), r.tokens...), value: r.value, remove: r.remove}
	line, err := w.editFile(e)
	if r.remove && isNotSet(err) {
		return Applied{File: l.file, Action: SetInFile}, nil // already without the field
	}
	if err != nil {
		return Applied{}, err
	}
	return Applied{File: l.file, Line: line, Action: SetInFile}, nil
}

// plainUnits lists the manifest files under dir, and the outermost
// subdirectories holding a kustomization (whose files are not manifests of
// their own). Hidden files and directories are skipped, as the renderer
// skips them.
func plainUnits(files sources.Files, dir string) ([]string, []string) {
	var names []string
	for p := range files {
		rel, ok := relTo(dir, p)
		if ok && !hidden(rel) {
			names = append(names, p)
		}
	}
	slices.Sort(names)
	var manifests, kdirs []string
	for _, p := range names {
		if kd := kustomizeDir(files, dir, p); kd != "" {
			if !slices.Contains(kdirs, kd) {
				kdirs = append(kdirs, kd)
			}
			continue
		}
		if slices.Contains(manifestExts, path.Ext(p)) {
			manifests = append(manifests, p)
		}
	}
	return manifests, kdirs
}

// kustomizeDir returns the outermost directory strictly below dir that
// holds p and a kustomization file, or "".
func kustomizeDir(files sources.Files, dir, p string) string {
	var chain []string
	for d := path.Dir(p); d != dir && d != "."; d = path.Dir(d) {
		chain = append(chain, d)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if kustomizationFile(files, chain[i]) != "" {
			return chain[i]
		}
	}
	return ""
}

func relTo(dir, p string) (string, bool) {
	if dir == "." {
		return p, true
	}
	return strings.CutPrefix(p, dir+"/")
}

func hidden(rel string) bool {
	for _, e := range strings.Split(rel, "/") {
		if strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}
