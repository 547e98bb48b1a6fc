package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session cookie errors, for errors.Is.
var (
	// ErrSessionInvalid: the cookie was not made with this key (tampered,
	// forged, or signed by another process or an older key).
	ErrSessionInvalid = errors.New("session cookie is not valid: log in again")
	// ErrSessionExpired: the cookie was valid but its time is over.
	ErrSessionExpired = errors.New("session expired: log in again")
)

// Purposes keep a cookie made for one use from being accepted for another
// (a login cookie is never a session).
const (
	purposeSession = "trueup-session"
	purposeLogin   = "trueup-login"
)

// signer makes and reads HMAC-SHA256-signed cookie values:
// base64url(JSON) "." base64url(HMAC(key, purpose "\n" base64url(JSON))).
// The JSON is readable by whoever holds the cookie: it never holds a token.
type signer struct {
	key []byte
}

// sealed is what every signed value carries: its expiry, in Unix seconds.
type sealed interface {
	expiry() int64
}

func (s signer) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{'\n'})
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// encode signs v for purpose.
func (s signer) encode(purpose string, v sealed) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s cookie: %w", purpose, err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, payload)), nil
}

// decode checks the signature of value for purpose, then its expiry
// against now, and fills v. The errors wrap ErrSessionInvalid or
// ErrSessionExpired and never quote the value.
func (s signer) decode(purpose, value string, now time.Time, v sealed) error {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return fmt.Errorf("%s cookie: not two parts: %w", purpose, ErrSessionInvalid)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(purpose, payload)) {
		return fmt.Errorf("%s cookie: signature does not match: %w", purpose, ErrSessionInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return fmt.Errorf("%s cookie: payload: %w", purpose, ErrSessionInvalid)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s cookie: payload: %w", purpose, ErrSessionInvalid)
	}
	if !now.Before(time.Unix(v.expiry(), 0)) {
		return fmt.Errorf("%s cookie: expired at %s: %w", purpose, time.Unix(v.expiry(), 0).UTC().Format(time.RFC3339), ErrSessionExpired)
	}
	return nil
}

// session is the browser session: who, and until when. Never a token.
type session struct {
	User    string   `json:"u"`
	Groups  []string `json:"g,omitempty"`
	Expires int64    `json:"e"`
}

func (s session) expiry() int64 { return s.Expires }

// loginState is what a login keeps between /auth/login and
// /auth/callback: the state and nonce it sent, the PKCE verifier, and where
// to go afterwards.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"`
}

func (l loginState) expiry() int64 { return l.Expires }
