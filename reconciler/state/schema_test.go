package state

import (
	"testing"

	"github.com/hashicorp/go-memdb"
)

func TestSchema(t *testing.T) {
	s := schema()
	if err := s.Validate(); err != nil {
		t.Fatalf("schema does not validate: %v", err)
	}
	if _, err := memdb.NewMemDB(s); err != nil {
		t.Fatalf("NewMemDB: %v", err)
	}
	want := map[string][]string{
		tableTargets:  {indexID},
		tableObjects:  {indexID, indexStatus},
		tableEpisodes: {indexID, indexTarget, indexStatus, indexObject, indexOpen},
		tableThreads:  {indexID, indexOpen},
	}
	for table, indexes := range want {
		ts, ok := s.Tables[table]
		if !ok {
			t.Errorf("table %s missing", table)
			continue
		}
		for _, ix := range indexes {
			if _, ok := ts.Indexes[ix]; !ok {
				t.Errorf("table %s: index %s missing", table, ix)
			}
		}
		if len(ts.Indexes) != len(indexes) {
			t.Errorf("table %s: %d indexes, want %d", table, len(ts.Indexes), len(indexes))
		}
	}
}
