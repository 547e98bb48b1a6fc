package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/trueup-dev/trueup/sources"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes objects as a YAML stream like `kustomize build`: one
// document per object, keys sorted, documents separated by "---".
func WriteYAML(w io.Writer, objs []sources.Object) error {
	for i, o := range objs {
		data, err := marshalYAML(o.Object.Object)
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

// marshalYAML is yaml.Marshal for values whose strings may hold characters
// that encoding/json leaves raw but YAML readers refuse (DEL and the C1
// controls): they are escaped in the JSON first, so any string a manifest
// can carry is written, double-quoted with escapes.
func marshalYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(escapeControls(j))
}

// escapeControls replaces DEL and C1 control characters with \u escapes.
// They can only occur inside JSON strings, where the escape means the same.
func escapeControls(j []byte) []byte {
	out := make([]byte, 0, len(j))
	for i := 0; i < len(j); {
		r, size := utf8.DecodeRune(j[i:])
		if r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			out = append(out, `\u00`...)
			out = strconv.AppendUint(out, uint64(r>>4), 16)
			out = strconv.AppendUint(out, uint64(r&0xf), 16)
		} else {
			out = append(out, j[i:i+size]...)
		}
		i += size
	}
	return out
}
