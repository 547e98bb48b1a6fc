package reconciler

import (
	"net/url"
	"strings"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// Publisher takes the events of a reconcile. It must not block: the
// notification pipeline queues and delivers on its own time.
type Publisher interface {
	Publish(notifications.Event)
}

// WithPublisher sends drift, apply, prune and source events to p.
func WithPublisher(p Publisher) Option { return func(r *Reconciler) { r.publisher = p } }

// episodeChange is one drift episode transition of a reconcile.
type episodeChange struct {
	Episode    state.Episode
	Transition state.Transition
}

// eventContext is what the events of one reconcile share.
type eventContext struct {
	target      *config.Target
	destination notifications.Destination
	commitURL   string
	publicURL   string
}

// outcomeEvents turns a reconcile into events. It is quiet for no-op
// reconciles: drift events come from episode transitions only (an unchanged
// episode gives none), a failure is told when its message differs from the
// previous reconcile's, an apply only when it changed something.
func outcomeEvents(ec eventContext, out, prev *Outcome, changes []episodeChange) []notifications.Event {
	if out.DryRun {
		return nil
	}
	var evs []notifications.Event
	for _, c := range changes {
		evs = append(evs, episodeEvent(ec, out, c))
	}
	base := ec.event(out)
	switch {
	case out.Err != nil && (prev == nil || prev.Error() != out.Error()):
		base.Kind, base.Severity, base.Message = notifications.KindApplyFailed, notifications.SeverityCritical, out.Error()
		if s := out.FailedStage(); s == StageSource || s == StageRender {
			base.Kind, base.Severity = notifications.KindSourceFailed, notifications.SeverityWarning
		}
		evs = append(evs, base)
	case out.Err == nil && out.Action == ActionApplied && out.Changed():
		base.Kind, base.Severity, base.Message = notifications.KindApplySucceeded, notifications.SeverityInfo, out.Apply.Summary()
		evs = append(evs, base)
	}
	evs = append(evs, guardEvents(ec, out)...)
	for _, c := range out.complianceChanges {
		if ev, ok := complianceEvent(ec, out, c); ok {
			evs = append(evs, ev)
		}
	}
	if out.PruneBlocked != "" {
		pb := ec.event(out)
		pb.Kind, pb.Severity, pb.Message = notifications.KindPruneBlocked, notifications.SeverityWarning, out.PruneBlocked
		evs = append(evs, pb)
	}
	return evs
}

// event is the part every event of the reconcile shares.
func (ec eventContext) event(out *Outcome) notifications.Event {
	ev := notifications.Event{
		Target: out.Target, TargetLabels: ec.target.Labels, Destination: ec.destination,
		Revision: out.Revision.Commit, Time: out.Start.Add(out.Duration),
		Mode: ec.target.Remediation.Drift,
	}
	if out.Revision.Commit != "" && ec.commitURL != "" {
		ev.CommitURL = ec.commitURL + out.Revision.Commit
	}
	if ec.publicURL != "" {
		ev.DetailsURL = strings.TrimSuffix(ec.publicURL, "/") + "/targets/" + url.PathEscape(out.Target)
	}
	return ev
}

// episodeEvent is the event of one drift episode transition. Resolutions
// keep the episode's severity, so they reach every notifier that got the
// opening and can close its thread.
func episodeEvent(ec eventContext, out *Outcome, c episodeChange) notifications.Event {
	e := c.Episode
	ev := ec.event(out)
	ev.Severity = notifications.SeverityWarning
	ev.Object, ev.Episode, ev.Since, ev.PRURL = e.Object, e.ID, e.Opened, e.PullRequest
	if e.Actor != nil {
		ev.Actor = actorName(*e.Actor)
	}
	ev.Fields = eventFields(e.Fields)
	switch c.Transition.Kind {
	case state.TransitionOpened:
		ev.Kind = notifications.KindDriftOpened
	case state.TransitionUpdated:
		ev.Kind = notifications.KindDriftUpdated
	default:
		ev.Kind, ev.Resolution = notifications.KindDriftResolved, string(c.Transition.How)
	}
	if e.Drift == drift.Missing && c.Transition.Kind != state.TransitionResolved {
		ev.Message = "the object is missing from the " + ec.destination.Kind
	}
	return ev
}

// eventFields converts masked drift fields; values the detector masked stay
// masked markers.
func eventFields(fields []drift.FieldDiff) []notifications.Field {
	out := make([]notifications.Field, 0, len(fields))
	for _, f := range fields {
		nf := notifications.Field{Path: f.Path, Live: f.Live, Desired: f.Desired, Masked: f.Masked, LiveDigest: f.LiveDigest}
		if f.Actor != nil {
			nf.Actor = actorName(*f.Actor)
		}
		out = append(out, nf)
	}
	return out
}

// actorName is the field manager, the cloud principal, or why the actor is
// unknown.
func actorName(a drift.Actor) string { return a.Name() }

// commitURLPrefix returns the web address prefix of a commit of an http(s)
// Git source (GitHub, Gitea and GitLab all answer /commit/<sha>), or "".
// Credentials in the URL never reach the link.
func commitURLPrefix(src *config.Source) string {
	u, err := url.Parse(src.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), ".git") + "/commit/"
}

// publish sends the outcome's events, when a publisher is set.
func (r *Reconciler) publish(out, prev *Outcome, changes []episodeChange) {
	if r.publisher == nil {
		return
	}
	t, ok := r.cfg.Target(out.Target)
	if !ok {
		return
	}
	ec := eventContext{target: t, publicURL: r.cfg.Server.PublicURL,
		destination: notifications.Destination{Kind: notifications.DestinationCluster, Name: t.Cluster}}
	if t.Account != "" {
		ec.destination = notifications.Destination{Kind: notifications.DestinationAccount, Name: t.Account}
	}
	if src, ok := r.cfg.Source(t.Source); ok {
		ec.commitURL = commitURLPrefix(src)
	}
	for _, ev := range outcomeEvents(ec, out, prev, changes) {
		r.publisher.Publish(ev)
	}
}
