package writeback

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trueup-dev/trueup/sources/render"
)

// placeDir handles a plain directory target: its manifest files, and its
// subdirectories holding a kustomization (built with kustomize, as the
// renderer does). Exactly one of them must define the object.
func (w *work) placeDir(dir string, r request) (Applied, error) {
	var files, kdirs []string
	for _, u := range render.PlainUnits(w.files, dir) {
		if u.Kustomize {
			kdirs = append(kdirs, u.Path)
		} else {
			files = append(files, u.Path)
		}
	}
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
