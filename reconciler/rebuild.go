package reconciler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// RebuildState restores the open drift episodes and the open notification
// threads from the history into s, so a restarted daemon continues the
// episodes it had instead of opening new ones.
func RebuildState(ctx context.Context, h history.Store, s *state.Store) (open int, err error) {
	latest := map[string]state.Episode{}
	var order []string
	f := history.Filter{Types: []string{history.TypeDriftOpened, history.TypeDriftUpdated, history.TypeDriftResolved}, Limit: 1000}
	err = pages(ctx, h, f, func(r history.Record) error {
		var e state.Episode
		if err := json.Unmarshal(r.Data, &e); err != nil || e.ID == "" {
			return fmt.Errorf("record %d: not an episode: %v", r.Seq, err)
		}
		if _, seen := latest[e.ID]; !seen {
			order = append(order, e.ID)
		}
		latest[e.ID] = e
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rebuild state: %w", err)
	}
	var episodes []state.Episode
	for _, id := range order {
		if e := latest[id]; e.Status.IsOpen() {
			episodes = append(episodes, e)
		}
	}
	if err := s.Rebuild(episodes, nil); err != nil {
		return 0, fmt.Errorf("rebuild state: %w", err)
	}
	if _, err := restoreThreads(ctx, h, s); err != nil {
		return 0, fmt.Errorf("rebuild state: notification threads: %w", err)
	}
	return len(episodes), nil
}
