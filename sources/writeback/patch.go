package writeback

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// patchPrefix starts the names of the patch files trueup adds.
const patchPrefix = "trueup-drift-"

// placeKustomize handles a kustomize target.
func (w *work) placeKustomize(dir string, r request) (Applied, error) {
	s, err := w.findKustomize(dir, r)
	if err != nil {
		return Applied{}, err
	}
	return w.writeKustomize(s, r)
}

// loadDoc parses the resource document of the site and finds the object
// in it.
func (s *kustSite) loadDoc() (*yamlDoc, error) {
	f := s.res.file
	json := isJSONFile(f)
	chunks := splitChunks(s.g.w.files[f], json)
	if s.res.chunk >= len(chunks) {
		return nil, inFile(f, errLayout("document %d not found", s.res.chunk))
	}
	c := chunks[s.res.chunk]
	d, err := parseDoc(s.g.w.files[f][c.start:c.end], json)
	if err != nil {
		return nil, inFile(f, err)
	}
	frames, rest, err := d.locate(s.res.base)
	if err != nil || len(rest) > 0 {
		return nil, inFile(f, errLayout("object not found in its document"))
	}
	s.doc = frames[len(frames)-1].node
	return d, nil
}

// writeKustomize writes a change where it takes effect: in what sets the
// field last, or in a new patch of the target's kustomization.
func (w *work) writeKustomize(s *kustSite, r request) (Applied, error) {
	d, err := s.loadDoc()
	if err != nil {
		return Applied{}, err
	}
	// The hint tells which list item an index means: the built object when
	// the caller has it, else the resource document.
	var hint any
	if r.opts.Desired != nil {
		hint = canon(r.opts.Desired)
	} else if err := s.doc.Decode(&hint); err == nil {
		hint = canon(hint)
	}
	steps := translate(r.tokens, hint, isBuiltin(r.obj.Group))
	setters, err := s.setters(r, steps)
	if err != nil {
		return Applied{}, err
	}
	if len(setters) == 0 {
		if _, has := lookup(hint, r.tokens); r.remove && (r.opts.Desired == nil || !has) {
			// Nothing in Git sets the field: the build already lacks it.
			return Applied{File: s.res.file, Action: SetInFile}, nil
		}
		return w.addPatch(s, r, steps, hint, layoutOf(d))
	}
	first, lower := setters[0], len(setters) > 1
	switch first.kind {
	case inResource:
		return w.writeLoc(objectLoc{file: s.res.file, chunk: s.res.chunk, base: s.res.base}, request{tokens: first.local, value: r.value, remove: r.remove})
	case inSMP:
		value, remove := r.value, r.remove
		if remove && lower {
			remove = false // null deletes what the files below set
		}
		return w.editPatch(first.patch, first.chunk, []patchOp{{tokens: first.local, value: value, remove: remove}})
	case inJSON6902:
		return w.editOp(first, r, lower)
	case inReplicas:
		return w.editReplicas(s.chain[first.layer], first.entry, r)
	case inLabels:
		return Applied{}, first.err
	}
	return w.editImage(s.chain[first.layer], first.entry, r)
}

// patchOp is one edit of a patch document.
type patchOp struct {
	tokens   []string
	value    any
	remove   bool
	optional bool // a removal of something that may not be there
}

// applyOps applies edits to one document of a text in order and returns
// the new text and the line of the last edit.
func applyOps(name string, text []byte, chunk int, ops []patchOp) ([]byte, int, error) {
	line := 0
	for _, op := range ops {
		out, l, err := docEdit{file: name, chunk: chunk, tokens: op.tokens, value: op.value, remove: op.remove}.apply(text)
		if err != nil {
			if op.optional && isNotSet(err) {
				continue
			}
			return nil, 0, err
		}
		text, line = out, l
	}
	return text, line, nil
}

func isNotSet(err error) bool {
	var pe *pathError
	return errors.As(err, &pe)
}

// editPatch edits a patch, in its file or inline in its kustomization.
func (w *work) editPatch(src *patchSrc, chunk int, ops []patchOp) (Applied, error) {
	action := SetInPatch
	if w.created[src.file] {
		action = AddedPatch
	}
	if src.file != "" {
		out, line, err := applyOps(src.file, w.files[src.file], chunk, ops)
		if err != nil {
			return Applied{}, inFile(src.file, err)
		}
		w.write(src.file, out)
		return Applied{File: src.file, Line: line, Action: action}, nil
	}
	out, local, err := applyOps("inline.yaml", src.text, chunk, ops)
	if err != nil {
		return Applied{}, inFile(src.layer.file, err)
	}
	k := src.layer.file
	kc := firstDoc(k, w.files[k])
	if _, err := w.editFile(docEdit{file: k, chunk: kc, tokens: src.inline, value: string(out)}); err != nil {
		return Applied{}, err
	}
	return Applied{File: k, Line: inlineLine(k, w.files[k], kc, src.inline, local), Action: action}, nil
}

// firstDoc returns the index of the first document of a file that holds
// something.
func firstDoc(name string, b []byte) int {
	json := isJSONFile(name)
	for i, c := range splitChunks(b, json) {
		if d, err := parseDoc(b[c.start:c.end], json); err == nil && d.root != nil {
			return i
		}
	}
	return 0
}

// inlineLine returns the line in the kustomization of a line of an inline
// patch.
func inlineLine(name string, b []byte, chunk int, tokens []string, local int) int {
	json := isJSONFile(name)
	chunks := splitChunks(b, json)
	if chunk >= len(chunks) {
		return 0
	}
	c := chunks[chunk]
	d, err := parseDoc(b[c.start:c.end], json)
	if err != nil {
		return 0
	}
	frames, rest, err := d.locate(tokens)
	if err != nil || len(rest) > 0 {
		return 0
	}
	line, _ := lineOf(b[c.start:c.end], json, tokens)
	if frames[len(frames)-1].node.Style&(kyaml.LiteralStyle|kyaml.FoldedStyle) != 0 {
		line += local
	}
	return c.line + line - 1
}

// editOp edits the JSON 6902 operation that sets the field: its value, or
// the part of its value below its path.
func (w *work) editOp(s setter, r request, lower bool) (Applied, error) {
	i := strconv.Itoa(s.opIndex)
	var ops []patchOp
	switch {
	case s.op != "add" && s.op != "replace" && s.op != "remove":
		return Applied{}, inFile(s.patch.where(), fmt.Errorf("a %q operation sets the field: %w", s.op, ErrUnsupported))
	case len(s.sub) > 0 && s.op == "remove":
		return Applied{}, inFile(s.patch.where(), fmt.Errorf("a remove operation removes a parent of the field: %w", ErrUnsupported))
	case len(s.sub) > 0:
		ops = []patchOp{{tokens: append([]string{i, "value"}, s.sub...), value: r.value, remove: r.remove}}
	case !r.remove && s.op == "remove":
		ops = []patchOp{{tokens: []string{i, "op"}, value: "add"}, {tokens: []string{i, "value"}, value: r.value}}
	case !r.remove:
		ops = []patchOp{{tokens: []string{i, "value"}, value: r.value}}
	case lower:
		ops = []patchOp{{tokens: []string{i, "op"}, value: "remove"}, {tokens: []string{i, "value"}, remove: true, optional: true}}
	case opCount(s.patch) > 1:
		ops = []patchOp{{tokens: []string{i}, remove: true}}
	case s.patch.file == "":
		// The patch's only operation: drop the patch from its kustomization.
		a, err := w.editKustomization(s.patch.layer, []patchOp{{tokens: s.patch.inline[:2], remove: true}})
		a.Action = SetInPatch
		return a, err
	default:
		return Applied{}, inFile(s.patch.where(), fmt.Errorf("removing the field would leave the patch empty; delete it by hand: %w", ErrUnsupported))
	}
	return w.editPatch(s.patch, 0, ops)
}

// opCount returns how many operations a JSON 6902 patch has.
func opCount(src *patchSrc) int {
	d, err := parseDoc(src.text, isJSONFile(src.file))
	if err != nil {
		return 0
	}
	return len(items(d.root))
}

// editReplicas sets the count of a replicas entry.
func (w *work) editReplicas(l *layer, entry int, r request) (Applied, error) {
	n, ok := r.value.(int64)
	if r.remove || !ok {
		return Applied{}, inFile(l.file, fmt.Errorf("replicas[%d] sets the field; only a count can be written there: %w", entry, ErrUnsupported))
	}
	return w.editKustomization(l, []patchOp{{tokens: []string{"replicas", strconv.Itoa(entry), "count"}, value: n}})
}

// editImage sets an images entry so that it makes the live image.
func (w *work) editImage(l *layer, entry int, r request) (Applied, error) {
	live, ok := r.value.(string)
	if r.remove || !ok || live == "" {
		return Applied{}, inFile(l.file, fmt.Errorf("images[%d] sets the field; only an image can be written there: %w", entry, ErrUnsupported))
	}
	e := l.images[entry]
	name, tag, digest := parseImage(live)
	base := []string{"images", strconv.Itoa(entry)}
	field := func(f string) []string { return append(append([]string(nil), base...), f) }
	var ops []patchOp
	effective := e.name
	if e.newName != "" {
		effective = e.newName
	}
	if name != effective {
		ops = append(ops, patchOp{tokens: field("newName"), value: name})
	}
	switch {
	case digest != "":
		ops = append(ops, patchOp{tokens: field("newTag"), remove: true, optional: true}, patchOp{tokens: field("digest"), value: digest})
	case tag != "":
		ops = append(ops, patchOp{tokens: field("digest"), remove: true, optional: true}, patchOp{tokens: field("newTag"), value: tag})
	default:
		ops = append(ops, patchOp{tokens: field("digest"), remove: true, optional: true}, patchOp{tokens: field("newTag"), remove: true, optional: true})
	}
	return w.editKustomization(l, ops)
}

// editKustomization applies edits to a kustomization file.
func (w *work) editKustomization(l *layer, ops []patchOp) (Applied, error) {
	b := w.files[l.file]
	out, line, err := applyOps(l.file, b, firstDoc(l.file, b), ops)
	if err != nil {
		return Applied{}, inFile(l.file, err)
	}
	if line == 0 && len(ops[0].tokens) >= 2 {
		line, _ = lineOf(out, isJSONFile(l.file), ops[0].tokens[:2])
	}
	w.write(l.file, out)
	return Applied{File: l.file, Line: line, Action: SetInKustomization}, nil
}

// addPatch writes a change that no file sets into a patch of the target's
// kustomization: a patch trueup added before for the object, or a new one.
// A strategic-merge patch when it can name every list item on the way by
// its merge key, a JSON 6902 patch otherwise.
func (w *work) addPatch(s *kustSite, r request, steps []step, hint any, l layout) (Applied, error) {
	root := s.chain[0]
	smp := smpExpressible(steps)
	for i := len(root.patches) - 1; i >= 0; i-- {
		src := root.patches[i]
		if src.file == "" || !strings.HasPrefix(path.Base(src.file), patchPrefix) || src.json6902 == smp {
			continue
		}
		if a, ok, err := w.addToPatch(s, src, r, steps, hint); ok || err != nil {
			return a, err
		}
	}
	file := w.patchName(root.dir, s.res.id.kind, s.nameIn(0))
	l.json = false
	var content []byte
	var local []string
	entry := map[string]any{"path": path.Base(file)}
	var err error
	if smp {
		content, local, err = newSMP(l, s, steps, r)
	} else {
		var op map[string]any
		if op, err = newOp(r, hint); err == nil {
			content, err = newJSONPatch(l, op)
			local = []string{"0", "path"}
			entry["target"] = s.target()
		}
	}
	if err != nil {
		return Applied{}, inFile(file, err)
	}
	w.write(file, content)
	w.created[file] = true
	kc := firstDoc(root.file, w.files[root.file])
	if _, err := w.editFile(docEdit{file: root.file, chunk: kc, tokens: []string{"patches", "-"}, value: entry}); err != nil {
		return Applied{}, err
	}
	line, _ := lineOf(content, false, local)
	return Applied{File: file, Line: line, Action: AddedPatch}, nil
}

// addToPatch adds the change to an existing patch trueup wrote for the
// object, if src is one.
func (w *work) addToPatch(s *kustSite, src *patchSrc, r request, steps []step, hint any) (Applied, bool, error) {
	if src.json6902 {
		if src.target == nil || !s.selects(src.target, 0) {
			return Applied{}, false, nil
		}
		op, err := newOp(r, hint)
		if err != nil {
			return Applied{}, true, inFile(src.file, err)
		}
		a, err := w.editPatch(src, 0, []patchOp{{tokens: []string{"-"}, value: op}})
		return a, true, err
	}
	chunks := splitChunks(src.text, false)
	for ci, c := range chunks {
		d, err := parseDoc(src.text[c.start:c.end], false)
		if err != nil || d.root == nil || d.root.Kind != kyaml.MappingNode || !s.patchNames(identOf(d.root), 0) {
			continue
		}
		tokens, value, err := smpPlacement(d.root, steps, r.value, r.remove)
		if err != nil {
			return Applied{}, true, inFile(src.file, err)
		}
		a, err := w.editPatch(src, ci, []patchOp{{tokens: tokens, value: value}})
		return a, true, err
	}
	return Applied{}, false, nil
}

// patchName returns a free file name for a new patch in dir.
func (w *work) patchName(dir, kind, name string) string {
	base := patchPrefix + slug(kind) + "-" + slug(name)
	p := path.Join(dir, base+".yaml")
	for i := 2; ; i++ {
		if _, ok := w.files[p]; !ok {
			return p
		}
		p = path.Join(dir, fmt.Sprintf("%s-%d.yaml", base, i))
	}
}

func slug(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

const patchHeader = "# Added by trueup: live values adopted into Git from drift.\n"

// newSMP renders a new strategic-merge patch that sets the field, and
// returns it with the field's path in it.
func newSMP(l layout, s *kustSite, steps []step, r request) ([]byte, []string, error) {
	value, err := smpValue(steps, r.value, r.remove)
	if err != nil {
		return nil, nil, err
	}
	body, _ := value.(map[string]any)
	meta := map[string]any{"name": s.nameIn(0)}
	if ns := s.nss[1]; ns != "" {
		meta["namespace"] = ns
	}
	if m, ok := body["metadata"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	lines := []string{
		"apiVersion: " + plainString(s.res.id.apiVersion),
		"kind: " + plainString(s.res.id.kind),
	}
	lines = append(lines, l.pair("metadata", meta, 0)...)
	for _, k := range sortedKeys(body) {
		if k != "metadata" {
			lines = append(lines, l.pair(k, body[k], 0)...)
		}
	}
	content := []byte(patchHeader + strings.Join(lines, "\n") + "\n")
	want := map[string]any{"apiVersion": s.res.id.apiVersion, "kind": s.res.id.kind, "metadata": meta}
	for k, v := range body {
		if k != "metadata" {
			want[k] = v
		}
	}
	if err := checkNew(content, want); err != nil {
		return nil, nil, err
	}
	d, err := parseDoc(content, false)
	if err != nil {
		return nil, nil, err
	}
	local, _ := resolveSteps(d.root, steps)
	return content, local, nil
}

// newJSONPatch renders a new JSON 6902 patch of one operation.
func newJSONPatch(l layout, op map[string]any) ([]byte, error) {
	content := []byte(patchHeader + strings.Join(l.sequence([]any{op}, 0), "\n") + "\n")
	return content, checkNew(content, []any{op})
}

// checkNew checks that a rendered file reads back as want.
func checkNew(content []byte, want any) error {
	got, err := decodeV3(content)
	if err != nil || !reflect.DeepEqual(got, canon(want)) {
		return errCheck
	}
	return nil
}

// newOp returns the JSON 6902 operation that sets the field: replace what
// the object has, add below the deepest part it has.
func newOp(r request, hint any) (map[string]any, error) {
	p := pointer(r.tokens)
	have := 0
	cur := hint
	for _, tok := range r.tokens {
		next, ok := member(cur, tok)
		if !ok {
			break
		}
		cur, have = next, have+1
	}
	full := have == len(r.tokens)
	switch {
	case r.remove && !full:
		return nil, fmt.Errorf("the built object does not have the field; nothing to remove: %w", ErrPath)
	case r.remove:
		return map[string]any{"op": "remove", "path": p}, nil
	case full:
		return map[string]any{"op": "replace", "path": p, "value": r.value}, nil
	}
	for _, tok := range r.tokens[have+1:] {
		if _, err := strconv.Atoi(tok); err == nil {
			return nil, fmt.Errorf("cannot tell which list item %s means; pass the desired object: %w", p, ErrUnsupported)
		}
	}
	return map[string]any{"op": "add", "path": pointer(r.tokens[:have+1]), "value": nest(r.tokens[have+1:], r.value)}, nil
}

// lookup returns the value at tokens in a JSON-like value.
func lookup(v any, tokens []string) (any, bool) {
	for _, tok := range tokens {
		next, ok := member(v, tok)
		if !ok {
			return nil, false
		}
		v = next
	}
	return v, true
}

// member returns the member or item tok of v.
func member(v any, tok string) (any, bool) {
	switch c := v.(type) {
	case map[string]any:
		e, ok := c[tok]
		return e, ok
	case []any:
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i >= len(c) {
			return nil, false
		}
		return c[i], true
	}
	return nil, false
}

// target returns the patch target that selects the object in the
// target's kustomization.
func (s *kustSite) target() map[string]any {
	t := map[string]any{"kind": s.res.id.kind, "name": s.nameIn(0)}
	if g := s.res.id.group(); g != "" {
		t["group"] = g
	}
	if _, v, ok := strings.Cut(s.res.id.apiVersion, "/"); ok {
		t["version"] = v
	} else if s.res.id.apiVersion != "" {
		t["version"] = s.res.id.apiVersion
	}
	if ns := s.nss[1]; ns != "" {
		t["namespace"] = ns
	}
	return t
}
