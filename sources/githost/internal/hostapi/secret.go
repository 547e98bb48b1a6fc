package hostapi

// Secret holds a token. A Host keeps its token behind a *Secret, so that
// printing the Host in any way (even its dereferenced struct, where fmt
// shows a nested pointer as an address) never shows the token, and the
// Secret itself prints as "[REDACTED]".
type Secret struct{ value string }

// NewSecret wraps token.
func NewSecret(token string) *Secret { return &Secret{value: token} }

// Reveal returns the token, for the Authorization header and for scrubbing
// error texts.
func (s *Secret) Reveal() string { return s.value }

// String and GoString never show the token.
func (s *Secret) String() string   { return "[REDACTED]" }
func (s *Secret) GoString() string { return "[REDACTED]" }
