package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TokenReviews creates TokenReviews: the typed client's
// AuthenticationV1().TokenReviews() of the daemon's own identity.
type TokenReviews interface {
	Create(ctx context.Context, tr *authnv1.TokenReview, opts metav1.CreateOptions) (*authnv1.TokenReview, error)
}

// TokenReviewOptions are the knobs of a TokenReview authenticator.
type TokenReviewOptions struct {
	// Audiences the token must be valid for; empty: the API server's.
	Audiences []string
	// CacheTTL is how long an answer is reused for the same token (a token
	// revoked or whose account is deleted keeps working that long).
	CacheTTL time.Duration
	// CacheSize bounds the cached answers.
	CacheSize int
	// Timeout bounds one TokenReview call.
	Timeout time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// DefaultTokenReviewOptions caches answers 10 seconds and waits 5 seconds
// for the API server.
func DefaultTokenReviewOptions() TokenReviewOptions {
	return TokenReviewOptions{CacheTTL: 10 * time.Second, CacheSize: 4096, Timeout: 5 * time.Second, Now: time.Now}
}

// TokenReview authenticates bearer tokens with a cluster's TokenReview
// API: service account tokens, and whatever else the API server accepts
// (its OIDC issuers, webhook authenticators).
type TokenReview struct {
	cluster string
	reviews TokenReviews
	o       TokenReviewOptions

	mu sync.Mutex
	// cache is keyed by the SHA-256 of the token, never the token.
	cache map[[sha256.Size]byte]reviewed
}

// reviewed is a cached answer.
type reviewed struct {
	user    User
	err     error
	expires time.Time
}

var _ Authenticator = (*TokenReview)(nil)

// NewTokenReview authenticates tokens with the TokenReview API of the
// named cluster (the name is for messages).
func NewTokenReview(cluster string, reviews TokenReviews, o TokenReviewOptions) *TokenReview {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &TokenReview{cluster: cluster, reviews: reviews, o: o, cache: map[[sha256.Size]byte]reviewed{}}
}

// BearerToken returns the token of an "Authorization: Bearer" header, and
// whether the request has one.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < len("Bearer ") || !strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[len("Bearer "):]), true
}

// Authenticate implements Authenticator: a request without a bearer token
// is not this authenticator's; a token the API server does not
// authenticate is refused (ErrRefused); a review that fails is
// ErrUnavailable.
func (a *TokenReview) Authenticate(r *http.Request) (User, bool, error) {
	token, ok := BearerToken(r)
	if !ok {
		return User{}, false, nil
	}
	if token == "" {
		return User{}, false, fmt.Errorf("%w: empty bearer token", ErrRefused)
	}
	key := sha256.Sum256([]byte(token))
	if c, ok := a.cached(key); ok {
		return c.user, c.err == nil, c.err
	}
	u, err := a.review(r.Context(), token)
	if err != nil && !isRefused(err) {
		return User{}, false, err // not cached: the next request asks again
	}
	a.store(key, reviewed{user: u, err: err})
	return u, err == nil, err
}

// review asks the API server who token is.
func (a *TokenReview) review(ctx context.Context, token string) (User, error) {
	ctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	tr := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: a.o.Audiences}}
	res, err := a.reviews.Create(ctx, tr, metav1.CreateOptions{})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return User{}, fmt.Errorf("cluster %s: token review: %w: the daemon may not create tokenreviews (bind its identity to the ClusterRole system:auth-delegator): %s",
			a.cluster, ErrUnavailable, scrub(err.Error(), token))
	case err != nil:
		return User{}, fmt.Errorf("cluster %s: token review: %w: %s (retry when the API server answers)", a.cluster, ErrUnavailable, scrub(err.Error(), token))
	case !res.Status.Authenticated:
		why := scrub(res.Status.Error, token)
		if why == "" {
			why = "not authenticated"
		}
		return User{}, fmt.Errorf("cluster %s: %w: %s", a.cluster, ErrRefused, why)
	}
	return User{Name: res.Status.User.Username, Groups: res.Status.User.Groups}, nil
}

// scrub removes the token from a message, should a server echo it.
func scrub(msg, token string) string {
	if token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, token, "<token>")
}

func (a *TokenReview) cached(key [sha256.Size]byte) (reviewed, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.cache[key]
	if !ok || !a.o.Now().Before(c.expires) {
		return reviewed{}, false
	}
	return c, true
}

func (a *TokenReview) store(key [sha256.Size]byte, c reviewed) {
	if a.o.CacheTTL <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.o.Now()
	if len(a.cache) >= a.o.CacheSize {
		for k, e := range a.cache {
			if !now.Before(e.expires) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= a.o.CacheSize {
			clear(a.cache)
		}
	}
	c.expires = now.Add(a.o.CacheTTL)
	a.cache[key] = c
}
