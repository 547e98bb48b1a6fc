package auth

import (
	"errors"
	"net/http"
)

// Errors to branch on with errors.Is.
var (
	// ErrRefused: the request's credentials are bad (forged, expired, for
	// a deleted account, for another audience).
	ErrRefused = errors.New("credentials refused")
	// ErrUnavailable: the credentials could not be checked now (the API
	// server is down, or the daemon may not ask it); the request is
	// answered 503, never served as anonymous.
	ErrUnavailable = errors.New("credentials cannot be checked now")
)

// Chain asks each authenticator in turn; the first that finds a user, or
// bad credentials, or fails, answers.
type Chain []Authenticator

var _ Authenticator = Chain(nil)

// Authenticate implements Authenticator.
func (c Chain) Authenticate(r *http.Request) (User, bool, error) {
	for _, a := range c {
		if u, ok, err := a.Authenticate(r); ok || err != nil {
			return u, ok, err
		}
	}
	return User{}, false, nil
}

func isRefused(err error) bool { return errors.Is(err, ErrRefused) }
