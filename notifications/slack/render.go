package slack

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/trueup-dev/trueup/notifications"
)

// Payload is a Slack message: the text fallback and the blocks, marshalled
// as Slack receives them.
type Payload struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

// RenderOptions are the per-notifier knobs of rendering.
type RenderOptions struct {
	// PublicURL is trueup's own base URL; when set, messages link to
	// PublicURL/episodes/<episode> (or /targets/<target>) unless the event
	// has a DetailsURL.
	PublicURL string
}

// Render returns the message for ev as posted: a header with severity,
// what happened and the target; a summary saying what trueup will do;
// facts (cluster or account, object, revision, since, actor, mode); the
// field-level diff; the error or policy message; links. Masked fields show
// <masked> whatever their values; every text from outside is escaped and cut
// to Slack's limits.
func Render(ev notifications.Event, opts RenderOptions) Payload {
	ev = ev.Redacted()
	header := fmt.Sprintf("%s %s · %s", emoji(ev), severityName(ev.Severity), title(ev.Kind))
	if ev.Target != "" {
		header += " · " + escape(ev.Target)
	}
	return assemble(ev, opts, header, summary(ev), true)
}

// RenderMessage returns the payload for a dispatcher message: the event,
// a reminder, a flapping note, or the resolved parent.
func RenderMessage(m notifications.Message, opts RenderOptions) Payload {
	switch {
	case m.Op == notifications.OpUpdate:
		return renderResolvedParent(m.Thread.Last, m.Event, opts)
	case m.Note == notifications.NoteReminder:
		return renderReminder(m.Event, opts)
	case m.Note == notifications.NoteFlapping:
		return renderFlapping(m.Event, m.Flapping, opts)
	default:
		return Render(m.Event, opts)
	}
}

// renderResolvedParent is the episode's parent after resolution: a
// resolved header, how and when, and the last known facts and diff.
func renderResolvedParent(last, resolved notifications.Event, opts RenderOptions) Payload {
	if last.Kind == "" {
		last = resolved
	}
	last = last.Redacted()
	links := last
	links.CommitURL = or(resolved.CommitURL, last.CommitURL)
	links.PRURL = or(resolved.PRURL, last.PRURL)
	links.DetailsURL = or(resolved.DetailsURL, last.DetailsURL)
	header := fmt.Sprintf(":white_check_mark: Resolved · %s · %s", title(last.Kind), escape(last.Target))
	p := assemble(links, opts, header, resolvedSummary(resolved), false)
	p.Text = fit(fmt.Sprintf("Resolved: %s · %s · %s", title(last.Kind), escape(last.Target), escape(last.Object)), maxFallbackText)
	return p
}

func renderReminder(ev notifications.Event, opts RenderOptions) Payload {
	ev = ev.Redacted()
	header := fmt.Sprintf(":alarm_clock: Still open · %s · %s", title(ev.Kind), escape(ev.Target))
	text := "*Reminder:* this is still open."
	if !ev.Since.IsZero() {
		text = fmt.Sprintf("*Reminder:* still open since %s.", since(ev))
	}
	return assemble(ev, opts, header, text+" "+summary(ev), true)
}

func renderFlapping(ev notifications.Event, f notifications.Flapping, opts RenderOptions) Payload {
	ev = ev.Redacted()
	header := fmt.Sprintf(":repeat: Flapping · %s · %s", escape(ev.Target), escape(ev.Object))
	text := fmt.Sprintf("`%s` on %s opened %d episodes in the last %s: it is flapping. "+
		"trueup suppresses new alerts for it until it settles; open episodes keep their threads.",
		escape(ev.Object), destination(ev), f.Opens, duration(f.Window))
	ev.Fields = nil
	p := assemble(ev, opts, header, text, false)
	p.Text = fit("Flapping: "+escape(ev.Object)+" on "+escape(ev.Target), maxFallbackText)
	return p
}

// assemble builds the blocks shared by every message shape.
func assemble(ev notifications.Event, opts RenderOptions, header, summaryText string, withMessage bool) Payload {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(fit(header, MaxHeaderText))),
		slack.NewSectionBlock(mrkdwn(fit(summaryText, MaxSectionText)), nil, nil),
	}
	if facts := facts(ev); len(facts) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, facts, nil))
	}
	if diff := diffText(ev); diff != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(diff), nil, nil))
	}
	if msg := messageText(ev); withMessage && msg != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(msg), nil, nil))
	}
	if ctx := contextElements(ev, opts); len(ctx) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", ctx...))
	}
	return Payload{Text: fallback(ev), Blocks: blocks}
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// mrkdwn is a verbatim mrkdwn text: Slack parses only the explicit
// <…> syntax, which escape rules out for text from outside.
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

// fallback is the message's text: what a notification or screen reader shows.
func fallback(ev notifications.Event) string {
	s := severityName(ev.Severity) + " · " + title(ev.Kind)
	for _, part := range []string{ev.Target, ev.Object} {
		if part != "" {
			s += " · " + escape(cutRunes(part, 500))
		}
	}
	return fit(s, maxFallbackText)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// severityName is the capitalised severity.
func severityName(s notifications.Severity) string {
	name := s.String()
	return strings.ToUpper(name[:1]) + name[1:]
}
