package sources

import (
	"path"
	"strings"
)

// Under returns the files below dir (a slash-separated folder of the
// tree, "" or "." for the root), keyed relative to dir, as ReadDir keys a
// local folder. Files elsewhere in the tree are left out.
func (f Files) Under(dir string) Files {
	out := Files{}
	for p, b := range f {
		if rel, ok := Rel(p, dir); ok {
			out[rel] = b
		}
	}
	return out
}

// Rel returns the repository path p relative to the folder dir ("" or "."
// is the root), and whether p is below dir at all.
func Rel(p, dir string) (string, bool) {
	dir = path.Clean("/" + dir)[1:]
	switch {
	case dir == "":
		return p, true
	case strings.HasPrefix(p, dir+"/"):
		return strings.TrimPrefix(p, dir+"/"), true
	}
	return "", false
}
