package slack

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/trueup-dev/trueup/notifications"
)

var titles = map[notifications.Kind]string{
	notifications.KindDriftOpened:         "Drift detected",
	notifications.KindDriftUpdated:        "Drift changed",
	notifications.KindDriftResolved:       "Drift resolved",
	notifications.KindApplySucceeded:      "Applied",
	notifications.KindApplyFailed:         "Apply failed",
	notifications.KindPruneBlocked:        "Prune blocked",
	notifications.KindSourceFailed:        "Source failed",
	notifications.KindComplianceViolation: "Compliance violation",
	notifications.KindComplianceResolved:  "Compliance resolved",
	notifications.KindFreezeHeld:          "Freeze: revision held",
	notifications.KindTest:                "Test notification",
}

// title names the kind for people.
func title(k notifications.Kind) string {
	if t, ok := titles[k]; ok {
		return t
	}
	return escape(cutRunes(string(k), 40))
}

// emoji shows the severity at a glance; resolutions and successes are green.
func emoji(ev notifications.Event) string {
	switch {
	case ev.Kind.Resolves() || ev.Kind == notifications.KindApplySucceeded:
		return ":white_check_mark:"
	case ev.Kind == notifications.KindTest:
		return ":wave:"
	case ev.Severity >= notifications.SeverityCritical:
		return ":red_circle:"
	case ev.Severity == notifications.SeverityWarning:
		return ":large_orange_circle:"
	default:
		return ":large_blue_circle:"
	}
}

// summary says in one sentence what happened and what trueup will do.
func summary(ev notifications.Event) string {
	obj, dest := code(ev.Object), destination(ev)
	switch ev.Kind {
	case notifications.KindDriftOpened, notifications.KindDriftUpdated:
		return fmt.Sprintf("%s on %s differs from Git in %s. %s", obj, dest, plural(len(ev.Fields), "field"), modeSentence(ev.Mode))
	case notifications.KindDriftResolved, notifications.KindComplianceResolved:
		return resolvedSummary(ev)
	case notifications.KindApplySucceeded:
		return fmt.Sprintf("Revision %s is applied to %s.", code(ev.Revision), dest)
	case notifications.KindApplyFailed:
		return fmt.Sprintf("Applying revision %s to %s failed. The previous state stays live; trueup retries on the next reconcile.", code(ev.Revision), dest)
	case notifications.KindPruneBlocked:
		return fmt.Sprintf("trueup did not prune on %s: a safety limit blocked it and nothing was deleted.", dest)
	case notifications.KindSourceFailed:
		return fmt.Sprintf("trueup could not read the desired state for %s; nothing was applied or pruned until it can.", dest)
	case notifications.KindComplianceViolation:
		return fmt.Sprintf("%s on %s violates policy *%s*.", obj, dest, escape(ev.Policy))
	case notifications.KindFreezeHeld:
		return fmt.Sprintf("A freeze window holds revision %s for %s: nothing new is applied until the window ends, or an operator overrides the freeze.", code(ev.Revision), dest)
	case notifications.KindTest:
		return escapeBlock(cutRunes(or(ev.Message, "trueup can post here: this notifier works."), 2000))
	default:
		return fmt.Sprintf("%s on %s.", obj, dest)
	}
}

func resolvedSummary(ev notifications.Event) string {
	what := "Drift"
	if ev.Kind == notifications.KindComplianceResolved {
		what = "The policy violation"
	}
	s := fmt.Sprintf("%s on %s is *resolved*", what, code(ev.Object))
	if r := resolutionText(ev.Resolution); r != "" {
		s += ": " + r
	}
	if !ev.Time.IsZero() {
		s += " at " + timestamp(ev.Time)
	}
	return s + "."
}

func resolutionText(r string) string {
	switch r {
	case notifications.ResolutionHealed:
		return "*healed*, reverted to Git"
	case notifications.ResolutionAdopted:
		return "*adopted*, Git now holds the live value"
	case notifications.ResolutionAccepted:
		return "*accepted* as it is"
	case notifications.ResolutionGone:
		return "*gone*, the object no longer exists"
	case "":
		return ""
	default:
		return "*" + escape(cutRunes(r, 40)) + "*"
	}
}

func modeSentence(mode string) string {
	switch mode {
	case notifications.ModeHeal:
		return "trueup will *revert it to Git*."
	case notifications.ModePullRequest:
		return "trueup will *open a pull request* to adopt the live value into Git."
	case notifications.ModeAlert:
		return "trueup will *not change it* (alert only)."
	default:
		return ""
	}
}

func modeText(mode string) string {
	switch mode {
	case notifications.ModeHeal:
		return "heal (revert to Git)"
	case notifications.ModePullRequest:
		return "pull request (adopt into Git)"
	case notifications.ModeAlert:
		return "alert only"
	default:
		return escape(cutRunes(mode, 40))
	}
}

// destination is "cluster *name*" or "account *name*".
func destination(ev notifications.Event) string {
	kind := ev.Destination.Kind
	if kind != notifications.DestinationCluster && kind != notifications.DestinationAccount {
		kind = "target"
		if ev.Destination.Name == "" {
			return "target *" + escape(cutRunes(ev.Target, 200)) + "*"
		}
	}
	return kind + " *" + escape(cutRunes(ev.Destination.Name, 200)) + "*"
}

// code is inline code for an identifier; "-" when empty.
func code(s string) string {
	if s == "" {
		return "-"
	}
	return "`" + strings.ReplaceAll(escape(cutRunes(s, 300)), "`", "'") + "`"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// facts are the section fields, at most MaxFields, each cut to MaxFieldText.
func facts(ev notifications.Event) []*slack.TextBlockObject {
	var out []*slack.TextBlockObject
	add := func(label, value string) {
		if value != "" && len(out) < MaxFields {
			out = append(out, mrkdwn(fit("*"+label+"*\n"+value, MaxFieldText)))
		}
	}
	add(destLabel(ev.Destination.Kind), escape(cutRunes(ev.Destination.Name, 500)))
	add("Object", escape(cutRunes(ev.Object, 500)))
	add("Revision", revision(ev))
	if !ev.Since.IsZero() {
		add(sinceLabel(ev.Kind), since(ev))
	}
	add("Changed by", escape(cutRunes(ev.Actor, 500)))
	add("Mode", modeText(ev.Mode))
	add("Policy", escape(cutRunes(ev.Policy, 500)))
	if ev.Kind.Resolves() {
		add("Resolution", escape(cutRunes(ev.Resolution, 100)))
	}
	return out
}

func destLabel(kind string) string {
	switch kind {
	case notifications.DestinationCluster:
		return "Cluster"
	case notifications.DestinationAccount:
		return "Account"
	default:
		return "Destination"
	}
}

func sinceLabel(k notifications.Kind) string {
	if strings.HasPrefix(string(k), "drift.") {
		return "Drifted since"
	}
	return "Since"
}

func revision(ev notifications.Event) string {
	if ev.Revision == "" {
		return ""
	}
	if l := link(ev.CommitURL, cutRunes(ev.Revision, 80)); l != "" {
		return l
	}
	return escape(cutRunes(ev.Revision, 500))
}

// since is "2026-03-01 02:14 UTC (for 1h5m)", the duration up to the event.
func since(ev notifications.Event) string {
	s := timestamp(ev.Since)
	if d := ev.Time.Sub(ev.Since); !ev.Time.IsZero() && d >= time.Minute {
		s += " (for " + duration(d) + ")"
	}
	return s
}

func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// duration is a compact, minute-rounded duration: 45m, 3h12m, 2d3h.
func duration(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case d < time.Minute:
		return "less than a minute"
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh%dm", hours, mins)
	default:
		return fmt.Sprintf("%dm", mins)
	}
}

// messageText is the error or policy message as a code block, or "".
func messageText(ev notifications.Event) string {
	if ev.Message == "" {
		return ""
	}
	label := "*Details*"
	switch ev.Kind {
	case notifications.KindApplyFailed, notifications.KindSourceFailed:
		label = "*Error*"
	case notifications.KindComplianceViolation, notifications.KindComplianceResolved:
		label = "*Policy message*"
	case notifications.KindTest:
		return "" // the summary is the message
	}
	return fit(label+"\n"+fence+"\n"+escapeBlock(cutRunes(ev.Message, 4000))+"\n"+fence, MaxSectionText)
}

// contextElements are the links and the episode id.
func contextElements(ev notifications.Event, opts RenderOptions) []slack.MixedElement {
	var out []slack.MixedElement
	add := func(s string) {
		if s != "" && len(out) < MaxContextElements {
			out = append(out, mrkdwn(fit(s, MaxContextText)))
		}
	}
	if ev.Revision == "" { // otherwise the Revision field links the commit
		add(link(ev.CommitURL, "Commit"))
	}
	add(link(ev.PRURL, "Pull request"))
	add(link(detailsURL(ev, opts.PublicURL), "Open in trueup"))
	if ev.Episode != "" {
		add("Episode " + escape(cutRunes(ev.Episode, 200)))
	}
	return out
}

// detailsURL is the event's own page, else trueup's page for the episode
// or the target when the server has a public URL.
func detailsURL(ev notifications.Event, public string) string {
	if ev.DetailsURL != "" || public == "" {
		return ev.DetailsURL
	}
	base := strings.TrimRight(public, "/")
	if ev.Episode != "" {
		return base + "/episodes/" + url.PathEscape(ev.Episode)
	}
	if ev.Target != "" {
		return base + "/targets/" + url.PathEscape(ev.Target)
	}
	return ""
}
