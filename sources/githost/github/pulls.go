package github

import (
	"context"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v84/github"

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
	return hostapi.EnsurePullRequest(want, hostapi.PullRequestOps{
		FindOpen: func() (*githost.PullRequest, error) {
			pr, err := h.findOpen(ctx, repo, want.Head, want.Base)
			if pr == nil || err != nil {
				return nil, err
			}
			got := convert(pr)
			return &got, nil
		},
		Create: func() (githost.PullRequest, bool, error) { return h.create(ctx, repo, want) },
		Edit: func(number int) (githost.PullRequest, error) {
			return h.edit(ctx, repo, number, &gh.PullRequest{Title: &want.Title, Body: &want.Body})
		},
	})
}

// create opens want. invalid says that GitHub answered 422, which it does
// when an open pull request of these branches exists (and for other
// validation failures).
func (h *Host) create(ctx context.Context, repo githost.Repo, want githost.NewPullRequest) (pr githost.PullRequest, invalid bool, err error) {
	created, resp, err := h.client.PullRequests.Create(ctx, repo.Owner, repo.Name, &gh.NewPullRequest{
		Title: &want.Title, Head: &want.Head, Base: &want.Base, Body: &want.Body,
	})
	if err != nil {
		call := h.call("create pull request %s from %s into %s", repo, want.Head, want.Base)
		return githost.PullRequest{}, resp != nil && resp.StatusCode == http.StatusUnprocessableEntity, fail(ctx, call, err)
	}
	return convert(created), false, nil
}

func (h *Host) edit(ctx context.Context, repo githost.Repo, number int, change *gh.PullRequest) (githost.PullRequest, error) {
	pr, _, err := h.client.PullRequests.Edit(ctx, repo.Owner, repo.Name, number, change)
	if err != nil {
		return githost.PullRequest{}, fail(ctx, h.call("edit pull request %s#%d", repo, number), err)
	}
	return convert(pr), nil
}

// findOpen returns the open pull request from branch head of repo itself
// into base, or nil.
func (h *Host) findOpen(ctx context.Context, repo githost.Repo, head, base string) (*gh.PullRequest, error) {
	var found *gh.PullRequest
	err := h.eachOpen(ctx, repo, head, base, func(pr *gh.PullRequest) bool {
		if pr.GetHead().GetRef() == head && pr.GetBase().GetRef() == base && fromRepo(pr, repo) {
			found = pr
			return false
		}
		return true
	})
	return found, err
}

// fromRepo tells whether the head branch of pr is in repo (not a fork).
func fromRepo(pr *gh.PullRequest, repo githost.Repo) bool {
	full := pr.GetHead().GetRepo().GetFullName()
	return full == "" || strings.EqualFold(full, repo.String())
}

// eachOpen calls visit with the open pull requests of repo into base
// (any base when ""), from branch head of repo (any head when ""), oldest
// first, page by page, until visit returns false or the last page.
func (h *Host) eachOpen(ctx context.Context, repo githost.Repo, head, base string, visit func(*gh.PullRequest) bool) error {
	opt := &gh.PullRequestListOptions{State: "open", Base: base, Sort: "created", Direction: "asc", ListOptions: gh.ListOptions{PerPage: perPage}}
	if head != "" {
		opt.Head = repo.Owner + ":" + head
	}
	for page := 1; ; {
		opt.Page = page
		prs, resp, err := h.client.PullRequests.List(ctx, repo.Owner, repo.Name, opt)
		if err != nil {
			return fail(ctx, h.call("list pull requests %s (page %d)", repo, page), err)
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
	pr, err := h.get(ctx, repo, number, "get")
	if err != nil {
		return githost.PullRequest{}, err
	}
	return convert(pr), nil
}

func (h *Host) get(ctx context.Context, repo githost.Repo, number int, verb string) (*gh.PullRequest, error) {
	call := h.call("%s pull request %s#%d", verb, repo, number)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckNumber(number)); reason != "" {
		return nil, call.Invalid(reason)
	}
	pr, _, err := h.client.PullRequests.Get(ctx, repo.Owner, repo.Name, number)
	if err != nil {
		return nil, fail(ctx, call, err)
	}
	return pr, nil
}

// ListOpenPullRequests lists the open pull requests into base (all when
// base is ""), oldest first.
func (h *Host) ListOpenPullRequests(ctx context.Context, repo githost.Repo, base string) ([]githost.PullRequest, error) {
	if reason := hostapi.CheckRepo(repo); reason != "" {
		return nil, h.call("list pull requests %s", repo).Invalid(reason)
	}
	var out []githost.PullRequest
	err := h.eachOpen(ctx, repo, "", base, func(pr *gh.PullRequest) bool {
		out = append(out, convert(pr))
		return true
	})
	return out, err
}

// ClosePullRequest comments (when comment is not "") on an open pull
// request and closes it. A closed or merged one is left as it is.
func (h *Host) ClosePullRequest(ctx context.Context, repo githost.Repo, number int, comment string) error {
	pr, err := h.get(ctx, repo, number, "close")
	if err != nil {
		return err
	}
	if pr.GetState() != "open" {
		return nil
	}
	if comment != "" {
		if _, err := h.createComment(ctx, repo, number, comment); err != nil {
			return err
		}
	}
	closed := "closed"
	_, err = h.edit(ctx, repo, number, &gh.PullRequest{State: &closed})
	return err
}

// convert is the githost view of a go-github pull request. Lists carry
// merged_at but not merged.
func convert(pr *gh.PullRequest) githost.PullRequest {
	merged := pr.GetMerged() || pr.MergedAt != nil
	out := githost.PullRequest{
		Number:  pr.GetNumber(),
		State:   pr.GetState(),
		Merged:  merged,
		Title:   pr.GetTitle(),
		Body:    pr.GetBody(),
		Head:    pr.GetHead().GetRef(),
		HeadSHA: pr.GetHead().GetSHA(),
		Base:    pr.GetBase().GetRef(),
		URL:     pr.GetHTMLURL(),
		Author:  pr.GetUser().GetLogin(),
		Fork:    !strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), pr.GetBase().GetRepo().GetFullName()) || pr.GetHead().GetRepo().GetFullName() == "",
	}
	if merged {
		out.MergeSHA = pr.GetMergeCommitSHA()
	}
	return out
}
