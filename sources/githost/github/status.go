package github

import (
	"context"

	gh "github.com/google/go-github/v84/github"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

// maxDescription is the longest status description GitHub accepts, in
// characters; longer ones are cut rather than refused with a 422.
const maxDescription = 140

// SetStatus sets commit status st on sha. The description is cut to 140
// characters; an empty description or URL is left out.
func (h *Host) SetStatus(ctx context.Context, repo githost.Repo, sha string, st githost.Status) error {
	call := h.call("set status %q on %s@%s", st.Context, repo, sha)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckSHA(sha), hostapi.CheckStatus(st)); reason != "" {
		return call.Invalid(reason)
	}
	state := string(st.State)
	status := gh.RepoStatus{State: &state, Context: &st.Context}
	if st.Description != "" {
		d := truncate(st.Description, maxDescription)
		status.Description = &d
	}
	if st.URL != "" {
		status.TargetURL = &st.URL
	}
	if _, _, err := h.client.Repositories.CreateStatus(ctx, repo.Owner, repo.Name, sha, status); err != nil {
		return fail(ctx, call, err)
	}
	return nil
}

// truncate cuts s to at most n characters, ending it with "…" when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// CanPush reports whether login may push to repo, by its permission level
// (admin, maintain and write may; GitHub reports maintain as write).
func (h *Host) CanPush(ctx context.Context, repo githost.Repo, login string) (bool, error) {
	call := h.call("permission of %q on %s", login, repo)
	if reason := hostapi.CheckRepo(repo); reason != "" {
		return false, call.Invalid(reason)
	}
	perm, _, err := h.client.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Name, login)
	if err != nil {
		return false, fail(ctx, call, err)
	}
	return githost.PushPermission(perm.GetPermission()) || githost.PushPermission(perm.GetRoleName()), nil
}
