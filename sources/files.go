package sources

import (
	"path"
	"strings"
)

// Under returns the files below dir (a slash-separated folder of the
// tree, "" or "." for the root), keyed relative to dir, as ReadDir keys a
// local folder. Files elsewhere in the tree are left out.
func (f Files) Under(dir string) Files {
	dir = path.Clean("/" + dir)[1:]
	out := Files{}
	for p, b := range f {
		switch {
		case dir == "":
			out[p] = b
		case strings.HasPrefix(p, dir+"/"):
			out[strings.TrimPrefix(p, dir+"/")] = b
		}
	}
	return out
}
