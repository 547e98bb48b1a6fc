package writeback_test

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/writeback"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

const fuzzBase = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
`

// fuzzFiles places data in a target as a manifest, a kustomize resource, a
// patch, a kustomization or a JSON manifest.
func fuzzFiles(mode uint8, data []byte) sources.Files {
	switch mode % 5 {
	case 1:
		return sources.Files{"t/kustomization.yaml": []byte("resources:\n- a.yaml\n"), "t/a.yaml": data}
	case 2:
		return sources.Files{
			"base/kustomization.yaml": []byte("resources:\n- d.yaml\n"), "base/d.yaml": []byte(fuzzBase),
			"t/kustomization.yaml": []byte("resources:\n- ../base\npatches:\n- path: p.yaml\n"), "t/p.yaml": data,
		}
	case 3:
		return sources.Files{"t/kustomization.yaml": data, "t/d.yaml": []byte(fuzzBase), "base/kustomization.yaml": []byte("resources:\n- ../t/d.yaml\n")}
	case 4:
		return sources.Files{"t/a.json": data}
	}
	return sources.Files{"t/a.yaml": data, "t/b.yaml": []byte(fuzzBase)}
}

// fuzzObject takes the identity of data's first document, if it has one.
func fuzzObject(data []byte) drift.ObjectRef {
	obj := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "default", Name: "web"}
	var doc map[string]any
	if kyaml.NewDecoder(bytes.NewReader(data)).Decode(&doc) != nil {
		return obj
	}
	str := func(m any, k string) string {
		mm, _ := m.(map[string]any)
		s, _ := mm[k].(string)
		return s
	}
	if k := str(doc, "kind"); k != "" {
		obj.Kind, obj.Group, obj.Version = k, "", str(doc, "apiVersion")
		if g, v, ok := strings.Cut(obj.Version, "/"); ok {
			obj.Group, obj.Version = g, v
		}
	}
	if n := str(doc["metadata"], "name"); n != "" {
		obj.Name = n
	}
	if ns := str(doc["metadata"], "namespace"); ns != "" {
		obj.Namespace = ns
	}
	return obj
}

var fuzzValues = []any{int64(3), "x: y # z", "multi\nline\n", map[string]any{"a": []any{"b", int64(1)}}, []any{}, true, "yes", nil, map[string]any{}}

// FuzzEdit runs Edit on arbitrary YAML in every place of a target: it must
// not panic, must write only inside the repository, and what it writes
// must parse.
func FuzzEdit(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		for mode := range uint8(5) {
			f.Add(seed, mode, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mode, pick uint8) {
		files := fuzzFiles(mode, data)
		obj := fuzzObject(data)
		paths := []string{"/spec/replicas", "/spec/template/spec/containers/0/image", "/metadata/labels/a~1b", "/data/k", "/spec/template/spec/containers/0/env/-"}
		paths = append(paths, docPaths(data)...)
		p := paths[int(pick)%len(paths)]
		changes := []writeback.Change{{Path: p, Live: fuzzValues[int(pick)%len(fuzzValues)]}, {Path: "/spec/replicas", Live: int64(2)}}
		res, err := writeback.Edit(files, "t", obj, changes)
		if err != nil {
			return
		}
		for name, content := range res.Files {
			if strings.HasPrefix(name, "../") || path.IsAbs(name) || path.Clean(name) != name {
				t.Fatalf("wrote %q", name)
			}
			if _, ok := files[name]; !ok && !strings.HasPrefix(name, "t/") {
				t.Fatalf("added %q outside the target", name)
			}
			if !strings.HasSuffix(name, ".json") {
				dec := kyaml.NewDecoder(bytes.NewReader(content))
				for i := 0; i < 100; i++ {
					var n kyaml.Node
					if err := dec.Decode(&n); err != nil {
						break
					}
				}
			}
		}
	})
}

// docPaths lists JSON pointers to the nodes of data's first document.
func docPaths(data []byte) []string {
	var v any
	if err := kyaml.NewDecoder(bytes.NewReader(data)).Decode(&v); err != nil {
		return nil
	}
	var out []string
	var walk func(v any, p string, depth int)
	walk = func(v any, p string, depth int) {
		if len(out) > 64 || depth > 10 {
			return
		}
		switch c := v.(type) {
		case map[string]any:
			for k, e := range c {
				q := p + "/" + drift.EscapeToken(k)
				out = append(out, q, q+"/new")
				walk(e, q, depth+1)
			}
		case []any:
			out = append(out, p+"/-")
			for i, e := range c {
				q := p + "/" + strconv.Itoa(i)
				out = append(out, q)
				walk(e, q, depth+1)
			}
		}
	}
	walk(v, "", 0)
	return out
}

// fuzzSeeds are the fixtures' files and a few awkward documents.
func fuzzSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{
		[]byte(fuzzBase),
		[]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1, x: [a, {b: c}]}\n"),
		[]byte("a: &x 1\nb: *x\nc: |\n  text\n d\n"),
		[]byte("- op: replace\n  path: /spec/replicas\n  value: 2\n"),
		[]byte("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"web\"}, \"data\": {\"k\": \"v\"}}"),
		[]byte("apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: web\r\ndata:\r\n  k: >-\r\n    folded\r\n"),
		[]byte("resources:\n- d.yaml\nreplicas:\n- name: web\n  count: 2\nimages:\n- name: nginx\n  newTag: \"1\"\n"),
	}
	err := filepath.WalkDir(fixtureDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(filepath.ToSlash(p), "/repo/") {
			return err
		}
		data, err := os.ReadFile(p)
		seeds = append(seeds, data)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	return seeds
}
