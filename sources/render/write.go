package render

import (
	"fmt"
	"io"

	"github.com/trueup-dev/trueup/sources"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes objects as a YAML stream like `kustomize build`: one
// document per object, keys sorted, documents separated by "---".
func WriteYAML(w io.Writer, objs []sources.Object) error {
	for i, o := range objs {
		data, err := yaml.Marshal(o.Object.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", describeObject(o), err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}
