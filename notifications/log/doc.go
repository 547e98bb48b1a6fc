// Package log is the notifier that writes events to a log/slog.Logger: the
// default when no other notifier is configured.
//
// Each event is one record with the constant message "notification" at a
// level by severity (info: Info, warning: Warn, critical: Error) and the
// event's fields as key/values: kind, severity, target, the destination
// ("cluster" or "account" as the key), object, episode, revision, actor,
// mode, resolution, policy, message, links, since, and the diff as
// "path: git: G  live: L" lines (masked fields as <masked>, at most 20 lines).
// Parent updates are not logged: the resolving event has its own record.
package log
