package auth

import "net/http"

// User is an authenticated person or service account.
type User struct {
	// Name is the user name (TokenReview's username, or the OIDC
	// username claim).
	Name   string
	Groups []string
}

// Authenticator finds the user of a request. ok is false when the request
// carries no credentials this authenticator reads; err is set when it
// carries credentials that are bad (forged, expired, unknown), and never
// contains the credential itself.
type Authenticator interface {
	Authenticate(r *http.Request) (u User, ok bool, err error)
}
