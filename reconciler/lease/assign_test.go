package lease

import (
	"fmt"
	"regexp"
	"testing"
)

func TestAssignSpreadsAndMovesOnlyAShare(t *testing.T) {
	members := []string{"trueup-0", "trueup-1", "trueup-2"}
	var targets []string
	for i := range 300 {
		targets = append(targets, fmt.Sprintf("team-%d", i))
	}
	count := map[string]int{}
	before := map[string]string{}
	for _, tg := range targets {
		m := Assign(members, tg)
		count[m]++
		before[tg] = m
	}
	for _, m := range members {
		if count[m] < 60 { // a fair share is 100
			t.Errorf("%s got %d of 300 targets: %v", m, count[m], count)
		}
	}
	// One more member: only targets that go to it move.
	joined := append(append([]string(nil), members...), "trueup-3")
	moved := 0
	for _, tg := range targets {
		after := Assign(joined, tg)
		if after != before[tg] {
			moved++
			if after != "trueup-3" {
				t.Errorf("target %s moved from %s to %s, not to the new member", tg, before[tg], after)
			}
		}
	}
	if moved == 0 || moved > 120 {
		t.Errorf("%d of 300 targets moved to the new member, want about 75", moved)
	}
	// A member leaving: only its own targets move.
	left := []string{"trueup-0", "trueup-2"}
	for _, tg := range targets {
		if before[tg] != "trueup-1" && Assign(left, tg) != before[tg] {
			t.Errorf("target %s of %s moved when trueup-1 left", tg, before[tg])
		}
	}
	if Assign(nil, "x") != "" {
		t.Error("no members must assign no one")
	}
}

func TestLeaseNames(t *testing.T) {
	dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	seen := map[string]string{}
	for _, s := range []string{"web", "Web", "team_a/web", "team-a-web", "a.b", "x" + string(make([]byte, 0)) + "very-long-target-name-that-goes-on-and-on-and-on-beyond-forty"} {
		n := targetName(s)
		if len(n) > 63 || !dns.MatchString(n) {
			t.Errorf("lease name %q of %q is not a DNS name of at most 63", n, s)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("targets %q and %q share the lease %s", s, other, n)
		}
		seen[n] = s
	}
}
