package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/notifications"
	"github.com/trueup-dev/trueup/reconciler/config"
	"github.com/trueup-dev/trueup/reconciler/history"
	"github.com/trueup-dev/trueup/reconciler/kube"
	"github.com/trueup-dev/trueup/reconciler/policy"
	"github.com/trueup-dev/trueup/sources"
	"github.com/trueup-dev/trueup/sources/githost"
)

// previewMarker identifies trueup's preview comment on a pull request.
const previewMarker = "<!-- trueup:preview -->"

// previewTimeout bounds a preview a webhook started.
const previewTimeout = 5 * time.Minute

// previewStatusContext is the commit status trueup sets on a previewed head.
const previewStatusContext = "trueup/preview"

// Preview is the effect a pull request would have on the targets of its
// source that follow its base branch.
type Preview struct {
	Source string `json:"source"`
	Number int    `json:"number"`
	URL    string `json:"url,omitempty"`
	// Head is the previewed commit.
	Head    sources.Revision `json:"head"`
	Targets []TargetPreview  `json:"targets"`
	// Failed: a target could not be previewed, or enforced policies would
	// block objects; the commit status is failure.
	Failed bool `json:"failed"`
	// Skipped says why nothing was previewed (a closed pull request, a
	// head already previewed, a fork whose author may not push: that one
	// is Failed too).
	Skipped string `json:"skipped,omitempty"`
}

// TargetPreview is one target's server-side dry-run of the pull request.
type TargetPreview struct {
	Target      string `json:"target"`
	Destination string `json:"destination"`
	// Objects are the compared objects that would change (drifted from the
	// head's point of view: fields Git would write) and those it would
	// create.
	Changes []drift.ObjectReport `json:"changes,omitempty"`
	// Apply is the dry-run apply with pruning: its entries say created,
	// configured, unchanged and deleted (the prune list).
	Apply        *kube.Result     `json:"apply,omitempty"`
	PruneBlocked string           `json:"pruneBlocked,omitempty"`
	Policy       []policy.Finding `json:"policy,omitempty"`
	Error        string           `json:"error,omitempty"`
}

// failed reports whether the target's preview fails the pull request.
func (tp TargetPreview) failed() bool {
	return tp.Error != "" || len(policy.Blocking(tp.Policy)) > 0
}

// previews remembers the head each pull request was last previewed at, so
// polling does not repeat a preview.
type previews struct {
	mu   sync.Mutex
	done map[string]string // source/number -> head sha
	// running serialises previews of one pull request.
	running map[string]*sync.Mutex
	// slots bound the previews webhooks start; base is their parent.
	slots chan struct{}
	base  context.Context
}

func (p *previews) lock(key string) func() {
	p.mu.Lock()
	if p.running == nil {
		p.running = map[string]*sync.Mutex{}
	}
	m, ok := p.running[key]
	if !ok {
		m = &sync.Mutex{}
		p.running[key] = m
	}
	p.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (p *previews) seen(key, sha string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[key] == sha
}

func (p *previews) mark(key, sha string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		p.done = map[string]string{}
	}
	p.done[key] = sha
}

// PreviewPullRequest previews pull request number of a source: it fetches
// the head (refs/pull/N/head), renders it for every target that follows
// the pull request's base branch, dry-runs the apply with pruning on the
// server side, evaluates the policies, and keeps one comment on the pull
// request up to date with the result; the head commit gets the status
// trueup/preview. A head previewed before is skipped unless force.
func (r *Reconciler) PreviewPullRequest(ctx context.Context, source string, number int, force bool) (*Preview, error) {
	gh, ok := r.hosts[source]
	if !ok || r.git == nil {
		return nil, fmt.Errorf("source %q has no provider: set sources[].provider to preview its pull requests", source)
	}
	key := fmt.Sprintf("%s/%d", source, number)
	defer r.prev.lock(key)()
	hctx, cancel := gh.call(ctx)
	pr, err := gh.Host.GetPullRequest(hctx, gh.Repo, number)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	pv := &Preview{Source: source, Number: number, URL: pr.URL}
	switch {
	case pr.State != "open":
		pv.Skipped = "the pull request is " + pr.State
		return pv, nil
	case !force && r.prev.seen(key, pr.HeadSHA):
		pv.Skipped = "head " + shortSHA(pr.HeadSHA) + " already previewed"
		return pv, nil
	}
	targets := r.previewTargets(source, pr.Base)
	if len(targets) == 0 {
		pv.Skipped = "no target follows branch " + pr.Base
		return pv, nil
	}
	if reason := r.previewRefusal(ctx, gh, pr); reason != "" {
		pv.Skipped, pv.Failed = reason, true
		return pv, r.refusePreview(ctx, gh, pr, key, reason)
	}
	src := r.loader.sources[source]
	head, err := r.git.FetchRef(ctx, src, fmt.Sprintf("refs/pull/%d/head", number))
	if err != nil {
		return nil, fmt.Errorf("preview: fetch the head of pull request #%d: %w", number, err)
	}
	if pr.HeadSHA != "" && !strings.EqualFold(head.Commit, pr.HeadSHA) {
		// The host moves refs/pull/N/head after it reports the new head;
		// previewing the old commit now would mark the new head as done.
		return nil, fmt.Errorf("preview: pull request #%d: refs/pull/%d/head is still at %s, the host reports %s; retried at the next poll", number, number, shortSHA(head.Commit), shortSHA(pr.HeadSHA))
	}
	pv.Head = head
	for _, t := range targets {
		tp := r.previewTarget(ctx, t, head)
		pv.Failed = pv.Failed || tp.failed()
		pv.Targets = append(pv.Targets, tp)
	}
	body := previewComment(pv)
	hctx, cancel = gh.call(ctx)
	_, _, err = gh.Host.UpsertComment(hctx, gh.Repo, number, previewMarker, body)
	cancel()
	if err != nil {
		return pv, fmt.Errorf("preview: comment on pull request #%d: %w", number, err)
	}
	st := githost.Status{State: githost.StatusSuccess, Context: previewStatusContext, Description: previewSummary(pv), URL: pr.URL}
	if pv.Failed {
		st.State = githost.StatusFailure
	}
	hctx, cancel = gh.call(ctx)
	err = gh.Host.SetStatus(hctx, gh.Repo, head.Commit, st)
	cancel()
	if err != nil {
		return pv, fmt.Errorf("preview: status of %s: %w", head.Short(), err)
	}
	r.prev.mark(key, pr.HeadSHA)
	r.recordPreview(ctx, pv)
	return pv, nil
}

// previewRefusal says why a pull request must not be previewed, or "". A
// preview dry-runs the pull request's objects with trueup's identity and
// shows live values, so a pull request from a fork is previewed only when
// its author may push to the repository, or the provider allows forks.
func (r *Reconciler) previewRefusal(ctx context.Context, gh GitHost, pr githost.PullRequest) string {
	if !pr.Fork || gh.AllowForks {
		return ""
	}
	hctx, cancel := gh.call(ctx)
	defer cancel()
	ok, err := gh.Host.CanPush(hctx, gh.Repo, pr.Author)
	switch {
	case err != nil:
		return fmt.Sprintf("it comes from a fork, and whether its author %s may push to %s could not be checked (%v)", pr.Author, gh.Repo, err)
	case !ok:
		return fmt.Sprintf("it comes from a fork, and its author %s may not push to %s", pr.Author, gh.Repo)
	}
	return ""
}

// refusePreview keeps trueup's comment on the pull request saying why it
// was not previewed (no live value in it) and fails its preview status.
func (r *Reconciler) refusePreview(ctx context.Context, gh GitHost, pr githost.PullRequest, key, reason string) error {
	r.log.Info("pull request not previewed", "repository", gh.Repo.String(), "number", pr.Number, "reason", reason)
	body := previewMarker + "\n### trueup did not preview this pull request\n\n" + mdText(reason) + ".\n\n" +
		"A preview dry-runs the pull request's objects against the live destination with trueup's identity and shows live values. " +
		"To get one, push the branch to the repository itself, or ask an owner to set `sources[].provider.preview.allowForks: true`.\n"
	hctx, cancel := gh.call(ctx)
	_, _, err := gh.Host.UpsertComment(hctx, gh.Repo, pr.Number, previewMarker, body)
	cancel()
	if err != nil {
		return fmt.Errorf("preview: comment on pull request #%d: %w", pr.Number, err)
	}
	st := githost.Status{State: githost.StatusFailure, Context: previewStatusContext, Description: "not previewed: a fork whose author may not push here", URL: pr.URL}
	hctx, cancel = gh.call(ctx)
	err = gh.Host.SetStatus(hctx, gh.Repo, pr.HeadSHA, st)
	cancel()
	if err != nil {
		return fmt.Errorf("preview: status of %s: %w", shortSHA(pr.HeadSHA), err)
	}
	r.prev.mark(key, pr.HeadSHA)
	return nil
}

// previewTargets are the targets of the source that follow branch.
func (r *Reconciler) previewTargets(source, branch string) []*config.Target {
	src, ok := r.cfg.Source(source)
	if !ok {
		return nil
	}
	if sourceBranch(src) != branch {
		return nil
	}
	var out []*config.Target
	for i := range r.cfg.Targets {
		if t := &r.cfg.Targets[i]; t.Source == source && !t.Suspend {
			out = append(out, t)
		}
	}
	return out
}

// previewTarget renders the head for one target and dry-runs it.
func (r *Reconciler) previewTarget(ctx context.Context, t *config.Target, head sources.Revision) TargetPreview {
	tp := TargetPreview{Target: t.Name, Destination: "cluster " + t.Cluster}
	if t.Account != "" {
		tp.Destination = "account " + t.Account
	}
	d, err := r.loader.LoadRevision(ctx, t, r.loader.sources[t.Source], head)
	if err != nil {
		tp.Error = err.Error()
		return tp
	}
	_, _, dest, err := r.target(t.Name)
	if err != nil {
		tp.Error = err.Error()
		return tp
	}
	scratch := newTargetState() // the target's own caches stay the target's
	plan, err := r.planTarget(ctx, t, scratch, dest, planOptions{fresh: true, desired: d, scoped: true})
	if err != nil {
		tp.Error = err.Error()
		return tp
	}
	for _, o := range plan.Report.Objects {
		if o.Status == drift.Drifted || o.Status == drift.Missing || o.Status == drift.Unknown {
			tp.Changes = append(tp.Changes, o)
		}
	}
	if err := r.withPolicies(ctx, t, dest, plan); err != nil {
		tp.Error = err.Error()
		return tp
	}
	if plan.policies != nil {
		for _, o := range plan.Objects {
			tp.Policy = append(tp.Policy, plan.policies.Evaluate(o, plan.live[drift.RefOf(o)], r.now())...)
		}
	}
	out := &Outcome{Target: t.Name, Trigger: TriggerPreview, DryRun: true}
	r.apply(ctx, t, scratch, dest, plan.Objects, plan, out, ReconcileOptions{DryRun: true}, true)
	tp.Apply, tp.PruneBlocked = out.Apply, out.PruneBlocked
	if out.Err != nil {
		tp.Error = out.Err.Error()
	}
	return tp
}

// recordPreview appends the preview to the history.
func (r *Reconciler) recordPreview(ctx context.Context, pv *Preview) {
	outcome := "previewed"
	if pv.Failed {
		outcome = "preview-failed"
	}
	var recs []history.Record
	for _, tp := range pv.Targets {
		d := map[string]any{"number": pv.Number, "url": pv.URL, "head": pv.Head.Commit, "failed": tp.failed()}
		if tp.Apply != nil {
			d["applied"] = tp.Apply.Counts()
		}
		if tp.Error != "" {
			d["error"] = tp.Error
		}
		recs = append(recs, history.Record{Type: history.TypePullRequest, Target: tp.Target, Revision: pv.Head.Commit,
			Actor: pv.Head.Author.Name, Outcome: outcome, Time: r.now(),
			Message: fmt.Sprintf("pull request #%d previewed at %s: %s", pv.Number, pv.Head.Short(), previewTargetSummary(tp)), Data: mustJSON(d)})
	}
	if err := r.rec.append(ctx, recs); err != nil {
		r.log.Error("history not recorded", "preview", pv.Number, "error", err.Error())
	}
}

// PollPullRequests previews the open pull requests of a source whose head
// changed since their last preview.
func (r *Reconciler) PollPullRequests(ctx context.Context, source string) ([]*Preview, error) {
	gh, ok := r.hosts[source]
	if !ok || !gh.Preview {
		return nil, nil
	}
	src, _ := r.cfg.Source(source)
	branch := sourceBranch(src)
	if branch == "" {
		return nil, nil // a tag, semver range or commit: no branch for pull requests to go into
	}
	hctx, cancel := gh.call(ctx)
	prs, err := gh.Host.ListOpenPullRequests(hctx, gh.Repo, branch)
	cancel()
	if err != nil {
		return nil, err
	}
	var out []*Preview
	var errs []string
	for _, pr := range prs {
		if r.prev.seen(fmt.Sprintf("%s/%d", source, pr.Number), pr.HeadSHA) || r.ownBranch(pr.Head) {
			continue
		}
		pv, err := r.PreviewPullRequest(ctx, source, pr.Number, false)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		out = append(out, pv)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// ownBranch reports whether a branch is one of trueup's drift branches:
// their pull requests write live values into Git and need no preview.
func (r *Reconciler) ownBranch(branch string) bool {
	return strings.HasPrefix(branch, r.cfg.PullRequests.BranchPrefix+"/")
}

// TriggerPullRequest previews a pull request in the background (a webhook
// told of it) and returns at once; the preview's errors are logged.
func (r *Reconciler) TriggerPullRequest(repoURLs []string, number int, head string) []string {
	want := repoKeys(repoURLs)
	var started []string
	for _, s := range r.cfg.Sources {
		gh, ok := r.hosts[s.Name]
		if !ok || !gh.Preview || !want[repoKey(s.URL)] || r.ownBranch(head) {
			continue
		}
		started = append(started, s.Name)
		go r.prev.run(func(ctx context.Context) {
			if _, err := r.PreviewPullRequest(ctx, s.Name, number, false); err != nil && ctx.Err() == nil {
				r.log.Error("pull request preview failed", "source", s.Name, "number", number, "error", err.Error())
			}
		})
	}
	return started
}

// maxPreviews bounds the previews webhooks run at once.
const maxPreviews = 2

// run runs a preview a webhook asked for: at most maxPreviews at once,
// within previewTimeout, and cancelled when the daemon stops.
func (p *previews) run(fn func(ctx context.Context)) {
	p.mu.Lock()
	if p.slots == nil {
		p.slots = make(chan struct{}, maxPreviews)
	}
	slots, base := p.slots, p.base
	p.mu.Unlock()
	if base == nil {
		base = context.Background()
	}
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-base.Done():
		return
	}
	ctx, cancel := context.WithTimeout(base, previewTimeout)
	defer cancel()
	fn(ctx)
}

// setBase makes ctx the parent of the previews webhooks start (Run's).
func (p *previews) setBase(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base = ctx
}

// previewComment is the Markdown of the preview comment.
func previewComment(pv *Preview) string {
	var b strings.Builder
	b.WriteString(previewMarker + "\n")
	verdict := ":white_check_mark: can be applied"
	if pv.Failed {
		verdict = ":x: would fail or be blocked"
	}
	fmt.Fprintf(&b, "### trueup preview of %s: %s\n\n", mdCode(pv.Head.Short()), verdict)
	b.WriteString("| Target | Destination | Create | Update | Delete | Policy | Result |\n|---|---|---|---|---|---|---|\n")
	for _, tp := range pv.Targets {
		c := map[kube.Action]int{}
		if tp.Apply != nil {
			c = tp.Apply.Counts()
		}
		result := "ok"
		if tp.Error != "" {
			result = "error"
		} else if tp.failed() {
			result = "blocked"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %s | %s |\n", mdText(tp.Target), mdText(tp.Destination),
			c[kube.ActionCreated], c[kube.ActionConfigured], c[kube.ActionDeleted], policyCell(tp.Policy), result)
	}
	for _, tp := range pv.Targets {
		fmt.Fprintf(&b, "\n#### %s (%s)\n\n", mdText(tp.Target), mdText(tp.Destination))
		if tp.Error != "" {
			fmt.Fprintf(&b, "**Error:** %s\n", mdCode(tp.Error))
			continue
		}
		writeChanges(&b, tp)
		writePrune(&b, tp)
		writePolicy(&b, tp.Policy)
	}
	b.WriteString("\n<sub>A server-side dry run against the live destination; updated on every push. Secret values are masked.</sub>\n")
	return b.String()
}

func writeChanges(b *strings.Builder, tp TargetPreview) {
	if len(tp.Changes) == 0 {
		b.WriteString("No object would change.\n")
		return
	}
	b.WriteString("```diff\n")
	for _, o := range tp.Changes {
		switch o.Status {
		case drift.Missing:
			fmt.Fprintf(b, "+ %s (created)\n", fenceSafe(o.Ref.String()))
		case drift.Unknown:
			fmt.Fprintf(b, "? %s: unknown (%s)\n", fenceSafe(o.Ref.String()), fenceSafe(o.Error))
		default:
			fmt.Fprintf(b, "~ %s\n", fenceSafe(o.Ref.String()))
			for _, f := range o.Fields {
				fmt.Fprintf(b, "    %s: %s\n", fenceSafe(f.Path), fenceSafe(notifications.GitLive(fieldValue(f, f.Desired), fieldValue(f, f.Live))))
			}
		}
	}
	b.WriteString("```\n")
}

func writePrune(b *strings.Builder, tp TargetPreview) {
	var pruned []string
	if tp.Apply != nil {
		for _, e := range tp.Apply.Entries {
			if e.Action == kube.ActionDeleted {
				pruned = append(pruned, e.Ref.String())
			}
		}
	}
	slices.Sort(pruned)
	if len(pruned) > 0 {
		b.WriteString("\n**Prune** (deleted because they leave Git):\n")
		for _, p := range pruned {
			fmt.Fprintf(b, "- %s\n", mdCode(p))
		}
	}
	if tp.PruneBlocked != "" {
		fmt.Fprintf(b, "\n**Prune blocked:** %s\n", mdText(tp.PruneBlocked))
	}
}

func writePolicy(b *strings.Builder, findings []policy.Finding) {
	if len(findings) == 0 {
		return
	}
	b.WriteString("\n**Policy**\n")
	for _, f := range findings {
		what := string(f.Action)
		if f.Excepted != nil {
			what = "excepted"
		}
		fmt.Fprintf(b, "- %s %s: %s (%s, %s)\n", mdCode(f.Object.String()), mdText(f.Policy), mdText(f.Message), mdText(string(f.Severity)), mdText(what))
	}
}

func policyCell(findings []policy.Finding) string {
	if len(findings) == 0 {
		return "pass"
	}
	blocking := len(policy.Blocking(findings))
	return fmt.Sprintf("%d enforced, %d warn", blocking, len(findings)-blocking)
}

// fenceSafe keeps text from closing a code fence.
func fenceSafe(s string) string {
	return strings.NewReplacer("```", "'''", "\n", " ").Replace(s)
}

// previewSummary is the commit status description (GitHub keeps 140
// characters).
func previewSummary(pv *Preview) string {
	var parts []string
	for _, tp := range pv.Targets {
		parts = append(parts, tp.Target+": "+previewTargetSummary(tp))
	}
	s := strings.Join(parts, "; ")
	if len(s) > 140 {
		s = s[:137] + "..."
	}
	return s
}

func previewTargetSummary(tp TargetPreview) string {
	switch {
	case tp.Error != "":
		return "error"
	case len(policy.Blocking(tp.Policy)) > 0:
		return "blocked by policy"
	case tp.Apply == nil:
		return "no change"
	}
	c := tp.Apply.Counts()
	return fmt.Sprintf("%d to create, %d to update, %d to delete", c[kube.ActionCreated], c[kube.ActionConfigured], c[kube.ActionDeleted])
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}
