package gitea

import (
	"context"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

// UpsertComment keeps one comment of the token's user on pull request
// number: the oldest of its comments containing marker is edited to body
// when it differs, or body is posted.
func (h *Host) UpsertComment(ctx context.Context, repo githost.Repo, number int, marker, body string) (int64, bool, error) {
	call := h.call("upsert comment on %s#%d", repo, number)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckNumber(number), hostapi.CheckComment(marker, body)); reason != "" {
		return 0, false, call.Invalid(reason)
	}
	c, err := h.client(ctx)
	if err != nil {
		return 0, false, call.Invalid(err.Error())
	}
	me, err := h.me.Get(func() (int64, error) { return h.fetchMe(ctx, c) })
	if err != nil {
		return 0, false, err
	}
	return hostapi.UpsertComment(body, hostapi.CommentOps{
		Find: func() (*hostapi.Comment, error) {
			cm, err := h.findComment(ctx, c, repo, number, me, marker)
			if cm == nil || err != nil {
				return nil, err
			}
			return &hostapi.Comment{ID: cm.ID, Body: cm.Body}, nil
		},
		Create: func() (int64, error) { return h.createComment(ctx, c, repo, number, body) },
		Edit: func(id int64) error {
			_, resp, err := c.EditIssueComment(repo.Owner, repo.Name, id, sdk.EditIssueCommentOption{Body: body})
			if err != nil {
				return fail(ctx, h.call("edit comment %d on %s#%d", id, repo, number), resp, err)
			}
			return nil
		},
	})
}

// fetchMe returns the id of the token's user.
func (h *Host) fetchMe(ctx context.Context, c *sdk.Client) (int64, error) {
	u, resp, err := c.GetMyUserInfo()
	if err != nil {
		return 0, fail(ctx, h.call("get the token's user"), resp, err)
	}
	return u.ID, nil
}

// findComment returns the oldest comment of user me on pull request
// number whose body contains marker, or nil.
func (h *Host) findComment(ctx context.Context, c *sdk.Client, repo githost.Repo, number int, me int64, marker string) (*sdk.Comment, error) {
	for page := 1; ; {
		opt := sdk.ListIssueCommentOptions{ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize}}
		comments, resp, err := c.ListIssueComments(repo.Owner, repo.Name, int64(number), opt)
		if err != nil {
			return nil, fail(ctx, h.call("list comments on %s#%d (page %d)", repo, number, page), resp, err)
		}
		for _, cm := range comments {
			if cm.Poster != nil && cm.Poster.ID == me && strings.Contains(cm.Body, marker) {
				return cm, nil
			}
		}
		if len(comments) == 0 || resp.NextPage <= page {
			return nil, nil
		}
		page = resp.NextPage
	}
}

func (h *Host) createComment(ctx context.Context, c *sdk.Client, repo githost.Repo, number int, body string) (int64, error) {
	cm, resp, err := c.CreateIssueComment(repo.Owner, repo.Name, int64(number), sdk.CreateIssueCommentOption{Body: body})
	if err != nil {
		return 0, fail(ctx, h.call("create comment on %s#%d", repo, number), resp, err)
	}
	return cm.ID, nil
}
