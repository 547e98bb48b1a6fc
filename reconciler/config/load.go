package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// MaxFileBytes caps the size of a config file.
const MaxFileBytes = 1 << 20

// Load reads and validates a config file. The error is Errors when the file
// was read but has problems, so a caller can list every one of them.
func Load(path string) (*Config, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w (pass the file with -c PATH)", path, err)
	}
	if info.Size() > MaxFileBytes {
		return nil, Errors{{Message: fmt.Sprintf("file is %d bytes, larger than the %d byte limit", info.Size(), MaxFileBytes)}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return Parse(data)
}

// Parse decodes and validates a config document, then applies defaults.
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxFileBytes {
		return nil, Errors{{Message: fmt.Sprintf("file is %d bytes, larger than the %d byte limit", len(data), MaxFileBytes)}}
	}
	raw, err := toJSON(data)
	if err != nil {
		return nil, Errors{{Message: err.Error()}}
	}
	shape := &errs{}
	raw = checkShape(shape, "", raw, reflect.TypeFor[Config]())
	cfg, err := decode(raw)
	if err != nil {
		return nil, Errors{{Message: err.Error()}}
	}
	all := &errs{list: shape.list}
	if err := Validate(cfg); err != nil {
		all.list = append(all.list, suppressed(err.(Errors), shape.list)...)
	}
	if err := all.result(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return cfg, nil
}

// suppressed drops semantic errors below a path that already has a shape
// error: the value there was removed, so "required" would only be noise.
func suppressed(semantic, shape Errors) Errors {
	var out Errors
	for _, se := range semantic {
		hidden := false
		for _, sh := range shape {
			if se.Path == sh.Path || strings.HasPrefix(se.Path, sh.Path+".") || strings.HasPrefix(se.Path, sh.Path+"[") {
				hidden = true
				break
			}
		}
		if !hidden {
			out = append(out, se)
		}
	}
	return out
}

// toJSON converts YAML (duplicate keys rejected) into generic JSON values.
func toJSON(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("file is empty: start from fixtures/config/config.good.yaml")
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
		return nil, fmt.Errorf("invalid YAML: %s", strings.Join(strings.Fields(msg), " "))
	}
	var raw any
	if err := json.Unmarshal(j, &raw); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, fmt.Errorf("want a YAML mapping with apiVersion: %s and kind: %s, got %s", APIVersion, Kind, describe(raw))
	}
	return raw, nil
}

func decode(raw any) (*Config, error) {
	j, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &cfg, nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkShape compares a generic JSON value with the Go type it must decode
// into, records every unknown field and wrong type with its path, and
// returns the value with the offending parts removed (nil when the whole
// value is wrong) so the rest can still be decoded and validated.
func checkShape(e *errs, path string, v any, t reflect.Type) any {
	if v == nil {
		return nil // null is the same as absent
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if sc, ok := reflect.New(t).Interface().(shapeChooser); ok {
		if st := sc.shapeFor(v); st != nil {
			return checkShape(e, path, v, st)
		}
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return checkUnmarshaler(e, path, v, t)
	}
	switch t.Kind() {
	case reflect.Struct:
		return checkStruct(e, path, v, t)
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			e.add(path, "want a list, got %s", describe(v))
			return nil
		}
		for i, item := range list {
			list[i] = checkShape(e, index(path, i), item, t.Elem())
		}
		return list
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			e.add(path, "want a mapping of %s, got %s", kindName(t.Elem()), describe(v))
			return nil
		}
		for _, k := range sortedKeys(m) {
			if m[k] = checkShape(e, mapKey(path, k), m[k], t.Elem()); m[k] == nil {
				delete(m, k)
			}
		}
		return m
	default:
		return checkScalar(e, path, v, t)
	}
}

func checkUnmarshaler(e *errs, path string, v any, t reflect.Type) any {
	j, _ := json.Marshal(v)
	if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(j); err != nil {
		e.add(path, "%s", err.Error())
		return nil
	}
	return v
}

func checkStruct(e *errs, path string, v any, t reflect.Type) any {
	m, ok := v.(map[string]any)
	if !ok {
		e.add(path, "want a mapping, got %s", describe(v))
		return map[string]any{}
	}
	fields := jsonFields(t)
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	for _, k := range sortedKeys(m) {
		f, ok := fields[k]
		if !ok {
			e.add(field(path, k), "unknown field%s", unknownHint(k, names))
			delete(m, k)
			continue
		}
		if m[k] = checkShape(e, field(path, k), m[k], f.Type); m[k] == nil {
			delete(m, k)
		}
	}
	return m
}

// unknownHint suggests a known field, and explains inline secrets.
func unknownHint(k string, names []string) string {
	lk := strings.ToLower(k)
	for _, s := range []string{"password", "token", "secret", "key", "dsn", "webhookurl", "passphrase", "externalid"} {
		if strings.Contains(lk, s) && !strings.HasSuffix(k, "From") {
			if hint := suggest(k+"From", names); hint != "" {
				return hint + ": secrets are never written inline; use " + k + "From: {env: NAME} or {file: PATH}"
			}
		}
	}
	return suggest(k, names)
}

func checkScalar(e *errs, path string, v any, t reflect.Type) any {
	switch t.Kind() {
	case reflect.String:
		if b, ok := v.(bool); ok {
			// YAML 1.1 reads off/on/no/yes unquoted as booleans.
			e.add(path, "want a string, got %s: quote the word (e.g. \"off\")", describe(b))
			return nil
		}
		if _, ok := v.(string); !ok {
			e.add(path, "want a string, got %s", describe(v))
			return nil
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			e.add(path, "want true or false, got %s", describe(v))
			return nil
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			e.add(path, "want a whole number, got %s", describe(v))
			return nil
		}
	}
	return v
}

func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out[name] = f
	}
	return out
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", truncate(x, 40))
	case float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Struct:
		return "mappings"
	}
	return t.Kind().String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mapKey(path, k string) string {
	if strings.ContainsAny(k, ".[]/ ") || k == "" {
		return fmt.Sprintf("%s[%q]", path, k)
	}
	return field(path, k)
}
