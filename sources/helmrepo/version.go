package helmrepo

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// resolveVersion picks from available the version that want names: the
// exact string if it is there, else the highest semver version that the
// range want allows ("" allows every stable version). Entries that are not
// semver are ignored for ranges.
func resolveVersion(want string, available []string) (string, error) {
	want = strings.TrimSpace(want)
	if want != "" {
		for _, v := range available {
			if v == want {
				return v, nil
			}
		}
	}
	rng := want
	if rng == "" {
		rng = "*"
	}
	con, err := semver.NewConstraint(rng)
	if err != nil {
		return "", fmt.Errorf("%w: version %q is neither a version nor a semver range: %v", ErrInvalid, want, err)
	}
	var best *semver.Version
	bestRaw := ""
	for _, raw := range available {
		v, err := semver.NewVersion(raw)
		if err != nil || !con.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestRaw = v, raw
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: no version matches %q (%d versions listed)", ErrNotFound, want, len(available))
	}
	return bestRaw, nil
}
