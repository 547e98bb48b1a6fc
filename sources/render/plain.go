package render

import (
	"path"
	"slices"
	"strings"

	"github.com/trueup-dev/trueup/sources"
)

// manifestExts are the extensions plain mode reads, as kubectl does.
var manifestExts = []string{".yaml", ".yml", ".json"}

// renderPlain renders every manifest under dir (or the one file dir names).
// A subdirectory holding a kustomization is built with kustomize and its
// objects take the place of its files, as Flux does.
func renderPlain(files sources.Tree, dir string, b *budget) (*Result, error) {
	res := &Result{Mode: ModePlain}
	var kos []KustomizeOrigin
	for _, u := range PlainUnits(files, dir) {
		if u.Kustomize {
			objs, k, err := renderKustomize(files, u.Path, b)
			if err != nil {
				return nil, err
			}
			kos = append(append(kos, make([]KustomizeOrigin, len(res.Objects)-len(kos))...), k...)
			res.Objects = append(res.Objects, objs...)
			continue
		}
		objs, err := plainFile(files, u.Path, b)
		if err != nil {
			return nil, err
		}
		res.Objects = append(res.Objects, objs...)
	}
	if kos != nil {
		res.Kustomize = append(kos, make([]KustomizeOrigin, len(res.Objects)-len(kos))...)
	}
	return res, nil
}

// plainFile renders one manifest file.
func plainFile(files sources.Tree, name string, b *budget) ([]sources.Object, error) {
	data, err := readFile(files, name)
	if err != nil {
		return nil, err
	}
	if err := b.read(name, len(data)); err != nil {
		return nil, err
	}
	docs, err := decodeFile(name, data, b)
	if err != nil {
		return nil, err
	}
	var out []sources.Object
	for _, d := range docs {
		objs, err := objectsOf(name, d)
		if err != nil {
			return nil, err
		}
		if err := b.add(docID(name, d.index), len(objs)); err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// unit is one thing plain mode renders: a manifest file, or a directory
// with a kustomization.
// Unit is one thing plain mode renders: a manifest file, or a folder with a
// kustomization built with kustomize.
type Unit struct {
	Path      string
	Kustomize bool
}

// PlainUnits lists what plain mode renders under dir, sorted by path.
// Hidden files and directories (a name starting with ".") are skipped:
// .git, .github and tool configuration are not manifests.
func PlainUnits(files sources.Tree, dir string) []Unit {
	if files.Has(dir) {
		return []Unit{{Path: dir}}
	}
	var names []string
	for _, p := range files.Paths() {
		rel, ok := relTo(dir, p)
		if ok && !hidden(rel) {
			names = append(names, p)
		}
	}
	var units []Unit
	kustDirs := map[string]bool{}
	for _, p := range names {
		if kd := kustomizeDir(files, dir, p); kd != "" {
			if !kustDirs[kd] {
				kustDirs[kd] = true
				units = append(units, Unit{Path: kd, Kustomize: true})
			}
			continue
		}
		if slices.Contains(manifestExts, path.Ext(p)) {
			units = append(units, Unit{Path: p})
		}
	}
	return units
}

// kustomizeDir returns the outermost directory strictly below dir that
// holds p and a kustomization file, or "".
func kustomizeDir(files sources.Tree, dir, p string) string {
	var chain []string
	for d := path.Dir(p); d != dir && d != "."; d = path.Dir(d) {
		chain = append(chain, d)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if KustomizationFile(files, chain[i]) != "" {
			return chain[i]
		}
	}
	return ""
}

// relTo returns p relative to dir, if p is under dir.
func relTo(dir, p string) (string, bool) {
	if dir == "." {
		return p, true
	}
	return strings.CutPrefix(p, dir+"/")
}

// hidden reports whether any element of a relative path starts with ".".
func hidden(rel string) bool {
	for _, e := range strings.Split(rel, "/") {
		if strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}
