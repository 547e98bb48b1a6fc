// Package notifications routes trueup's events to people and delivers them,
// deduplicated, threaded per episode, retried, and never in the way of
// reconciliation.
//
// # Model
//
// The reconciler (the producer) turns what happened into an Event: a Kind
// (drift.opened, drift.updated, drift.resolved, apply.succeeded,
// apply.failed, prune.blocked, source.failed, compliance.violation,
// compliance.resolved, test), a Severity (info < warning < critical), the
// target, destination and object, and what on-call needs to act: revision
// and links, since when, who (field manager or cloud principal), the mode
// (heal, pull-request, alert), the field-level diff with values already
// masked, and a message. An Event with an Episode (a drift episode or a
// compliance finding) belongs to that episode; drift.resolved and
// compliance.resolved close it. A resolving event carries the severity of
// the episode it closes so that it routes where the opening went. The
// producer emits nothing for a no-op reconcile: quiet is the default.
//
// A Router (pure, built from the config) maps an Event to notifier names:
// ordered Rules by kind, minimum severity, target glob and labels; then the
// target's own notifiers, which receive warning and above
// (DefaultTargetRule; apply.succeeded is info, so it goes only where a rule
// asks for info); then Default when nothing else matched.
//
// A Notifier (declared here, implemented in notifications/slack,
// notifications/webhook and notifications/log) sends one Message per call:
// OpPost a new message, OpReply into a thread, OpUpdate the parent of a
// thread. It returns a Receipt (Slack channel and ts) and classifies its
// errors: Permanent (never retried, reported once per notifier and reason),
// RetryAfter (the server asked to wait), or anything else (retried).
//
// # Delivery
//
// The Dispatcher owns one bounded queue and one worker goroutine per
// notifier. Publish routes and enqueues and never blocks: a full queue
// drops its oldest event. Each worker applies the episode policy (decide):
// the first event of an episode posts a parent message; later events reply
// in its thread only when their Fingerprint (paths, masked values, actors,
// message, policy) changed; the resolution replies and updates the parent
// so the channel shows what is still open. Threads (ThreadStore) survive
// restarts; the reconciler stores them in its state store, MemoryThreads
// serves tests and the CLI. While an episode is open, a notifier that
// implements Repeater gets a reminder in the thread every interval. An
// object that opens more than FlapThreshold episodes within FlapWindow is
// flapping: one note, then its new episodes are suppressed until it
// settles. Sends are retried with capped, jittered exponential backoff,
// honouring Retry-After.
//
// Every outcome reaches OnResult as a Delivery (sent, failed, dropped,
// suppressed, with attempts, error text and the Slack ts) for the
// reconciler's history; a repeated permanent failure is counted (Missed)
// rather than reported again. Run delivers until its context ends or Close
// is called, then drains the queues for at most DrainTimeout.
//
// Secrets never pass: events are Redacted before they are queued (masked
// fields carry MaskedValue on both sides), notifiers keep tokens and URLs
// out of errors (Redact) and String output.
package notifications
