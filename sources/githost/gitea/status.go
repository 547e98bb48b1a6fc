package gitea

import (
	"context"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/githost/internal/hostapi"
)

// SetStatus sets commit status st on sha. Gitea's states are GitHub's
// (pending, success, failure, error) plus warning, which trueup does not
// use.
func (h *Host) SetStatus(ctx context.Context, repo githost.Repo, sha string, st githost.Status) error {
	call := h.call("set status %q on %s@%s", st.Context, repo, sha)
	if reason := hostapi.First(hostapi.CheckRepo(repo), hostapi.CheckSHA(sha), hostapi.CheckStatus(st)); reason != "" {
		return call.Invalid(reason)
	}
	c, err := h.client(ctx)
	if err != nil {
		return call.Invalid(err.Error())
	}
	opt := sdk.CreateStatusOption{State: sdk.StatusState(st.State), TargetURL: st.URL, Description: st.Description, Context: st.Context}
	if _, resp, err := c.CreateStatus(repo.Owner, repo.Name, sha, opt); err != nil {
		return fail(ctx, call, resp, err)
	}
	return nil
}

// CanPush reports whether login may push to repo, by its collaborator
// permission (which covers owners, organisation teams and admins).
func (h *Host) CanPush(ctx context.Context, repo githost.Repo, login string) (bool, error) {
	call := h.call("permission of %q on %s", login, repo)
	if reason := hostapi.CheckRepo(repo); reason != "" {
		return false, call.Invalid(reason)
	}
	c, err := h.client(ctx)
	if err != nil {
		return false, call.Invalid(err.Error())
	}
	perm, resp, err := c.CollaboratorPermission(repo.Owner, repo.Name, login)
	if err != nil {
		return false, fail(ctx, call, resp, err)
	}
	return perm != nil && githost.PushPermission(string(perm.Permission)), nil
}
