// Package webhook is a generic JSON webhook notifier.
//
// Each message is one POST of the (redacted) notifications.Event as JSON,
// with X-Trueup-Signature: sha256=<hex HMAC-SHA256(secret, body)>,
// X-Trueup-Event: <kind>, and X-Trueup-Note: reminder|flapping for messages
// the dispatcher generates. A receiver must verify the signature over the
// raw body before it parses it (Sign computes the expected value). There
// are no threads: replies arrive as further POSTs with the same episode.
//
// A 2xx answer is success. 429, 5xx and network errors are retryable, after
// Retry-After when the server sends one (seconds or an HTTP date); any
// other status is permanent ("http 404"). The URL's path and query and the
// secret never appear in errors or String output.
package webhook
