package sops

import (
	"fmt"

	"github.com/trueup-dev/trueup/sources"
)

// MarkObjects sets Origin.Decrypted on every object read from one of the
// decrypted files, in place. It refuses an object from a decrypted file
// that is not a core Secret (only Secret values are masked in every output
// of trueup), and a decrypted file that is the origin of no object (read as
// a kustomize patch or generator input, so its values may be in any
// object).
func MarkObjects(objs []sources.Object, decrypted []string) error {
	if len(decrypted) == 0 {
		return nil
	}
	dec := make(map[string]bool, len(decrypted))
	for _, p := range decrypted {
		dec[p] = false
	}
	for i := range objs {
		o := &objs[i]
		if _, ok := dec[o.Origin.File]; !ok {
			continue
		}
		dec[o.Origin.File] = true
		u := o.Object
		if u.GetAPIVersion() != "v1" || u.GetKind() != "Secret" {
			return fmt.Errorf("%s[%d]: %s %s comes from a SOPS-encrypted file, and only Secrets may: trueup masks Secret values "+
				"in every output, not other objects' values; move it to a file that is not encrypted, or make it a Secret: %w",
				sources.QuotePath(o.Origin.File), o.Origin.Index, u.GetKind(), u.GetName(), ErrUnsupported)
		}
		o.Origin.Decrypted = true
	}
	for _, p := range decrypted {
		if !dec[p] {
			return fmt.Errorf("%s: a SOPS-encrypted file read by a kustomization as a patch or generator input; trueup decrypts "+
				"only files listed as resources (a Secret manifest), since the values of other inputs may land in any object: %w",
				sources.QuotePath(p), ErrUnsupported)
		}
	}
	return nil
}
