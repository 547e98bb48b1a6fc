package slack

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slack's Block Kit limits, in characters. Lengths are measured in UTF-16
// code units (what Slack counts), which is never less than the rune count.
const (
	MaxHeaderText      = 150
	MaxSectionText     = 3000
	MaxFields          = 10
	MaxFieldText       = 2000
	MaxContextElements = 10
	MaxContextText     = 2000
	MaxBlocks          = 50
	MaxMessageText     = 40000
)

// maxFallbackText caps the message's text fallback (notifications, screen
// readers) well below MaxMessageText.
const maxFallbackText = 3000

const (
	ellipsis = "…"
	fence    = "```"
	zwsp     = "\u200b"
)

// size is the length of s as Slack counts it (UTF-16 code units).
func size(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Len(r)
	}
	return n
}

func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// escape makes one line of text from Git, the cluster or a cloud safe to
// put in a Slack text object: valid UTF-8, control characters (newlines
// included) as spaces, &, < and > as entities (so no <!here>, <@U…> or link
// can be formed), no run of backticks (so no code fence can be opened or
// closed), and @here, @channel and @everyone broken by a zero-width space.
func escape(s string) string {
	return sanitize(s, false)
}

// escapeBlock is escape for multi-line text: newlines and tabs are kept.
func escapeBlock(s string) string {
	return sanitize(s, true)
}

func sanitize(s string, multiline bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if multiline && (r == '\n' || r == '\t') {
			return r
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	for strings.Contains(s, "``") {
		s = strings.ReplaceAll(s, "``", "`"+zwsp+"`")
	}
	return neutralise(s)
}

// broadcasts are the words that, after an @, notify a whole channel.
var broadcasts = []string{"here", "channel", "everyone"}

// neutralise puts a zero-width space after every @ that starts a broadcast
// mention (case-insensitively), so Slack never parses one.
func neutralise(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '@' && startsBroadcast(s[i+1:]) {
			b.WriteString(zwsp)
		}
	}
	return b.String()
}

func startsBroadcast(s string) bool {
	for _, w := range broadcasts {
		if len(s) >= len(w) && strings.EqualFold(s[:len(w)], w) {
			return true
		}
	}
	return false
}

// fit cuts s to at most limit (as size counts) at a rune boundary, ending
// it with "…". It never cuts inside an entity (&amp;) or one of our links
// (<url|label>), and closes a code fence the cut left open.
func fit(s string, limit int) string {
	if size(s) <= limit {
		return s
	}
	budget := limit - size(ellipsis) - size("\n"+fence)
	cut := prefix(s, budget)
	cut = trimOpen(cut)
	out := cut + ellipsis
	if strings.Count(out, fence)%2 == 1 {
		out += "\n" + fence
	}
	return out
}

// prefix returns the longest prefix of s whose size is at most n.
func prefix(s string, n int) string {
	used := 0
	for i, r := range s {
		used += utf16Len(r)
		if used > n {
			return s[:i]
		}
	}
	return s
}

// trimOpen drops a trailing partial entity, link or fence marker.
func trimOpen(s string) string {
	if i := strings.LastIndexByte(s, '&'); i >= 0 && !strings.Contains(s[i:], ";") {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '<'); i >= 0 && !strings.Contains(s[i:], ">") {
		s = s[:i]
	}
	return strings.TrimRight(s, "`")
}

// cutRunes shortens one piece of text to at most n runes with "…".
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + ellipsis
		}
		i++
	}
	return s
}

// link returns a Slack link <url|label>, or "" when raw is not an absolute
// http(s) URL. The label is escaped here; the URL loses any user:password
// and is encoded so it cannot end the link early or hold a mention.
func link(raw, label string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	u.User = nil // credentials never travel in a link
	s := strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C", " ", "%20", "@", "%40").Replace(u.String())
	if size(s) > 1500 {
		return ""
	}
	return "<" + s + "|" + escape(cutRunes(label, 100)) + ">"
}
