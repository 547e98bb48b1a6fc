package history

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

// driftRecord is a drift record of episode id of Deployment web.
func driftRecord(typ, id, outcome string) Record {
	return Record{Type: typ, Target: "web", Object: "Deployment.apps/prod/web", Outcome: outcome,
		Data: json.RawMessage(fmt.Sprintf(`{"ID":%q,"Status":%q}`, id, outcome))}
}

func episodeCases() []suiteCase {
	return []suiteCase{
		{name: "two processes resolving one episode store one resolution", run: func(t *testing.T, e *env) {
			const id = "web/Deployment.apps/prod/web/1"
			mustAppend(t, e.open(t), driftRecord(TypeDriftOpened, id, "open"))
			// The daemon and `trueup apply` each hold the episode open and
			// each close it, at once, through their own connections.
			var wg sync.WaitGroup
			stored := make([][]Record, 2)
			errs := make([]error, 2)
			for i, how := range []string{"resolved", "healed"} {
				s := e.open(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					stored[i], errs[i] = s.Append(context.Background(),
						Record{Type: TypeReconcile, Target: "web", Outcome: how},
						driftRecord(TypeDriftResolved, id, how))
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := len(stored[0]) + len(stored[1]); n != 3 {
				t.Fatalf("appends stored %d records, want both reconcile records and one resolution", n)
			}
			s := e.open(t)
			res, err := s.Query(context.Background(), Filter{Types: []string{TypeDriftResolved}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 {
				t.Fatalf("%d drift-resolved records of one episode, want 1: %+v", len(res), res)
			}
			// After the resolution an update of the episode is dropped too;
			// the next episode of the object opens, updates and resolves.
			const next = "web/Deployment.apps/prod/web/2"
			got := mustAppend(t, s, driftRecord(TypeDriftUpdated, id, "open"), driftRecord(TypeDriftOpened, next, "open"),
				driftRecord(TypeDriftUpdated, next, "open"), driftRecord(TypeDriftResolved, next, "healed"),
				driftRecord(TypeDriftResolved, next, "resolved"))
			if len(got) != 3 || episodeOf(got[0]) != next || got[2].Outcome != "healed" {
				t.Fatalf("stored %+v, want the opening, update and first resolution of the next episode", got)
			}
			mustVerifyOK(t, s, 7)
		}},
	}
}
