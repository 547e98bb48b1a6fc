package slack

import (
	"fmt"
	"strings"

	"github.com/trueup-dev/trueup/notifications"
)

// Caps on one diff line's parts, in runes, so one huge value cannot crowd
// out every other field.
const (
	maxPathRunes  = 300
	maxValueRunes = 400
	maxActorRunes = 100
	// maxLineSize keeps at least two lines in a section even when escaping
	// blows every character up to an entity.
	maxLineSize = 1400
)

const diffHeading = "*Changed fields*\n"

// diffText is the field-level diff as a code block, one
// `path: git: G  live: L` line per field (notifications.GitLive), as many as fit in a section, then "… and N more fields".
// Masked fields always show <masked>. "" when the event has no fields.
func diffText(ev notifications.Event) string {
	if len(ev.Fields) == 0 {
		return ""
	}
	tail := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf("\n%s and %s", ellipsis, plural(n, "more field"))
	}
	budget := MaxSectionText - size(diffHeading+fence+"\n"+"\n"+fence) - size(tail(len(ev.Fields)))
	var lines []string
	used := 0
	for _, f := range ev.Fields {
		line := diffLine(f, ev.Actor)
		if used+size(line)+1 > budget {
			break
		}
		lines = append(lines, line)
		used += size(line) + 1
	}
	return diffHeading + fence + "\n" + strings.Join(lines, "\n") + "\n" + fence + tail(len(ev.Fields)-len(lines))
}

// diffLine renders one field, naming its actor when it differs from the
// event's.
func diffLine(f notifications.Field, eventActor string) string {
	desired, live := f.Display()
	line := escape(cutRunes(f.Path, maxPathRunes)) + ": " +
		notifications.GitLive(escape(cutRunes(desired, maxValueRunes)), escape(cutRunes(live, maxValueRunes)))
	if f.Actor != "" && f.Actor != eventActor {
		line += "  (by " + escape(cutRunes(f.Actor, maxActorRunes)) + ")"
	}
	return fit(line, maxLineSize)
}
