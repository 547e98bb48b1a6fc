package lease

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// Assign returns the member a target belongs to by rendezvous (highest
// random weight) hashing: each member scores hash(member, target) and the
// highest wins, ties to the smaller name. A member joining takes only the
// targets it now scores highest on; one leaving gives up only its own.
// "" when there are no members.
func Assign(members []string, target string) string {
	var (
		best  string
		score uint64
	)
	for _, m := range members {
		s := weight(m, target)
		if best == "" || s > score || (s == score && m < best) {
			best, score = m, s
		}
	}
	return best
}

func weight(member, target string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(member))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(target))
	// fnv's last bytes mix weakly into the high bits: finish with a
	// 64-bit mixer (splitmix64's) so scores spread.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// memberName is the name of a replica's membership Lease.
func memberName(id string) string { return leaseName("trueup-member-", id) }

// targetName is the name of a target's Lease.
func targetName(target string) string { return leaseName("trueup-target-", target) }

// leaseName is prefix plus s made a DNS subdomain name, with a hash of s
// so that two names that clean up alike do not share a Lease.
func leaseName(prefix, s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	clean := strings.Trim(b.String(), "-.")
	if len(clean) > 40 {
		clean = strings.Trim(clean[:40], "-.")
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return prefix + clean + "-" + strconv.FormatUint(uint64(h.Sum32()), 36)
}
