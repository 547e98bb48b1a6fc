package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// RebuildState restores the open drift episodes and the open notification
// threads from the history into s, so a restarted daemon continues the
// episodes it had instead of opening new ones.
func RebuildState(ctx context.Context, h history.Store, s *state.Store) (open int, err error) {
	episodes, err := openEpisodes(ctx, h, "")
	if err != nil {
		return 0, fmt.Errorf("rebuild state: %w", err)
	}
	if err := s.Rebuild(episodes, nil); err != nil {
		return 0, fmt.Errorf("rebuild state: %w", err)
	}
	if _, err := restoreThreads(ctx, h, s); err != nil {
		return 0, fmt.Errorf("rebuild state: notification threads: %w", err)
	}
	return len(episodes), nil
}

// RebuildTarget restores one target's open drift episodes and notification
// threads from the history into s, replacing what s held of them: a
// replica that takes a target over from another continues the other's
// episodes, in the same Slack threads, instead of opening duplicates.
func RebuildTarget(ctx context.Context, h history.Store, s *state.Store, target string) (open int, err error) {
	episodes, err := openEpisodes(ctx, h, target)
	if err != nil {
		return 0, fmt.Errorf("rebuild target %s: %w", target, err)
	}
	threads, err := openThreads(ctx, h, target)
	if err != nil {
		return 0, fmt.Errorf("rebuild target %s: notification threads: %w", target, err)
	}
	if err := s.RebuildTarget(target, episodes, threads, threadOfTarget(target)); err != nil {
		return 0, fmt.Errorf("rebuild target %s: %w", target, err)
	}
	return len(episodes), nil
}

// threadOfTarget says whether a thread's episode is one of target's: a
// drift episode (see state.EpisodeID) or a compliance finding.
func threadOfTarget(target string) func(episode string) bool {
	return func(ep string) bool {
		return strings.HasPrefix(ep, target+"/") || strings.HasPrefix(ep, "compliance/"+target+"/")
	}
}

// openEpisodes reads the latest state of every drift episode (of target,
// or of all when "") and returns the open ones, in the order they opened.
func openEpisodes(ctx context.Context, h history.Store, target string) ([]state.Episode, error) {
	latest := map[string]state.Episode{}
	var order []string
	f := history.Filter{Target: target, Types: []string{history.TypeDriftOpened, history.TypeDriftUpdated, history.TypeDriftResolved, history.TypeDriftAccepted}, Limit: 1000}
	err := pages(ctx, h, f, func(r history.Record) error {
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
		return nil, err
	}
	var episodes []state.Episode
	for _, id := range order {
		if e := latest[id]; e.Status.IsOpen() {
			episodes = append(episodes, e)
		}
	}
	return episodes, nil
}

// openThreads reads the notification records (of target, or of all when
// "") and returns the threads still open at their last delivery.
func openThreads(ctx context.Context, h history.Store, target string) ([]state.Thread, error) {
	latest := map[[2]string]notifications.Thread{}
	f := history.Filter{Target: target, Types: []string{history.TypeNotification}, Limit: 1000}
	err := pages(ctx, h, f, func(r history.Record) error {
		var d deliveryData
		if err := json.Unmarshal(r.Data, &d); err != nil {
			return fmt.Errorf("record %d: not a notification: %w", r.Seq, err)
		}
		if d.Thread != nil {
			latest[[2]string{d.Thread.Notifier, d.Thread.Episode}] = *d.Thread
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var open []state.Thread
	for _, th := range latest {
		if th.Resolved {
			continue
		}
		data, err := json.Marshal(th)
		if err != nil {
			return nil, err
		}
		open = append(open, state.Thread{Notifier: th.Notifier, Episode: th.Episode, Data: data})
	}
	return open, nil
}
