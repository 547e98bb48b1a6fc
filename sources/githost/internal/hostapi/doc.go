// Package hostapi holds what the githost providers (gitea, github) share
// besides the interface: their errors, the checks of their inputs, the
// parsing of a host's base URL, the token's wrapper (Secret) and a lazily
// fetched value (Lazy).
//
// Errors have one shape, "<host>: <operation> <repo>: <sentinel> (HTTP
// <code>: <message>): <what to check>", with the sentinel (githost.ErrNotFound,
// ErrAuth, ErrUnavailable) chosen from the HTTP status or the transport
// failure and wrapped with %w. The token is scrubbed from everything a
// server or a library put into the message, and the libraries' own error
// values are not wrapped, so no errors.As can reach an unscrubbed text.
package hostapi
