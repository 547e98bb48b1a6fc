package slack

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trueup-dev/trueup/fixtures/golden"
	"github.com/trueup-dev/trueup/notifications"
)

var goldenDir = filepath.Join("..", "..", "fixtures", "notifications", "golden")

var (
	t0      = time.Date(2026, 3, 1, 2, 14, 0, 0, time.UTC)
	opts    = RenderOptions{PublicURL: "https://trueup.example.com"}
	webProd = notifications.Event{
		Severity: notifications.SeverityWarning, Target: "web-prod",
		TargetLabels: map[string]string{"team": "web"},
		Destination:  notifications.Destination{Kind: notifications.DestinationCluster, Name: "prod-eu"},
		Object:       "Deployment.apps/prod/web", Episode: "ep-7f3a",
		Revision:  "main@sha1:4be1c3d9a0e2",
		CommitURL: "https://git.example.com/platform/web/commit/4be1c3d9a0e2",
		Since:     t0.Add(-65 * time.Minute), Actor: "kubectl-edit", Mode: notifications.ModeAlert,
		Time: t0,
	}
	driftFields = []notifications.Field{
		{Path: "/spec/replicas", Desired: float64(3), Live: float64(5), Actor: "kubectl-scale"},
		{Path: "/spec/template/spec/containers/0/image", Desired: "ghcr.io/acme/web:1.4.2", Live: "ghcr.io/acme/web:debug"},
		{Path: "/spec/template/spec/containers/0/env/0/value", Desired: "s3cr3t-from-git", Live: "s3cr3t-live", Masked: true},
	}
)

// goldenEvents is one event per kind, as the reconciler would send them.
func goldenEvents() map[string]notifications.Event {
	with := func(mut func(*notifications.Event)) notifications.Event {
		ev := webProd
		mut(&ev)
		return ev
	}
	return map[string]notifications.Event{
		"drift.opened": with(func(e *notifications.Event) {
			e.Kind, e.Fields = notifications.KindDriftOpened, driftFields
		}),
		"drift.updated": with(func(e *notifications.Event) {
			e.Kind, e.Severity, e.Mode = notifications.KindDriftUpdated, notifications.SeverityCritical, notifications.ModePullRequest
			e.Fields = driftFields[:2]
			e.PRURL = "https://git.example.com/platform/web/pulls/42"
		}),
		"drift.resolved": with(func(e *notifications.Event) {
			e.Kind, e.Resolution, e.Mode = notifications.KindDriftResolved, notifications.ResolutionHealed, notifications.ModeHeal
			e.Time = t0.Add(3 * time.Minute)
		}),
		"apply.succeeded": with(func(e *notifications.Event) {
			e.Kind, e.Severity, e.Episode, e.Object, e.Actor, e.Since, e.Mode =
				notifications.KindApplySucceeded, notifications.SeverityInfo, "", "", "alice@example.com", time.Time{}, ""
		}),
		"apply.failed": with(func(e *notifications.Event) {
			e.Kind, e.Severity, e.Episode, e.Since, e.Mode = notifications.KindApplyFailed, notifications.SeverityCritical, "", time.Time{}, ""
			e.Message = "Deployment.apps/prod/web: dry-run apply: admission webhook \"policy.acme.io\" denied the request: <image> must be pinned & signed @here"
		}),
		"prune.blocked": with(func(e *notifications.Event) {
			e.Kind, e.Episode, e.Object, e.Since, e.Mode, e.Actor = notifications.KindPruneBlocked, "", "", time.Time{}, "", ""
			e.Message = "prune would delete 14 objects; the limit for web-prod is 10"
		}),
		"freeze.held": with(func(e *notifications.Event) {
			e.Kind, e.Episode, e.Object, e.Since, e.Mode, e.Actor = notifications.KindFreezeHeld, "", "", time.Time{}, "", ""
			e.Message = `freeze window "weekend" holds revision 4be1c3d9a0e2 until 2026-12-07T07:00:00Z`
		}),
		"source.failed": with(func(e *notifications.Event) {
			e.Kind, e.Severity, e.Episode, e.Object, e.Since, e.Mode, e.Actor, e.CommitURL =
				notifications.KindSourceFailed, notifications.SeverityCritical, "", "", time.Time{}, "", "", ""
			e.Message = "source platform: verify main@sha1:4be1c3d9a0e2: commit is not signed by a trusted key"
		}),
		"compliance.violation": with(func(e *notifications.Event) {
			e.Kind, e.Episode, e.Mode, e.CommitURL, e.Revision = notifications.KindComplianceViolation, "finding-s3-public", "", "", ""
			e.Destination = notifications.Destination{Kind: notifications.DestinationAccount, Name: "aws-prod"}
			e.Target, e.Object, e.Actor = "aws-buckets", "Bucket.s3.aws/eu-west-1/acme-logs", "arn:aws:iam::123456789012:role/ops"
			e.Policy, e.Message = "s3-no-public-access", "bucket acme-logs allows public read through its ACL"
		}),
		"compliance.resolved": with(func(e *notifications.Event) {
			e.Kind, e.Episode, e.Mode, e.CommitURL, e.Revision = notifications.KindComplianceResolved, "finding-s3-public", "", "", ""
			e.Destination = notifications.Destination{Kind: notifications.DestinationAccount, Name: "aws-prod"}
			e.Target, e.Object, e.Actor = "aws-buckets", "Bucket.s3.aws/eu-west-1/acme-logs", ""
			e.Policy, e.Resolution = "s3-no-public-access", notifications.ResolutionAccepted
		}),
		"test": notifications.TestEvent(t0),
	}
}

// goldenMessages are the dispatcher's own message shapes.
func goldenMessages() map[string]notifications.Message {
	evs := goldenEvents()
	opened := evs["drift.opened"]
	reminder := opened
	reminder.Time = t0.Add(4 * time.Hour)
	return map[string]notifications.Message{
		"drift.opened.reminder": {Op: notifications.OpReply, Note: notifications.NoteReminder, Event: reminder},
		"drift.opened.flapping": {Op: notifications.OpPost, Note: notifications.NoteFlapping, Event: opened,
			Flapping: notifications.Flapping{Opens: 6, Window: 15 * time.Minute}},
		"drift.resolved.parent": {Op: notifications.OpUpdate, Event: evs["drift.resolved"],
			Thread: notifications.Thread{Channel: "C1", TS: "1.1", Last: opened}},
	}
}

func TestRenderGolden(t *testing.T) {
	got := map[string]Payload{}
	for name, ev := range goldenEvents() {
		got[name] = Render(ev, opts)
	}
	for name, m := range goldenMessages() {
		got[name] = RenderMessage(m, opts)
	}
	if len(got) != len(notifications.Kinds())+3 {
		t.Fatalf("%d golden payloads, want one per kind plus 3", len(got))
	}
	for name, p := range got {
		t.Run(name, func(t *testing.T) {
			checkPayload(t, p)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // readable golden files; Slack decodes both forms
			enc.SetIndent("", "  ")
			if err := enc.Encode(p); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join(goldenDir, name+".json"), buf.String())
		})
	}
}

func TestRenderContent(t *testing.T) {
	evs := goldenEvents()
	tests := []struct {
		name    string
		payload Payload
		want    []string
		notWant []string
	}{
		{"drift says what, where, who, since when and what trueup does", Render(evs["drift.opened"], opts), []string{
			":large_orange_circle: Warning · Drift detected · web-prod",
			"`Deployment.apps/prod/web` on cluster *prod-eu* differs from Git in 3 fields. trueup will *not change it* (alert only).",
			"*Cluster*\nprod-eu", "*Changed by*\nkubectl-edit", "*Drifted since*\n2026-03-01 01:09 UTC (for 1h5m)",
			"*Revision*\n<https://git.example.com/platform/web/commit/4be1c3d9a0e2|main@sha1:4be1c3d9a0e2>",
			"/spec/replicas: git: 3  live: 5  (by kubectl-scale)",
			"/spec/template/spec/containers/0/env/0/value: git: &lt;masked&gt;  live: &lt;masked&gt;",
			"<https://trueup.example.com/episodes/ep-7f3a|Open in trueup>",
		}, []string{"s3cr3t"}},
		{"pull request mode links the PR", Render(evs["drift.updated"], opts), []string{
			"trueup will *open a pull request*", "<https://git.example.com/platform/web/pulls/42|Pull request>",
		}, nil},
		{"error text is escaped and cannot mention", Render(evs["apply.failed"], opts), []string{
			"&lt;image&gt; must be pinned &amp; signed @\u200bhere",
		}, []string{"<image>", "@here"}},
		{"without public URL no trueup link", Render(evs["apply.failed"], RenderOptions{}), nil, []string{"Open in trueup"}},
		{"resolved parent", RenderMessage(goldenMessages()["drift.resolved.parent"], opts), []string{
			":white_check_mark: Resolved · Drift detected · web-prod",
			"is *resolved*: *healed*, reverted to Git at 2026-03-01 02:17 UTC.",
			"/spec/replicas: git: 3  live: 5",
		}, []string{"s3cr3t", "trueup will"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPayload(t, tt.payload)
			text := texts(tt.payload)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("payload lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("payload contains %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestRenderCutsAtLimits(t *testing.T) {
	ev := webProd
	ev.Kind = notifications.KindDriftOpened
	ev.Target = strings.Repeat("t", 300)
	ev.Object = strings.Repeat("&", 3000)
	ev.Message = strings.Repeat("```\n", 2000)
	for i := range 500 {
		ev.Fields = append(ev.Fields, notifications.Field{
			Path: "/data/" + strings.Repeat("k", i%40), Desired: strings.Repeat("é", 900), Live: "😀",
		})
	}
	p := Render(ev, opts)
	checkPayload(t, p)
	text := texts(p)
	if !regexp.MustCompile(`… and \d+ more fields`).MatchString(text) {
		t.Errorf("the diff does not say how many fields it left out")
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a & b <c> d", "a &amp; b &lt;c&gt; d"},
		{"<!channel> <@U123> <https://x|y>", "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt;"},
		{"@here @Channel @EVERYONE", "@\u200bhere @\u200bChannel @\u200bEVERYONE"},
		{"user@heroku.com", "user@heroku.com"},
		{"```code```", "`\u200b`\u200b`code`\u200b`\u200b`"},
		{"line\nbreak\ttab\x00nul", "line break tab nul"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := escapeBlock("a\nb\tc"); got != "a\nb\tc" {
		t.Errorf("escapeBlock keeps lines: %q", got)
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short stays", "abc", 10, "abc"},
		{"cut with ellipsis", "abcdefghijkl", 10, "abcde…"},
		{"never inside an entity", "abcd&amp;efghij", 11, "abcd…"},
		{"never inside a link", "ab <https://x.example|label> tail", 20, "ab …"},
		{"closes a fence", "```\n" + strings.Repeat("x", 20), 16, "```\nxxxxxxx…\n```"},
		{"surrogate pairs count twice", strings.Repeat("😀", 10), 10, "😀😀…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fit(tt.in, tt.limit)
			if got != tt.want || size(got) > tt.limit {
				t.Errorf("fit(%q, %d) = %q (size %d), want %q", tt.in, tt.limit, got, size(got), tt.want)
			}
		})
	}
}

// wire is the JSON shape Slack receives, for checks.
type wire struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type     string     `json:"type"`
		Text     *wireText  `json:"text"`
		Fields   []wireText `json:"fields"`
		Elements []wireText `json:"elements"`
	} `json:"blocks"`
}

type wireText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

var (
	mention   = regexp.MustCompile(`(?i)@(here|channel|everyone)`)
	badEntity = regexp.MustCompile(`&(?:amp|lt|gt);|(&)`)
	ourLink   = regexp.MustCompile(`^<https?://[^|<>\s]+\|[^<>]*>`)
)

// checkPayload asserts that p is valid JSON within Slack's limits, with
// no mention, no unescaped text, no unclosed code fence.
func checkPayload(t *testing.T, p Payload) {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil || !json.Valid(data) {
		t.Fatalf("payload is not valid JSON: %v", err)
	}
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		t.Fatalf("payload does not decode: %v", err)
	}
	within(t, "text", w.Text, MaxMessageText)
	if len(w.Blocks) > MaxBlocks {
		t.Errorf("%d blocks > %d", len(w.Blocks), MaxBlocks)
	}
	for i, b := range w.Blocks {
		switch b.Type {
		case "header":
			within(t, "header", b.Text.Text, MaxHeaderText)
		case "section":
			if b.Text != nil {
				within(t, "section", b.Text.Text, MaxSectionText)
			}
			if len(b.Fields) > MaxFields {
				t.Errorf("block %d: %d fields > %d", i, len(b.Fields), MaxFields)
			}
			for _, f := range b.Fields {
				within(t, "field", f.Text, MaxFieldText)
			}
		case "context":
			if len(b.Elements) > MaxContextElements {
				t.Errorf("block %d: %d context elements", i, len(b.Elements))
			}
			for _, e := range b.Elements {
				within(t, "context", e.Text, MaxContextText)
			}
		default:
			t.Errorf("block %d: unexpected type %q", i, b.Type)
		}
	}
}

// within checks one text's size, UTF-8, escaping, mentions and fences.
func within(t *testing.T, what, s string, limit int) {
	t.Helper()
	if n := utf8.RuneCountInString(s); n > limit || size(s) > limit {
		t.Errorf("%s: %d runes (%d UTF-16 units) > %d", what, n, size(s), limit)
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8", what)
	}
	if m := mention.FindString(s); m != "" {
		t.Errorf("%s: contains the mention %q", what, m)
	}
	for _, m := range badEntity.FindAllStringSubmatchIndex(s, -1) {
		if m[2] >= 0 {
			t.Errorf("%s: bare & at %d: %q", what, m[2], s[m[2]:min(len(s), m[2]+12)])
		}
	}
	for i := strings.IndexByte(s, '<'); i >= 0; i = next(s, i) {
		if !ourLink.MatchString(s[i:]) {
			t.Errorf("%s: < that is not one of our links at %d: %q", what, i, s[i:min(len(s), i+30)])
		}
	}
	if strings.Contains(s, "<!") {
		t.Errorf("%s: contains <!", what)
	}
	if n := strings.Count(s, fence); n%2 != 0 {
		t.Errorf("%s: %d code fences (unclosed)", what, n)
	}
}

func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '<')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// texts is every text of the payload, joined, for content checks.
func texts(p Payload) string {
	data, _ := json.Marshal(p)
	var w wire
	_ = json.Unmarshal(data, &w)
	parts := []string{w.Text}
	for _, b := range w.Blocks {
		if b.Text != nil {
			parts = append(parts, b.Text.Text)
		}
		for _, f := range append(b.Fields, b.Elements...) {
			parts = append(parts, f.Text)
		}
	}
	return strings.Join(parts, "\n")
}
