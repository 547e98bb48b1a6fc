package github

import (
	"context"
	"strings"

	gh "github.com/google/go-github/v84/github"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

// UpsertComment keeps one comment of the token's user (or of
// WithCommentAuthor) on pull request number: the oldest of its comments
// containing marker is edited to body when it differs, or body is posted.
func (h *Host) UpsertComment(ctx context.Context, repo githost.Repo, number int, marker, body string) (int64, bool, error) {
	call := h.call("upsert comment on %s#%d", repo, number)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckNumber(number), hostapi.CheckComment(marker, body)); reason != "" {
		return 0, false, call.Invalid(reason)
	}
	me, err := h.login(ctx)
	if err != nil {
		return 0, false, err
	}
	return hostapi.UpsertComment(body, hostapi.CommentOps{
		Find: func() (*hostapi.Comment, error) {
			c, err := h.findComment(ctx, repo, number, me, marker)
			if c == nil || err != nil {
				return nil, err
			}
			return &hostapi.Comment{ID: c.GetID(), Body: c.GetBody()}, nil
		},
		Create: func() (int64, error) { return h.createComment(ctx, repo, number, body) },
		Edit: func(id int64) error {
			if _, _, err := h.client.Issues.EditComment(ctx, repo.Owner, repo.Name, id, &gh.IssueComment{Body: &body}); err != nil {
				return fail(ctx, h.call("edit comment %d on %s#%d", id, repo, number), err)
			}
			return nil
		},
	})
}

// login is the login whose comments UpsertComment keeps.
func (h *Host) login(ctx context.Context) (string, error) {
	if h.author != "" {
		return h.author, nil
	}
	return h.me.Get(func() (string, error) {
		u, _, err := h.client.Users.Get(ctx, "")
		if err != nil {
			return "", fail(ctx, h.call("get the token's user"), err)
		}
		return u.GetLogin(), nil
	})
}

// findComment returns the oldest comment of login me on issue number
// whose body contains marker, or nil.
func (h *Host) findComment(ctx context.Context, repo githost.Repo, number int, me, marker string) (*gh.IssueComment, error) {
	opt := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: perPage}}
	for page := 1; ; {
		opt.Page = page
		comments, resp, err := h.client.Issues.ListComments(ctx, repo.Owner, repo.Name, number, opt)
		if err != nil {
			return nil, fail(ctx, h.call("list comments on %s#%d (page %d)", repo, number, page), err)
		}
		for _, c := range comments {
			if strings.EqualFold(c.GetUser().GetLogin(), me) && strings.Contains(c.GetBody(), marker) {
				return c, nil
			}
		}
		if len(comments) == 0 || resp.NextPage <= page {
			return nil, nil
		}
		page = resp.NextPage
	}
}

func (h *Host) createComment(ctx context.Context, repo githost.Repo, number int, body string) (int64, error) {
	c, _, err := h.client.Issues.CreateComment(ctx, repo.Owner, repo.Name, number, &gh.IssueComment{Body: &body})
	if err != nil {
		return 0, fail(ctx, h.call("create comment on %s#%d", repo, number), err)
	}
	return c.GetID(), nil
}
