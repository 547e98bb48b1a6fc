package gitea

import (
	"context"
	"net/http"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

// EnsurePullRequest returns the open pull request from want.Head into
// want.Base, with its title and body updated when they differ, or opens
// one.
func (h *Host) EnsurePullRequest(ctx context.Context, repo githost.Repo, want githost.NewPullRequest) (githost.PullRequest, bool, error) {
	call := h.call("ensure pull request %s from %s into %s", repo, want.Head, want.Base)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckNewPullRequest(want)); reason != "" {
		return githost.PullRequest{}, false, call.Invalid(reason)
	}
	c, err := h.client(ctx)
	if err != nil {
		return githost.PullRequest{}, false, call.Invalid(err.Error())
	}
	return hostapi.EnsurePullRequest(want, hostapi.PullRequestOps{
		FindOpen: func() (*githost.PullRequest, error) {
			pr, err := h.findOpen(ctx, c, repo, want.Head, want.Base)
			if pr == nil || err != nil {
				return nil, err
			}
			got := convert(pr)
			return &got, nil
		},
		Create: func() (githost.PullRequest, bool, error) { return h.create(ctx, c, repo, want) },
		Edit: func(number int) (githost.PullRequest, error) {
			return h.edit(ctx, c, repo, int64(number), sdk.EditPullRequestOption{Title: want.Title, Body: &want.Body})
		},
	})
}

// create opens want. conflict says that Gitea answered 409: an open pull
// request of these branches exists.
func (h *Host) create(ctx context.Context, c *sdk.Client, repo githost.Repo, want githost.NewPullRequest) (pr githost.PullRequest, conflict bool, err error) {
	opt := sdk.CreatePullRequestOption{Head: want.Head, Base: want.Base, Title: want.Title, Body: want.Body}
	created, resp, err := c.CreatePullRequest(repo.Owner, repo.Name, opt)
	if err != nil {
		call := h.call("create pull request %s from %s into %s", repo, want.Head, want.Base)
		return githost.PullRequest{}, statusOf(resp) == http.StatusConflict, fail(ctx, call, resp, err)
	}
	return convert(created), false, nil
}

func (h *Host) edit(ctx context.Context, c *sdk.Client, repo githost.Repo, index int64, opt sdk.EditPullRequestOption) (githost.PullRequest, error) {
	pr, resp, err := c.EditPullRequest(repo.Owner, repo.Name, index, opt)
	if err != nil {
		return githost.PullRequest{}, fail(ctx, h.call("edit pull request %s#%d", repo, index), resp, err)
	}
	return convert(pr), nil
}

// findOpen returns the open pull request from head into base whose head is
// in repo itself, or nil.
func (h *Host) findOpen(ctx context.Context, c *sdk.Client, repo githost.Repo, head, base string) (*sdk.PullRequest, error) {
	var found *sdk.PullRequest
	err := h.eachOpen(ctx, c, repo, func(pr *sdk.PullRequest) bool {
		if pr.Head != nil && pr.Base != nil && pr.Head.Ref == head && pr.Base.Ref == base && sameRepo(pr) {
			found = pr
			return false
		}
		return true
	})
	return found, err
}

// sameRepo tells a pull request whose head branch is in the base
// repository from one out of a fork.
func sameRepo(pr *sdk.PullRequest) bool {
	return pr.Head.RepoID == 0 || pr.Base.RepoID == 0 || pr.Head.RepoID == pr.Base.RepoID
}

// eachOpen calls visit with the open pull requests of repo, oldest first,
// page by page, until visit returns false or the last page.
func (h *Host) eachOpen(ctx context.Context, c *sdk.Client, repo githost.Repo, visit func(*sdk.PullRequest) bool) error {
	for page := 1; ; {
		opt := sdk.ListPullRequestsOptions{ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize}, State: sdk.StateOpen, Sort: "oldest"}
		prs, resp, err := c.ListRepoPullRequests(repo.Owner, repo.Name, opt)
		if err != nil {
			return fail(ctx, h.call("list pull requests %s (page %d)", repo, page), resp, err)
		}
		for _, pr := range prs {
			if !visit(pr) {
				return nil
			}
		}
		if len(prs) == 0 || resp.NextPage <= page {
			return nil
		}
		page = resp.NextPage
	}
}

// GetPullRequest reads pull request number.
func (h *Host) GetPullRequest(ctx context.Context, repo githost.Repo, number int) (githost.PullRequest, error) {
	call := h.call("get pull request %s#%d", repo, number)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckNumber(number)); reason != "" {
		return githost.PullRequest{}, call.Invalid(reason)
	}
	c, err := h.client(ctx)
	if err != nil {
		return githost.PullRequest{}, call.Invalid(err.Error())
	}
	pr, resp, err := c.GetPullRequest(repo.Owner, repo.Name, int64(number))
	if err != nil {
		return githost.PullRequest{}, fail(ctx, call, resp, err)
	}
	return convert(pr), nil
}

// ListOpenPullRequests lists the open pull requests into base (all when
// base is ""), oldest first.
func (h *Host) ListOpenPullRequests(ctx context.Context, repo githost.Repo, base string) ([]githost.PullRequest, error) {
	call := h.call("list pull requests %s", repo)
	if reason := hostapi.CheckRepo(repo); reason != "" {
		return nil, call.Invalid(reason)
	}
	c, err := h.client(ctx)
	if err != nil {
		return nil, call.Invalid(err.Error())
	}
	var out []githost.PullRequest
	err = h.eachOpen(ctx, c, repo, func(pr *sdk.PullRequest) bool {
		if base == "" || (pr.Base != nil && pr.Base.Ref == base) {
			out = append(out, convert(pr))
		}
		return true
	})
	return out, err
}

// ClosePullRequest comments (when comment is not "") on an open pull
// request and closes it. A closed or merged one is left as it is.
func (h *Host) ClosePullRequest(ctx context.Context, repo githost.Repo, number int, comment string) error {
	call := h.call("close pull request %s#%d", repo, number)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckNumber(number)); reason != "" {
		return call.Invalid(reason)
	}
	c, err := h.client(ctx)
	if err != nil {
		return call.Invalid(err.Error())
	}
	pr, resp, err := c.GetPullRequest(repo.Owner, repo.Name, int64(number))
	if err != nil {
		return fail(ctx, call, resp, err)
	}
	if pr.State != sdk.StateOpen {
		return nil
	}
	if comment != "" {
		if _, err := h.createComment(ctx, c, repo, number, comment); err != nil {
			return err
		}
	}
	closed := sdk.StateClosed
	_, err = h.edit(ctx, c, repo, int64(number), sdk.EditPullRequestOption{State: &closed})
	return err
}

// convert is the githost view of an SDK pull request.
func convert(pr *sdk.PullRequest) githost.PullRequest {
	out := githost.PullRequest{
		Number: int(pr.Index),
		State:  string(pr.State),
		Merged: pr.HasMerged,
		Title:  pr.Title,
		Body:   pr.Body,
		URL:    pr.HTMLURL,
	}
	if pr.Head != nil {
		out.Head, out.HeadSHA = pr.Head.Ref, pr.Head.Sha
	}
	if pr.Base != nil {
		out.Base = pr.Base.Ref
	}
	if pr.HasMerged && pr.MergedCommitID != nil {
		out.MergeSHA = *pr.MergedCommitID
	}
	if pr.Poster != nil {
		out.Author = pr.Poster.UserName
	}
	out.Fork = pr.Head == nil || pr.Base == nil || pr.Head.RepoID == 0 || pr.Head.RepoID != pr.Base.RepoID
	return out
}
