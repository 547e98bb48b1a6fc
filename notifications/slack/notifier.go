package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/trueup-dev/trueup/notifications"
)

var (
	_ notifications.Notifier = (*Notifier)(nil)
	_ notifications.Repeater = (*Notifier)(nil)
	_ notifications.Tester   = (*Notifier)(nil)
)

// Notifier posts to Slack with a bot token (threads per episode, parent
// updated on resolution) or an incoming webhook (same content, no threads).
// Its String and GoString never show the token or the webhook URL.
type Notifier struct {
	name    string
	channel string
	mode    mode
	// secret is the bot token or the webhook URL.
	secret     secret
	apiURL     string
	render     RenderOptions
	repeat     time.Duration
	httpClient *http.Client
	api        *slack.Client
}

type mode string

const (
	modeBot     mode = "bot"
	modeWebhook mode = "webhook"
)

// secret hides its value from fmt.
type secret string

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }

// Option configures a Notifier.
type Option func(*Notifier)

// WithChannel sets the channel (name or id) bot mode posts to; in webhook
// mode the webhook's own channel is used and this only labels the notifier.
func WithChannel(channel string) Option { return func(n *Notifier) { n.channel = channel } }

// WithRepeatInterval sets how often an open episode is reminded; 0 never.
func WithRepeatInterval(d time.Duration) Option { return func(n *Notifier) { n.repeat = d } }

// WithAPIURL points bot mode at another Slack API (tests: slacktest).
func WithAPIURL(url string) Option { return func(n *Notifier) { n.apiURL = url } }

// WithPublicURL sets trueup's own base URL for links in messages.
func WithPublicURL(url string) Option { return func(n *Notifier) { n.render.PublicURL = url } }

// WithHTTPClient sets the HTTP client (default: 30s timeout).
func WithHTTPClient(c *http.Client) Option { return func(n *Notifier) { n.httpClient = c } }

// NewBot returns a bot-token notifier posting to WithChannel's channel.
func NewBot(name, token string, opts ...Option) (*Notifier, error) {
	n := newNotifier(name, modeBot, token, opts)
	if err := n.validate(); err != nil {
		return nil, err
	}
	apiOpts := []slack.Option{slack.OptionHTTPClient(n.httpClient)}
	if n.apiURL != "" {
		apiOpts = append(apiOpts, slack.OptionAPIURL(n.apiURL))
	}
	n.api = slack.New(token, apiOpts...)
	return n, nil
}

// NewWebhook returns an incoming-webhook notifier.
func NewWebhook(name, webhookURL string, opts ...Option) (*Notifier, error) {
	n := newNotifier(name, modeWebhook, webhookURL, opts)
	if err := n.validate(); err != nil {
		return nil, err
	}
	return n, nil
}

func newNotifier(name string, m mode, s string, opts []Option) *Notifier {
	n := &Notifier{name: name, mode: m, secret: secret(s)}
	for _, opt := range opts {
		opt(n)
	}
	if n.httpClient == nil {
		n.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return n
}

func (n *Notifier) validate() error {
	switch {
	case n.name == "":
		return errors.New("slack notifier: name is empty")
	case n.secret == "" && n.mode == modeBot:
		return fmt.Errorf("slack notifier %s: token is empty", n.name)
	case n.secret == "":
		return fmt.Errorf("slack notifier %s: webhook URL is empty", n.name)
	case n.mode == modeBot && n.channel == "":
		return fmt.Errorf("slack notifier %s: bot mode needs a channel", n.name)
	case n.mode == modeWebhook && notifications.SafeURL(string(n.secret)) == "invalid URL":
		return fmt.Errorf("slack notifier %s: webhook URL is not an absolute URL", n.name)
	}
	return nil
}

// Name implements notifications.Notifier.
func (n *Notifier) Name() string { return n.name }

// RepeatInterval implements notifications.Repeater.
func (n *Notifier) RepeatInterval() time.Duration { return n.repeat }

// String names the notifier without its secret.
func (n *Notifier) String() string {
	if n.mode == modeWebhook {
		return fmt.Sprintf("slack notifier %s (incoming webhook)", n.name)
	}
	return fmt.Sprintf("slack notifier %s (bot, %s)", n.name, n.channel)
}

// GoString is String, so %#v cannot print the secret either.
func (n *Notifier) GoString() string { return n.String() }

// Send implements notifications.Notifier: one attempt, errors classified
// (see classify).
func (n *Notifier) Send(ctx context.Context, m notifications.Message) (notifications.Receipt, error) {
	p := RenderMessage(m, n.render)
	if n.mode == modeWebhook {
		if m.Op == notifications.OpUpdate {
			return notifications.Receipt{}, nil // no message to update
		}
		return n.postWebhook(ctx, p)
	}
	switch m.Op {
	case notifications.OpUpdate:
		return n.update(ctx, m.Thread, p)
	case notifications.OpReply:
		return n.post(ctx, or(m.Thread.Channel, n.channel), m.Thread.TS, p)
	default:
		return n.post(ctx, n.channel, "", p)
	}
}

// Test implements notifications.Tester: it posts notifications.TestEvent
// and returns what Slack answered.
func (n *Notifier) Test(ctx context.Context) (notifications.Receipt, error) {
	return n.Send(ctx, notifications.Message{Op: notifications.OpPost, Event: notifications.TestEvent(time.Now())})
}

func (n *Notifier) post(ctx context.Context, channel, threadTS string, p Payload) (notifications.Receipt, error) {
	opts := []slack.MsgOption{
		slack.MsgOptionText(p.Text, false),
		slack.MsgOptionBlocks(p.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	ch, ts, err := n.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return notifications.Receipt{}, n.fail("post message", err)
	}
	return notifications.Receipt{Channel: ch, TS: ts, Detail: "ok"}, nil
}

func (n *Notifier) update(ctx context.Context, th notifications.Thread, p Payload) (notifications.Receipt, error) {
	ch, ts, _, err := n.api.UpdateMessageContext(ctx, th.Channel, th.TS,
		slack.MsgOptionText(p.Text, false), slack.MsgOptionBlocks(p.Blocks...))
	if err != nil {
		return notifications.Receipt{}, n.fail("update message", err)
	}
	return notifications.Receipt{Channel: ch, TS: ts, Detail: "ok"}, nil
}

func (n *Notifier) postWebhook(ctx context.Context, p Payload) (notifications.Receipt, error) {
	msg := &slack.WebhookMessage{Text: p.Text, Blocks: &slack.Blocks{BlockSet: p.Blocks}}
	if err := slack.PostWebhookCustomHTTPContext(ctx, string(n.secret), n.httpClient, msg); err != nil {
		return notifications.Receipt{}, n.fail("post webhook", err)
	}
	return notifications.Receipt{Detail: "ok"}, nil
}

// fail classifies err, removes the secret from its text and names the notifier.
func (n *Notifier) fail(op string, err error) error {
	err = notifications.Redact(classify(err), string(n.secret))
	return fmt.Errorf("slack notifier %s: %s: %w", n.name, op, err)
}
