package sops

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/sources"
)

// minSecretLen is the shortest decrypted value the scan looks for: shorter
// ones (a port, "true") would match everywhere and are not secrets.
const minSecretLen = 4

// MarkFromValues checks the objects a chart rendered from values files
// that were SOPS-encrypted (values maps each such file's name to its
// decrypted content; helm-secrets' layout). Each decrypted scalar may
// appear, as it is or base64-encoded, only in core Secrets, whose values
// trueup masks everywhere: those are marked Decrypted. Any other object
// holding one fails the render with the object and the file, never the
// value. A template that transforms a value (upper, printf) is not seen:
// the scan is a guard against the common mistake, not a proof.
func MarkFromValues(objs []sources.Object, values map[string][]byte) error {
	if len(values) == 0 {
		return nil
	}
	type secret struct{ file, text string }
	var secrets []secret
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		var doc any
		if err := yaml.Unmarshal(values[name], &doc); err != nil {
			return fmt.Errorf("%s: decrypted values: %w", sources.QuotePath(name), err)
		}
		for _, s := range scalars(doc, nil) {
			if len(s) >= minSecretLen {
				secrets = append(secrets, secret{name, s}, secret{name, base64.StdEncoding.EncodeToString([]byte(s))})
			}
		}
	}
	for i := range objs {
		o := &objs[i]
		texts := strings.Join(scalars(o.Object.Object, keysOf(o.Object.Object, nil)), "\x00")
		for _, s := range secrets {
			if !strings.Contains(texts, s.text) {
				continue
			}
			if o.Object.GetAPIVersion() != "v1" || o.Object.GetKind() != "Secret" {
				return fmt.Errorf("%s[%d]: %s %s holds a value of the SOPS-encrypted values file %s, and only Secrets may: trueup masks "+
					"Secret values in every output, not other objects' values; use the value in a Secret only: %w",
					sources.QuotePath(o.Origin.File), o.Origin.Index, o.Object.GetKind(), o.Object.GetName(), sources.QuotePath(s.file), ErrUnsupported)
			}
			o.Origin.Decrypted = true
		}
	}
	return nil
}

// keysOf lists the mapping keys of a decoded document (a value may be
// used as a key: a ConfigMap's data key).
func keysOf(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			out = keysOf(c, append(out, k))
		}
	case []any:
		for _, c := range x {
			out = keysOf(c, out)
		}
	}
	return out
}

// scalars lists the text of every scalar of a decoded document.
func scalars(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			out = scalars(c, out)
		}
	case []any:
		for _, c := range x {
			out = scalars(c, out)
		}
	case string:
		out = append(out, x)
	case float64:
		out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
	case int64:
		out = append(out, strconv.FormatInt(x, 10))
	}
	return out
}
