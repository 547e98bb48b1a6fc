// Package githost talks to the pull-request API of a Git host: Gitea
// (code.gitea.io/sdk/gitea) and GitHub (github.com/google/go-github),
// behind one small interface, Host. trueup uses it to open, update and
// close the pull requests that adopt live drift into Git, to list the open
// pull requests it previews, to keep one preview comment per pull request
// up to date, and to set commit statuses.
//
// Tokens are passed in at construction and never appear in errors: every
// error names the host, the operation and the repository, wraps ErrNotFound,
// ErrAuth or ErrUnavailable where they apply, and says what to check.
//
// The implementations are in the subpackages gitea (gitea.New(baseURL,
// token)) and github (github.New(apiURL, token), "" for GitHub.com). Both
// are safe for concurrent use and do no I/O when constructed.
package githost

import (
	"context"
	"errors"
	"strings"
)

// Repo names a repository on a host.
type Repo struct {
	Owner string
	Name  string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// PullRequest is the part of a pull request trueup reads.
type PullRequest struct {
	Number int
	// State is "open" or "closed"; Merged tells a merged one from a closed one.
	State  string
	Merged bool
	Title  string
	Body   string
	// Head is the branch the changes are on, HeadSHA its commit; Base is
	// the branch they go into.
	Head    string
	HeadSHA string
	Base    string
	// MergeSHA is the merge commit of a merged pull request.
	MergeSHA string
	URL      string
	// Author is the login of the user who opened it.
	Author string
	// Fork: the head branch is in another repository than the base (or
	// the host did not say which repository it is in).
	Fork bool
}

// NewPullRequest is a pull request to open (or update: same Head and Base).
type NewPullRequest struct {
	Head  string
	Base  string
	Title string
	Body  string
}

// StatusState is a commit status.
type StatusState string

const (
	StatusPending StatusState = "pending"
	StatusSuccess StatusState = "success"
	StatusFailure StatusState = "failure"
	StatusError   StatusState = "error"
)

// Status is a commit status under a context name (e.g. "trueup/preview/web").
type Status struct {
	State       StatusState
	Context     string
	Description string
	URL         string
}

// Host is a Git host's pull-request API.
type Host interface {
	// Name is the host's kind and address for messages ("gitea https://git.example.com").
	Name() string
	// EnsurePullRequest returns the open pull request from pr.Head into
	// pr.Base, updating its title and body when they differ, or opens one.
	// created says which.
	EnsurePullRequest(ctx context.Context, repo Repo, pr NewPullRequest) (got PullRequest, created bool, err error)
	// GetPullRequest reads one pull request by number.
	GetPullRequest(ctx context.Context, repo Repo, number int) (PullRequest, error)
	// ListOpenPullRequests lists the open pull requests into base (every
	// base when base is ""), all pages.
	ListOpenPullRequests(ctx context.Context, repo Repo, base string) ([]PullRequest, error)
	// ClosePullRequest comments (when comment is not "") and closes an
	// open pull request without merging it. Closing a closed one is not
	// an error.
	ClosePullRequest(ctx context.Context, repo Repo, number int, comment string) error
	// UpsertComment keeps one comment of the token's user on a pull
	// request: the comment whose body contains marker is edited to body
	// (when it differs), or a new one is posted. body must contain marker.
	// It returns the comment's id and whether it was created.
	UpsertComment(ctx context.Context, repo Repo, number int, marker, body string) (id int64, created bool, err error)
	// SetStatus sets a commit status on sha.
	SetStatus(ctx context.Context, repo Repo, sha string, st Status) error
	// CanPush reports whether the user login may push to repo (write,
	// maintain or admin permission, or its owner).
	CanPush(ctx context.Context, repo Repo, login string) (bool, error)
}

// PushPermission reports whether a permission name a host gives a user on
// a repository lets the user push to it.
func PushPermission(permission string) bool {
	switch strings.ToLower(permission) {
	case "write", "maintain", "admin", "owner":
		return true
	}
	return false
}

// Sentinel errors, for errors.Is.
var (
	// ErrNotFound: the repository or pull request does not exist, or the
	// token cannot see it.
	ErrNotFound = errors.New("not found")
	// ErrAuth: the token is missing, wrong, expired or lacks a scope.
	ErrAuth = errors.New("not authorized")
	// ErrUnavailable: the host did not answer, or answered 5xx or 429;
	// retry later.
	ErrUnavailable = errors.New("host unavailable")
)
