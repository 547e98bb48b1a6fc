package reconciler

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/state"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/git"
	"github.com/trueup-dev/trueup/sources/githost"
	"github.com/trueup-dev/trueup/sources/writeback"
)

// GitWriter pushes trueup's branches and fetches pull request heads
// (implemented by *git.Client).
type GitWriter interface {
	Push(ctx context.Context, src git.Source, req git.PushRequest) (git.PushResult, error)
	DeleteBranch(ctx context.Context, src git.Source, branch string) error
	FetchRef(ctx context.Context, src git.Source, ref string) (sources.Revision, error)
}

var _ GitWriter = (*git.Client)(nil)

// GitHost is a source's repository on its Git host.
type GitHost struct {
	Host githost.Host
	Repo githost.Repo
	// Preview comments on open pull requests with their effect.
	Preview bool
	// AllowForks previews pull requests from forks whose author may not
	// push to Repo too (see PreviewPullRequest).
	AllowForks bool
	// Timeout bounds each call to the host (wire it from the timeouts of
	// the source's targets); default DefaultHostTimeout.
	Timeout time.Duration
}

// DefaultHostTimeout bounds a Git host call when GitHost sets no Timeout.
const DefaultHostTimeout = 30 * time.Second

// call bounds one call to the host: a host that accepts the connection and
// never answers fails the call instead of hanging the reconcile.
func (g GitHost) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cmp.Or(g.Timeout, DefaultHostTimeout))
}

// WithGitHosts lets targets in drift mode pull-request adopt drift through
// pull requests, and enables previews: hosts (keyed by source name) open
// and update the pull requests, and the loader's source client (when it
// is a GitWriter, as *git.Client is) pushes the branches.
func WithGitHosts(hosts map[string]GitHost) Option {
	return func(r *Reconciler) { r.hosts = hosts }
}

// pullRequestData is the Data of a pull-request record.
type pullRequestData struct {
	Number  int                 `json:"number,omitempty"`
	URL     string              `json:"url,omitempty"`
	Branch  string              `json:"branch"`
	Base    string              `json:"base,omitempty"`
	Commit  string              `json:"commit,omitempty"`
	Episode string              `json:"episode"`
	Changes []writeback.Applied `json:"changes,omitempty"`
	Fields  []drift.FieldDiff   `json:"fields,omitempty"`
	Error   string              `json:"error,omitempty"`
	Status  state.EpisodeStatus `json:"status,omitempty"`
}

// Pull request record outcomes.
const (
	prOpened  = "opened"
	prUpdated = "updated"
	prMerged  = "merged"
	prClosed  = "closed"
	prFailed  = "failed"
)

// pullRequests is the pull-request step of a reconcile of a target in
// drift mode pull-request, run after its drift episodes moved: every
// drifted object's open episode gets a pull request that writes the live
// values back into Git (opened once, updated when the drift changes), and
// an episode that closed has its pull request recorded as merged (adopted)
// or closed (the drift ended another way). It returns the records to append
// with the reconcile's, and changes the episodes in changes to carry their
// pull request; extra are transitions to announce that the history already
// has (a pull request opened after its episode).
func (r *Reconciler) pullRequests(ctx context.Context, out *Outcome, changes []episodeChange) (recs []history.Record, extra []episodeChange) {
	t, ok := r.cfg.Target(out.Target)
	if !ok || r.git == nil || out.plan == nil || r.rec.state == nil {
		return nil, nil
	}
	// Other drift modes open pull requests when an operator asks
	// (RequestPullRequest), and settle those when their episodes close.
	open := t.Remediation.Drift == "pull-request" || out.pullRequests
	if !open && !slices.ContainsFunc(changes, func(c episodeChange) bool {
		return c.Transition.Kind == state.TransitionResolved && c.Episode.PullRequest != ""
	}) {
		return nil, nil
	}
	gh, ok := r.hosts[t.Source]
	if !ok {
		return nil, nil
	}
	src := r.loader.sources[t.Source]
	cs, _ := r.cfg.Source(t.Source) // validated: the target's source exists and follows a branch
	p := &prRun{r: r, t: t, src: src, base: sourceBranch(cs), gh: gh, out: out}
	changed := map[string]bool{}
	for i, c := range changes {
		switch c.Transition.Kind {
		case state.TransitionResolved:
			if c.Episode.PullRequest != "" {
				recs = append(recs, p.settle(ctx, c.Episode, c.Transition.How))
			}
		case state.TransitionOpened, state.TransitionUpdated:
			if !open {
				continue
			}
			changed[c.Episode.ID] = true
			if rec, ok := p.ensure(ctx, &changes[i].Episode); ok {
				recs = append(recs, rec)
			}
		}
	}
	// Episodes still without a pull request (the host was down, or the
	// config changed to pull-request) get one now.
	for _, rep := range out.Report.Objects {
		if !open || rep.Status != drift.Drifted {
			continue
		}
		ep, err := r.rec.state.OpenEpisode(nil, out.Target, rep.Ref)
		if err != nil || ep == nil || changed[ep.ID] || ep.PullRequest != "" {
			continue
		}
		if rec, ok := p.ensure(ctx, ep); ok {
			recs = append(recs, rec)
			if ep.PullRequest != "" {
				extra = append(extra, episodeChange{Episode: *ep, Transition: state.Transition{Kind: state.TransitionUpdated}})
			}
		}
	}
	return recs, extra
}

// prRun is the pull-request step of one reconcile.
type prRun struct {
	r   *Reconciler
	t   *config.Target
	src git.Source
	// base is the branch the source follows: the pull requests go into it.
	base string
	gh   GitHost
	out  *Outcome
}

// record is a pull-request record of the reconcile.
func (p *prRun) record(ep *state.Episode, outcome, msg string, d pullRequestData) history.Record {
	d.Episode = ep.ID
	return history.Record{Type: history.TypePullRequest, Target: p.t.Name, Object: ep.Object, Revision: p.out.Revision.Commit,
		Actor: "trueup", Outcome: outcome, Message: msg, Data: mustJSON(d)}
}

// ensure writes the episode's live values back on its branch and opens or
// updates its pull request, setting ep.PullRequest. ok is false when there
// is nothing to record: Git already holds every live value, or the same
// failure was recorded for the same drift before.
func (p *prRun) ensure(ctx context.Context, ep *state.Episode) (history.Record, bool) {
	if ep.Drift != drift.Drifted {
		return history.Record{}, false // a missing object is not a value to write back
	}
	branch := branchName(p.r.cfg.PullRequests.BranchPrefix, p.t.Name, ep.Object)
	d := pullRequestData{Branch: branch, Base: p.base, Fields: ep.Fields}
	fail := func(err error) (history.Record, bool) {
		st := p.r.targetState(p.t.Name)
		key := ep.ID + "\x00" + fieldsKey(ep.Fields) + "\x00" + err.Error()
		if st == nil || !st.notePRFailure(ep.ID, key) {
			return history.Record{}, false
		}
		p.r.log.Warn("pull request not opened", "target", p.t.Name, "object", ep.Object, "error", err.Error())
		d.Error = err.Error()
		return p.record(ep, prFailed, "pull request not opened: "+err.Error(), d), true
	}
	ref, err := parseRef(ep.Object, p.out.plan)
	if err != nil {
		return fail(err)
	}
	files, err := p.r.loader.client.ReadFiles(ctx, p.src, p.out.Revision.Commit, p.r.loader.read)
	if err != nil {
		return fail(fmt.Errorf("read %s: %w", p.out.Revision.Short(), err))
	}
	changes := make([]writeback.Change, 0, len(ep.Fields))
	for _, f := range ep.Fields {
		changes = append(changes, writeback.Change{Path: f.Path, Live: f.Live, Masked: f.Masked})
	}
	var res writeback.Result
	if p.t.Render != nil && p.t.Render.Helm != nil {
		res, err = p.r.loader.helmWriteback(ctx, p.t, files, ref, changes)
	} else {
		res, err = writeback.EditWithOptions(files, p.t.Path, ref, changes,
			writeback.Options{DefaultNamespace: p.t.Namespace, Desired: desiredObject(p.out.plan, ref)})
	}
	if err != nil {
		return fail(err)
	}
	if len(res.Files) == 0 {
		return history.Record{}, false // Git already holds the live values
	}
	d.Changes = res.Changes
	pr := p.r.cfg.PullRequests
	pushed, err := p.r.git.Push(ctx, p.src, git.PushRequest{
		Base: p.out.Revision.Commit, Files: res.Files, Branch: branch,
		Author:  sources.Person{Name: pr.AuthorName, Email: pr.AuthorEmail},
		Message: commitMessage(p.t, ep),
	})
	if err != nil {
		return fail(err)
	}
	d.Commit = pushed.Commit
	hctx, cancel := p.gh.call(ctx)
	got, created, err := p.gh.Host.EnsurePullRequest(hctx, p.gh.Repo, githost.NewPullRequest{
		Head: branch, Base: p.base, Title: prTitle(p.t, ep), Body: prBody(p.r.cfg, p.t, ep, res.Changes),
	})
	cancel()
	if err != nil {
		return fail(err)
	}
	d.Number, d.URL = got.Number, got.URL
	if err := p.r.rec.state.SetPullRequest(ep.ID, got.URL); err != nil {
		p.r.log.Error("state: pull request not kept", "episode", ep.ID, "error", err.Error())
	}
	ep.PullRequest = got.URL
	if st := p.r.targetState(p.t.Name); st != nil {
		st.notePRFailure(ep.ID, "")
	}
	outcome := prUpdated
	if created {
		outcome = prOpened
	}
	if !created && pushed.Unchanged {
		return history.Record{}, false // re-run: branch and pull request as they were
	}
	return p.record(ep, outcome, fmt.Sprintf("pull request #%d %s: %s", got.Number, outcome, got.URL), d), true
}

// settle records what became of a closed episode's pull request: merged
// when the episode was adopted (Git took the live value), else closed with
// a comment saying why, and its branch deleted.
func (p *prRun) settle(ctx context.Context, ep state.Episode, how state.EpisodeStatus) history.Record {
	branch := branchName(p.r.cfg.PullRequests.BranchPrefix, p.t.Name, ep.Object)
	d := pullRequestData{URL: ep.PullRequest, Branch: branch, Base: p.base, Status: how}
	number, err := prNumber(ep.PullRequest)
	if err == nil {
		d.Number = number
		var got githost.PullRequest
		hctx, cancel := p.gh.call(ctx)
		defer cancel()
		got, err = p.gh.Host.GetPullRequest(hctx, p.gh.Repo, number)
		// Adopted: the merge commit reached the branch. A host may push it
		// before it marks the pull request merged (Gitea does, under load),
		// so an open one is asked again for a few seconds before it is
		// taken as adopted some other way and closed.
		for wait := 500 * time.Millisecond; err == nil && how == state.EpisodeAdopted && !got.Merged && got.State == "open" && wait <= 4*time.Second; wait *= 2 {
			select {
			case <-hctx.Done():
			case <-time.After(wait):
			}
			got, err = p.gh.Host.GetPullRequest(hctx, p.gh.Repo, number)
		}
		if err == nil {
			switch {
			case got.Merged:
				d.Commit = got.MergeSHA
				return p.record(&ep, prMerged, fmt.Sprintf("pull request #%d merged: drift %s", number, how), d)
			case got.State == "open":
				comment := fmt.Sprintf("The drift this pull request adopts ended before it merged: the episode is **%s**. trueup closes it; nothing in Git changes.", how)
				cctx, cancel := p.gh.call(ctx)
				err = p.gh.Host.ClosePullRequest(cctx, p.gh.Repo, number, comment)
				cancel()
			}
		}
	}
	if err == nil {
		if derr := p.r.git.DeleteBranch(ctx, p.src, branch); derr != nil {
			p.r.log.Warn("pull request branch not deleted", "target", p.t.Name, "branch", branch, "error", derr.Error())
		}
		return p.record(&ep, prClosed, fmt.Sprintf("pull request #%d closed: drift %s", number, how), d)
	}
	d.Error = err.Error()
	p.r.log.Warn("pull request not closed", "target", p.t.Name, "object", ep.Object, "error", err.Error())
	return p.record(&ep, prFailed, "pull request not closed: "+err.Error(), d)
}

// branchName is prefix/target/object with the object's ref made a valid
// branch name (Kind.group/namespace/name, "_" for no namespace); a name
// Git refuses becomes a digest.
func branchName(prefix, target, object string) string {
	kind, rest, _ := strings.Cut(object, "/")
	ns, name, _ := strings.Cut(rest, "/")
	if ns == "" {
		ns = "_"
	}
	b := prefix + "/" + target + "/" + kind + "/" + ns + "/" + name
	if plumbing.NewBranchReferenceName(b).Validate() == nil && !strings.Contains(b, "//") {
		return b
	}
	sum := sha256.Sum256([]byte(target + "\x00" + object))
	return prefix + "/" + hex.EncodeToString(sum[:8])
}

// parseRef finds the drifted object's ref in the plan.
func parseRef(object string, plan *Plan) (drift.ObjectRef, error) {
	for _, rep := range plan.Report.Objects {
		if rep.Ref.String() == object {
			return rep.Ref, nil
		}
	}
	return drift.ObjectRef{}, fmt.Errorf("object %s is not in the plan", object)
}

// desiredObject is the rendered (unprepared) desired object, for the
// write-back's list item matching.
func desiredObject(plan *Plan, ref drift.ObjectRef) map[string]any {
	for i, o := range plan.Objects {
		if drift.RefOf(o) == ref && i < len(plan.Desired.Objects) {
			return plan.Desired.Objects[i].Object.Object
		}
	}
	return nil
}

// prNumber is the number at the end of a pull request's web address
// (.../pulls/7 on Gitea, .../pull/7 on GitHub).
func prNumber(u string) (int, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return 0, fmt.Errorf("pull request address %q: %w", u, err)
	}
	n, err := strconv.Atoi(path.Base(pu.Path))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("pull request address %q does not end in its number", u)
	}
	return n, nil
}

// fieldsKey identifies a drift's fields for failure dedup.
func fieldsKey(fields []drift.FieldDiff) string {
	return string(mustJSON(fields))
}

func prTitle(t *config.Target, ep *state.Episode) string {
	return fmt.Sprintf("trueup: adopt live %s into Git (%s)", ep.Object, t.Name)
}

func commitMessage(t *config.Target, ep *state.Episode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Adopt live %s into Git\n\nTarget %s: the live object differs from Git in %d field(s); this commit\nwrites the live values back:\n\n", ep.Object, t.Name, len(ep.Fields))
	for _, f := range ep.Fields {
		fmt.Fprintf(&b, "  %s: %s\n", f.Path, notifications.GitLive(fieldValue(f, f.Desired), fieldValue(f, f.Live)))
	}
	fmt.Fprintf(&b, "\nTrueup-Episode: %s\n", ep.ID)
	return b.String()
}

// fieldValue formats a value for a commit or pull request, masked values
// as <masked>.
func fieldValue(f drift.FieldDiff, v any) string {
	if f.Masked {
		return "<masked>"
	}
	return notifications.FormatValue(v)
}

// prBody is the pull request's description: the drift, who and when, where
// each value was written, and a link to the episode.
func prBody(cfg *config.Config, t *config.Target, ep *state.Episode, applied []writeback.Applied) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- trueup:episode %s -->\n", ep.ID)
	fmt.Fprintf(&b, "The live object **%s** of target **%s** (cluster **%s**) differs from Git. Merging this pull request makes Git hold the live values; trueup then closes the drift episode as *adopted*. Closing it leaves the drift to be healed or accepted.\n\n", mdText(ep.Object), mdText(t.Name), mdText(t.Cluster))
	b.WriteString("| Field | Git | Live (written by this PR) | Changed by |\n|---|---|---|---|\n")
	for _, f := range ep.Fields {
		by := ""
		if f.Actor != nil {
			by = actorName(*f.Actor)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCode(f.Path), mdCode(fieldValue(f, f.Desired)), mdCode(fieldValue(f, f.Live)), mdText(by))
	}
	b.WriteString("\n**Where the values were written**\n\n")
	for _, a := range applied {
		line := ""
		if a.Line > 0 {
			line = fmt.Sprintf(" line %d", a.Line)
		}
		shared := ""
		if a.Shared {
			shared = " (a shared base: other targets that build it change too)"
		}
		if a.Unchanged {
			fmt.Fprintf(&b, "- %s: Git already has it in %s\n", mdCode(a.Path), mdCode(a.File))
			continue
		}
		fmt.Fprintf(&b, "- %s → %s%s: %s%s\n", mdCode(a.Path), mdCode(a.File), line, a.Action.Describe(), shared)
	}
	b.WriteString("\n")
	if ep.Actor != nil {
		fmt.Fprintf(&b, "Last changed by **%s**", mdText(actorName(*ep.Actor)))
		if !ep.Actor.Time.IsZero() {
			fmt.Fprintf(&b, " at %s", ep.Actor.Time.UTC().Format(time.RFC3339))
		}
		b.WriteString(". ")
	}
	fmt.Fprintf(&b, "Drift detected at %s. ", ep.Opened.UTC().Format(time.RFC3339))
	if base := strings.TrimRight(cfg.Server.PublicURL, "/"); base != "" {
		fmt.Fprintf(&b, "Episode [%s](%s/episodes/%s).\n", mdText(ep.ID), base, url.PathEscape(ep.ID))
	} else {
		fmt.Fprintf(&b, "Episode `%s` (`trueup history --object %s`).\n", ep.ID, ep.Object)
	}
	return b.String()
}

// mdCode is s as inline code in a Markdown table: backticks and pipes
// cannot end the span or the cell.
func mdCode(s string) string {
	s = strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return "`" + s + "`"
}

// mdText is s with Markdown's active characters escaped.
func mdText(s string) string {
	return strings.NewReplacer("\\", "\\\\", "*", "\\*", "_", "\\_", "`", "\\`", "|", "\\|", "<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]", "@", "@\u200b", "\n", " ").Replace(s)
}
