package history

import (
	"context"
	"encoding/json"
	"fmt"
)

// An episode closes once. Drift records (drift-opened, drift-updated,
// drift-resolved) are about one drift episode, whose id their Data carries
// as its "ID" member. Every process that shares the history (the daemon,
// `trueup apply`) keeps its own view of the open episodes, so two of them
// can close the same episode, each its own way (resolved, healed). Append
// therefore drops, under the chain's lock, a drift-updated or
// drift-resolved record of an episode that the chain (or the batch before
// it) already resolved: whoever resolves first writes the one resolution.

// episodePage is how many drift records of an object episodeResolved
// reads at a time, newest first.
const episodePage = 100

// episodeOf is the episode id of a drift record, or "" for other records.
func episodeOf(r Record) string {
	if r.Type != TypeDriftOpened && r.Type != TypeDriftUpdated && r.Type != TypeDriftResolved {
		return ""
	}
	var e struct {
		ID string `json:"ID"`
	}
	if json.Unmarshal(r.Data, &e) != nil {
		return ""
	}
	return e.ID
}

// dropResolvedEpisodes returns recs without the drift-updated and
// drift-resolved records of episodes already resolved, as q (the writer's
// transaction) sees the chain.
func (s *sqlStore) dropResolvedEpisodes(ctx context.Context, q querier, recs []Record) ([]Record, error) {
	resolved := map[string]bool{}
	kept := recs[:0:0]
	for _, r := range recs {
		id := episodeOf(r)
		if id == "" || r.Type == TypeDriftOpened {
			kept = append(kept, r)
			continue
		}
		if _, known := resolved[id]; !known {
			done, err := s.episodeResolved(ctx, q, r.Target, r.Object, id)
			if err != nil {
				return nil, fmt.Errorf("episode %s: %w", id, err)
			}
			resolved[id] = done
		}
		if resolved[id] {
			continue
		}
		kept = append(kept, r)
		if r.Type == TypeDriftResolved {
			resolved[id] = true
		}
	}
	return kept, nil
}

// episodeResolved walks the object's drift records back from the head to
// the episode's opening and reports whether one of them resolved it.
func (s *sqlStore) episodeResolved(ctx context.Context, q querier, target, object, id string) (bool, error) {
	f := Filter{Target: target, Object: object, Types: []string{TypeDriftOpened, TypeDriftResolved}, Desc: true}
	for {
		recs, err := s.query(ctx, q, f, episodePage, 0)
		if err != nil {
			return false, fmt.Errorf("read its drift records: %w", err)
		}
		for _, r := range recs {
			if episodeOf(r) != id {
				continue
			}
			return r.Type == TypeDriftResolved, nil
		}
		if len(recs) < episodePage {
			return false, nil
		}
		f.AfterSeq = recs[len(recs)-1].Seq
	}
}
