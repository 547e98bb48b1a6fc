package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/render"
	"github.com/trueup-dev/trueup/sources/sops"
	"github.com/trueup-dev/trueup/sources/writeback"
)

// maxValueProbes bounds the renders one drifted field may cost.
const maxValueProbes = 16

// valuesLayer is one place a Helm target's values come from, in the order
// Helm merges them: the chart's values.yaml, then render.helm.values.
type valuesLayer struct {
	// what names it in messages: "the chart's values.yaml",
	// "render.helm.values[1] (source shared)".
	what string
	// file is its repository path in the target's source; "" when it is
	// not a file trueup can write (a remote chart, another source).
	file   string
	values map[string]any
	// chart marks the chart's own defaults.
	chart bool
}

// valueLeaf is a scalar in the merged values and its path.
type valueLeaf struct {
	key   []string
	value any
}

// helmWriteback writes the live values of an object's drifted fields into
// the Helm values that render them. A field is traced by rendering: the
// values whose current value is the field's value in Git (or a part of
// it, as image: repository:tag) are candidates, and the one whose change
// to the live value makes the chart render the live field is the key.
// Exactly one key must do so. It is written in the last values file of
// the target's source that sets it; a key only the chart's defaults set is
// added to the target's last values file. Everything else is refused with
// why: a value render.helm.set fixes, a field no single value renders, a
// values file in another source.
func (l *DesiredLoader) helmWriteback(ctx context.Context, t *config.Target, files sources.Files, ref drift.ObjectRef, changes []writeback.Change) (writeback.Result, error) {
	h := t.Render.Helm
	in, err := l.loadHelmInputs(ctx, t)
	if err != nil {
		return writeback.Result{}, err
	}
	layers, err := helmLayers(t, files, in)
	if err != nil {
		return writeback.Result{}, err
	}
	merged := map[string]any{}
	for _, ly := range layers {
		merged = mergeValues(merged, ly.values)
	}
	renderWith := func(extra map[string]any) (*sources.Object, error) {
		probe := in
		if extra != nil {
			data, err := yaml.Marshal(extra)
			if err != nil {
				return nil, err
			}
			probe.extra = []render.ValuesFile{{Name: "trueup write-back probe", Data: data}}
		}
		res, err := l.renderHelm(ctx, t, sops.NewTree(files, l.keysFor(t.Name)), probe, l.render)
		if err != nil {
			return nil, err
		}
		for i, o := range res.Objects {
			if r := drift.RefOf(o.Object); r.Group == ref.Group && r.Kind == ref.Kind && r.Name == ref.Name && (r.Namespace == ref.Namespace || r.Namespace == "") {
				return &res.Objects[i], nil
			}
		}
		return nil, fmt.Errorf("%s is not rendered: %w", ref, writeback.ErrNotFound)
	}
	base, err := renderWith(nil)
	if err != nil {
		return writeback.Result{}, &writeback.Error{Object: ref, Err: err}
	}
	leaves := scalarLeaves(nil, merged, nil)
	var edits []writeback.ValuesEdit
	for _, c := range changes {
		fail := func(err error) (writeback.Result, error) {
			return writeback.Result{}, &writeback.Error{Object: ref, Path: c.Path, Err: err}
		}
		if c.Masked || ref.Kind == "Secret" {
			return fail(writeback.ErrSecret)
		}
		if c.Live == nil {
			return fail(fmt.Errorf("a removed field: %w", writeback.ErrUnsupported))
		}
		tokens, err := drift.SplitPointer(c.Path)
		if err != nil {
			return fail(fmt.Errorf("%w: %w", err, writeback.ErrPath))
		}
		gitVal, ok := valueAt(base.Object.Object, tokens)
		if !ok {
			return fail(fmt.Errorf("the chart does not render the field, so no value sets it: %w", writeback.ErrUnsupported))
		}
		var found []valueLeaf
		var fixedBySet []string
		probes := 0
		for _, lf := range leaves {
			v, ok := candidateValue(lf.value, gitVal, c.Live)
			if !ok {
				continue
			}
			if k := setKeyFor(h, lf.key); k != "" {
				fixedBySet = append(fixedBySet, k)
				continue
			}
			if probes++; probes > maxValueProbes {
				return fail(fmt.Errorf("more than %d Helm values could render it: %w", maxValueProbes, writeback.ErrUnsupported))
			}
			got, err := renderWith(withValue(merged, lf.key, v))
			if err != nil {
				continue // the chart refuses the value: not this key
			}
			if live, ok := valueAt(got.Object.Object, tokens); ok && sameValue(live, c.Live) {
				found = append(found, valueLeaf{key: lf.key, value: v})
			}
		}
		switch {
		case len(found) == 0 && len(fixedBySet) > 0:
			return fail(fmt.Errorf("the value comes from render.helm.set[%s] in trueup's config: change it there: %w", fixedBySet[0], writeback.ErrUnsupported))
		case len(found) == 0 && h.PostRender != nil:
			return fail(fmt.Errorf("no single Helm value renders the live value (the template %s or the post-render kustomization %s sets it): "+
				"change them by hand: %w", sources.QuotePath(base.Origin.File), sources.QuotePath(h.PostRender.Kustomization), writeback.ErrUnsupported))
		case len(found) == 0:
			return fail(fmt.Errorf("no single Helm value renders the live value (the template %s computes it): change the chart or its values by hand: %w",
				sources.QuotePath(base.Origin.File), writeback.ErrUnsupported))
		case len(found) > 1:
			var keys []string
			for _, f := range found {
				keys = append(keys, dotted(f.key))
			}
			return fail(fmt.Errorf("the Helm values %s each render it: %w", strings.Join(keys, ", "), writeback.ErrAmbiguous))
		}
		e, err := placeValue(t, layers, found[0])
		if err != nil {
			return fail(err)
		}
		e.Change = c
		edits = append(edits, e)
	}
	return writeback.EditValues(files, ref, edits)
}

// helmLayers reads the values a Helm target merges, in order.
func helmLayers(t *config.Target, files sources.Files, in helmInputs) ([]valuesLayer, error) {
	h := t.Render.Helm
	var layers []valuesLayer
	chartValues, chartFile := path.Join(h.Chart.Path, "values.yaml"), ""
	data, local := files[chartValues]
	if h.Chart.Remote != nil {
		data, local = in.chart[chartMount+"/values.yaml"], false
	}
	if local {
		chartFile = chartValues
	}
	read := func(what, file string, data []byte) error {
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		layers = append(layers, valuesLayer{what: what, file: file, values: m, chart: what == "the chart's values.yaml"})
		return nil
	}
	if err := read("the chart's values.yaml", chartFile, data); err != nil {
		return nil, err
	}
	for i, v := range h.Values {
		what := fmt.Sprintf("render.helm.values[%d]", i)
		if f, other := in.values[i]; other {
			if err := read(what+" (source "+v.Source+")", "", f.Data); err != nil {
				return nil, err
			}
			continue
		}
		data, ok := files[v.Path]
		if !ok {
			return nil, fmt.Errorf("%s: %s: %w", what, sources.QuotePath(v.Path), writeback.ErrNotFound)
		}
		if err := read(what, v.Path, data); err != nil {
			return nil, err
		}
	}
	return layers, nil
}

// placeValue says which file gets a traced key: the last layer that sets
// it, when trueup can write it; a key only the chart's defaults set goes
// into the target's last values file of its own source.
func placeValue(t *config.Target, layers []valuesLayer, lf valueLeaf) (writeback.ValuesEdit, error) {
	top := -1
	for i, ly := range layers {
		if _, ok := valueAt(ly.values, lf.key); ok {
			top = i
		}
	}
	e := writeback.ValuesEdit{Key: lf.key, Value: lf.value}
	if top >= 0 && layers[top].file != "" && !layers[top].chart {
		e.File = layers[top].file
		return e, nil
	}
	for i := len(layers) - 1; i > top; i-- {
		if layers[i].file != "" && !layers[i].chart {
			e.File, e.Added = layers[i].file, true
			return e, nil
		}
	}
	switch {
	case top >= 0 && layers[top].chart && layers[top].file != "":
		e.File = layers[top].file // the chart's defaults, in this repository, and no values file of the target
		return e, nil
	case top >= 0 && layers[top].chart:
		return e, fmt.Errorf("only the remote chart's defaults set %s: add a values file of source %q to render.helm.values so trueup can set it there: %w",
			dotted(lf.key), t.Source, writeback.ErrUnsupported)
	case top >= 0:
		return e, fmt.Errorf("%s sets %s: trueup writes only to the target's own source %q: %w", layers[top].what, dotted(lf.key), t.Source, writeback.ErrUnsupported)
	}
	return e, fmt.Errorf("no values file sets %s: %w", dotted(lf.key), writeback.ErrUnsupported)
}

// setKeyFor returns the render.helm.set key that fixes key (the key, or a
// parent or child of it), or "".
func setKeyFor(h *config.HelmRender, key []string) string {
	d := dotted(key)
	for k := range h.Set {
		if k == d || strings.HasPrefix(d, k+".") || strings.HasPrefix(k, d+".") {
			return k
		}
	}
	return ""
}

func dotted(key []string) string { return strings.Join(key, ".") }

// candidateValue says whether a value leaf may render the field: it equals
// the field's Git value, or is a part of a string field that the live
// string keeps around it. v is what the leaf would hold for the live field,
// in the leaf's type.
func candidateValue(leaf, gitVal, live any) (any, bool) {
	ls, gs := scalarText(leaf), scalarText(gitVal)
	if ls == "" || gs == "" {
		return nil, false
	}
	liveText := scalarText(live)
	if liveText == "" {
		return nil, false
	}
	if ls == gs {
		return retype(leaf, live, liveText), true
	}
	_, leafIsString := leaf.(string)
	_, gitIsString := gitVal.(string)
	if !leafIsString || !gitIsString || len(ls) < 2 || strings.Count(gs, ls) != 1 {
		return nil, false
	}
	i := strings.Index(gs, ls)
	prefix, suffix := gs[:i], gs[i+len(ls):]
	if len(liveText) < len(prefix)+len(suffix) || !strings.HasPrefix(liveText, prefix) || !strings.HasSuffix(liveText, suffix) {
		return nil, false
	}
	part := liveText[len(prefix) : len(liveText)-len(suffix)]
	if part == "" {
		return nil, false
	}
	return part, true
}

// scalarText is a scalar's text as a template prints it ("" for maps,
// lists and null).
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool, int, int32, int64, float32, float64, json.Number:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return ""
}

// retype gives the live value the leaf's type: a string stays a string
// ("5"), a number a number.
func retype(leaf, live any, liveText string) any {
	switch leaf.(type) {
	case string:
		return liveText
	case bool:
		if b, err := strconv.ParseBool(liveText); err == nil {
			return b
		}
	case float64, int64, int, json.Number:
		if n, err := strconv.ParseInt(liveText, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(liveText, 64); err == nil {
			return f
		}
	}
	return live
}

func sameValue(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// valueAt walks maps and lists by tokens.
func valueAt(doc any, tokens []string) (any, bool) {
	cur := doc
	for _, tok := range tokens {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// scalarLeaves lists the scalars of merged values with their keys (list
// items by index), in a stable order.
func scalarLeaves(key []string, v any, out []valueLeaf) []valueLeaf {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = scalarLeaves(append(slices.Clone(key), k), x[k], out)
		}
	case []any:
		for i, item := range x {
			out = scalarLeaves(append(slices.Clone(key), strconv.Itoa(i)), item, out)
		}
	case nil:
	default:
		out = append(out, valueLeaf{key: key, value: x})
	}
	return out
}

// mergeValues merges b over a as Helm coalesces values files: mappings
// merge key by key, anything else replaces. Neither input is modified.
func mergeValues(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		am, aok := out[k].(map[string]any)
		bm, bok := v.(map[string]any)
		if aok && bok {
			out[k] = mergeValues(am, bm)
			continue
		}
		out[k] = v
	}
	return out
}

// withValue returns a copy of merged with the value at key set to v.
func withValue(merged map[string]any, key []string, v any) map[string]any {
	var set func(cur any, key []string) any
	set = func(cur any, key []string) any {
		if len(key) == 0 {
			return v
		}
		switch x := cur.(type) {
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, val := range x {
				m[k] = val
			}
			m[key[0]] = set(x[key[0]], key[1:])
			return m
		case []any:
			l := slices.Clone(x)
			if i, err := strconv.Atoi(key[0]); err == nil && i >= 0 && i < len(l) {
				l[i] = set(l[i], key[1:])
			}
			return l
		}
		return cur
	}
	return set(merged, key).(map[string]any)
}
