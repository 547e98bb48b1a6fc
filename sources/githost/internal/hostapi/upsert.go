package hostapi

import "github.com/trueup-dev/trueup/sources/githost"

// PullRequestOps are the host calls EnsurePullRequest is made of.
type PullRequestOps struct {
	// FindOpen returns the open pull request of the branches, or nil.
	FindOpen func() (*githost.PullRequest, error)
	// Create opens it; exists says the host refused because one of these
	// branches may be open already (Gitea 409, GitHub 422).
	Create func() (pr githost.PullRequest, exists bool, err error)
	// Edit sets the title and body of pull request number.
	Edit func(number int) (githost.PullRequest, error)
}

// EnsurePullRequest is githost.Host.EnsurePullRequest over a host's calls:
// the open pull request of the branches, with its title and body brought
// up to date, or a new one; a create that lost a race to another caller
// finds and updates the pull request that caller opened.
func EnsurePullRequest(want githost.NewPullRequest, ops PullRequestOps) (githost.PullRequest, bool, error) {
	existing, err := ops.FindOpen()
	if err != nil {
		return githost.PullRequest{}, false, err
	}
	if existing == nil {
		pr, exists, err := ops.Create()
		if !exists {
			return pr, err == nil, err
		}
		if existing, _ = ops.FindOpen(); existing == nil {
			return githost.PullRequest{}, false, err
		}
	}
	if existing.Title == want.Title && existing.Body == want.Body {
		return *existing, false, nil
	}
	pr, err := ops.Edit(existing.Number)
	return pr, false, err
}

// Comment is a comment as UpsertComment reads it.
type Comment struct {
	ID   int64
	Body string
}

// CommentOps are the host calls UpsertComment is made of.
type CommentOps struct {
	// Find returns the oldest comment of the token's user that carries
	// the marker, or nil.
	Find func() (*Comment, error)
	// Create posts the body; Edit replaces comment id's body with it.
	Create func() (int64, error)
	Edit   func(id int64) error
}

// UpsertComment is githost.Host.UpsertComment over a host's calls: the
// marked comment is edited when its body differs, or the body is posted.
func UpsertComment(body string, ops CommentOps) (int64, bool, error) {
	existing, err := ops.Find()
	switch {
	case err != nil:
		return 0, false, err
	case existing == nil:
		id, err := ops.Create()
		return id, err == nil, err
	case existing.Body == body:
		return existing.ID, false, nil
	}
	if err := ops.Edit(existing.ID); err != nil {
		return 0, false, err
	}
	return existing.ID, false, nil
}
