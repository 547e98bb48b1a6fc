// Package slack is the Slack notifier: Block Kit messages that on-call can
// act on, posted with a bot token (threads) or an incoming webhook.
//
// In bot mode (NewBot) an episode's first event is a parent message
// (chat.postMessage), later events, reminders and the resolution are
// replies in its thread (thread_ts), and the parent is rewritten on
// resolution (chat.update) to show how the episode ended. The notifications
// Dispatcher decides which of these to send and keeps the thread ids; this
// package only renders and sends. In webhook mode (NewWebhook) the same
// blocks are posted as new messages: no threads, no updates.
//
// Render is a pure function from an Event to a Payload (text fallback and
// blocks): a header with severity, what happened and the target; one
// sentence on the object, the cluster or account and what trueup will do
// (heal, open a pull request, alert only); fields for cluster or account,
// object, revision (linked to the commit), drifted since, who changed it,
// mode and policy; the field-level diff as a code block of
// "path: git: G  live: L" lines, masked fields always shown as <masked>; the
// error or policy message; links to the pull request and trueup's own page.
//
// All text from Git, a cluster or a cloud is escaped (&, <, > as entities,
// so no <!here>, user mention or link can be formed), @here, @channel and
// @everyone are broken with a zero-width space, runs of backticks cannot
// open or close a code fence, and every text is cut at a rune boundary to
// Slack's limits (header 150, section 3000, 10 fields of 2000, 50 blocks)
// without leaving an entity, a link or a code fence open; the diff says
// "… and N more fields" when it is cut.
//
// Errors are classified for the dispatcher: HTTP 429 becomes a RetryAfter
// error, Slack error codes (invalid_auth, channel_not_found, not_in_channel,
// token_revoked, ...) are permanent except transient ones (ratelimited,
// internal_error, ...), 4xx statuses are permanent, network errors and 5xx
// are retried. Neither errors nor String show the token or the webhook URL.
package slack
