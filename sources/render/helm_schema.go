package render

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// schemaURL names a chart's values.schema.json inside the compiler.
const schemaURL = "file:///values.schema.json"

// noRemoteSchemas refuses every $ref outside the schema itself. Helm's own
// validator follows file:, http: and https: references, which would let a
// chart read the daemon's files or reach its network.
type noRemoteSchemas struct{}

func (noRemoteSchemas) Load(url string) (any, error) {
	return nil, fmt.Errorf("the schema refers to %s: trueup follows no reference outside values.schema.json: inline it", url)
}

// validateSchemas checks the merged values against the chart's
// values.schema.json and each dependency's against the values under its
// name, as helm template does; every violation is listed.
func validateSchemas(ch *chart.Chart, values map[string]any, dir string) error {
	var problems []string
	var walk func(ch *chart.Chart, values map[string]any, where string)
	walk = func(ch *chart.Chart, values map[string]any, where string) {
		if len(ch.Schema) > 0 {
			if err := validateSchema(ch.Schema, values); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			}
		}
		for _, sub := range ch.Dependencies() {
			raw, ok := values[sub.Name()]
			if !ok || raw == nil {
				continue
			}
			m := asMap(raw)
			if m == nil {
				problems = append(problems, fmt.Sprintf("%s: values for %s must be a mapping", where, sub.Name()))
				continue
			}
			walk(sub, m, where+"/charts/"+sub.Name())
		}
	}
	walk(ch, values, dir)
	if len(problems) > 0 {
		return errorf(ErrHelm, "values do not match the chart's values.schema.json: %s", strings.Join(problems, "; "))
	}
	return nil
}

func validateSchema(schemaJSON []byte, values map[string]any) (err error) {
	defer func() { // the schema is outside input
		if r := recover(); r != nil {
			err = fmt.Errorf("values.schema.json cannot be used: %v", r)
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noRemoteSchemas{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	if err := s.Validate(values); err != nil {
		return fmt.Errorf("%s", strings.TrimSpace(strings.ReplaceAll(err.Error(), "jsonschema validation failed with '"+schemaURL+"#'\n", "")))
	}
	return nil
}

// asMap is a values mapping as a plain map (Helm keeps some as
// common.Values), nil for anything else.
func asMap(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case common.Values:
		return m
	}
	return nil
}
