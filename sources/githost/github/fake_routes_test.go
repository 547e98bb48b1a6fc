package github_test

// The fake's route handlers and the JSON of the documented response
// objects. They run under fakeGitHub.mu (see checked).

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func (f *fakeGitHub) getUser(w http.ResponseWriter, r *http.Request) {
	u := f.userJSON(botLogin, botID)
	u["name"], u["email"], u["public_repos"], u["followers"], u["following"] = "trueup bot", nil, 0, 0, 0
	u["created_at"], u["updated_at"] = "2024-01-02T03:04:05Z", "2026-01-02T03:04:05Z"
	writeJSON(w, http.StatusOK, u)
}

var headPattern = regexp.MustCompile(`^[A-Za-z0-9-]+:[^:]+$`)

func (f *fakeGitHub) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if !slices.Contains([]string{"open", "closed", "all"}, state) {
		f.t.Errorf("fake GitHub: state=%q", state)
	}
	if s := q.Get("sort"); s != "" && !slices.Contains([]string{"created", "updated", "popularity", "long-running"}, s) {
		f.t.Errorf("fake GitHub: sort=%q", s)
	}
	if d := q.Get("direction"); d != "" && d != "asc" && d != "desc" {
		f.t.Errorf("fake GitHub: direction=%q", d)
	}
	head := q.Get("head")
	if head != "" && !headPattern.MatchString(head) {
		f.t.Errorf("fake GitHub: head=%q, want user:ref-name", head)
	}
	var out []*fakePull
	for _, p := range f.pulls {
		if (state == "all" || p.state == state) && (q.Get("base") == "" || p.base == q.Get("base")) &&
			(head == "" || strings.EqualFold(head, strings.SplitN(p.headRepo, "/", 2)[0]+":"+p.head)) {
			out = append(out, p)
		}
	}
	// GitHub's default is created, desc.
	slices.SortFunc(out, func(a, b *fakePull) int { return a.number - b.number })
	if q.Get("direction") != "asc" {
		slices.Reverse(out)
	}
	out, ok := page(f, w, r, fmt.Sprintf("/repositories/%d/pulls", fakeRepoID), out)
	if !ok {
		return
	}
	list := []map[string]any{}
	for _, p := range out {
		list = append(list, f.pullJSON(p, false))
	}
	writeJSON(w, http.StatusOK, list)
}

func (f *fakeGitHub) createPull(w http.ResponseWriter, r *http.Request) {
	const doc = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
	var in struct {
		Title               *string `json:"title"`
		Head                *string `json:"head"`
		HeadRepo            *string `json:"head_repo"`
		Base                *string `json:"base"`
		Body                *string `json:"body"`
		MaintainerCanModify *bool   `json:"maintainer_can_modify"`
		Draft               *bool   `json:"draft"`
		Issue               *int64  `json:"issue"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.Head == nil || in.Base == nil || (in.Title == nil && in.Issue == nil) {
		f.t.Errorf("fake GitHub: create pull request without head, base or title")
		invalid(w, doc, map[string]string{"resource": "PullRequest", "code": "missing_field", "field": "head"})
		return
	}
	head := *in.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok && strings.EqualFold(owner, fakeOwner) {
		head = branch
	}
	headSHA, ok := f.branches[head]
	if !ok {
		invalid(w, doc, map[string]string{"resource": "PullRequest", "code": "invalid", "field": "head"})
		return
	}
	if _, ok := f.branches[*in.Base]; !ok {
		invalid(w, doc, map[string]string{"resource": "PullRequest", "code": "invalid", "field": "base"})
		return
	}
	for _, p := range f.pulls {
		if p.state == "open" && p.head == head && p.base == *in.Base && p.headRepo == fakeOwner+"/"+fakeRepo {
			invalid(w, doc, map[string]string{"resource": "PullRequest", "code": "custom", "message": fmt.Sprintf("A pull request already exists for %s:%s.", fakeOwner, head)})
			return
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	p := &fakePull{
		number: f.nextNumber, state: "open", title: deref(in.Title), body: deref(in.Body), head: head, headSHA: headSHA,
		base: *in.Base, headRepo: fakeOwner + "/" + fakeRepo, created: now, updated: now,
		maintainerCanModify: in.MaintainerCanModify != nil && *in.MaintainerCanModify, isDraft: in.Draft != nil && *in.Draft,
	}
	f.nextNumber++
	f.pulls[p.number] = p
	w.Header().Set("Location", f.api(fmt.Sprintf("/repos/%s/%s/pulls/%d", fakeOwner, fakeRepo, p.number)))
	writeJSON(w, http.StatusCreated, f.pullJSON(p, true))
}

// pullOf finds the pull request of the path, or answers 404.
func (f *fakeGitHub) pullOf(w http.ResponseWriter, r *http.Request, name string) *fakePull {
	n, err := strconv.Atoi(r.PathValue(name))
	if err != nil {
		f.t.Errorf("fake GitHub: %s %s: %s is not a number", r.Method, r.URL.Path, name)
	}
	p := f.pulls[n]
	if p == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/pulls/pulls#get-a-pull-request")
	}
	return p
}

func (f *fakeGitHub) getPull(w http.ResponseWriter, r *http.Request) {
	if p := f.pullOf(w, r, "pull_number"); p != nil {
		writeJSON(w, http.StatusOK, f.pullJSON(p, true))
	}
}

func (f *fakeGitHub) updatePull(w http.ResponseWriter, r *http.Request) {
	const doc = "https://docs.github.com/rest/pulls/pulls#update-a-pull-request"
	p := f.pullOf(w, r, "pull_number")
	if p == nil {
		return
	}
	var in struct {
		Title               *string `json:"title"`
		Body                *string `json:"body"`
		State               *string `json:"state"`
		Base                *string `json:"base"`
		MaintainerCanModify *bool   `json:"maintainer_can_modify"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		f.t.Errorf("fake GitHub: state %q", *in.State)
		invalid(w, doc, map[string]string{"resource": "PullRequest", "code": "invalid", "field": "state"})
		return
	}
	if in.State != nil && p.merged {
		invalid(w, doc, map[string]string{"resource": "PullRequest", "code": "custom", "message": "Cannot change the state of a merged pull request."})
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	if in.Base != nil {
		p.base = *in.Base
	}
	if in.State != nil && *in.State != p.state {
		p.state = *in.State
		p.closedAt = nil
		if p.state == "closed" {
			p.closedAt = &now
		}
	}
	p.updated = now
	writeJSON(w, http.StatusOK, f.pullJSON(p, true))
}

func (f *fakeGitHub) listComments(w http.ResponseWriter, r *http.Request) {
	p := f.pullOf(w, r, "issue_number")
	if p == nil {
		return
	}
	var out []*fakeComment
	for _, c := range f.comments {
		if c.issue == p.number {
			out = append(out, c)
		}
	}
	out, ok := page(f, w, r, fmt.Sprintf("/repositories/%d/issues/%d/comments", fakeRepoID, p.number), out)
	if !ok {
		return
	}
	list := []map[string]any{}
	for _, c := range out {
		list = append(list, f.commentJSON(c))
	}
	writeJSON(w, http.StatusOK, list)
}

func (f *fakeGitHub) createComment(w http.ResponseWriter, r *http.Request) {
	p := f.pullOf(w, r, "issue_number")
	if p == nil {
		return
	}
	var in struct {
		Body *string `json:"body"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.Body == nil || *in.Body == "" {
		f.t.Errorf("fake GitHub: comment without body")
		invalid(w, "https://docs.github.com/rest/issues/comments#create-an-issue-comment", map[string]string{"resource": "IssueComment", "code": "missing_field", "field": "body"})
		return
	}
	c := f.newComment(p.number, botLogin, botID, *in.Body)
	w.Header().Set("Location", f.api(fmt.Sprintf("/repos/%s/%s/issues/comments/%d", fakeOwner, fakeRepo, c.id)))
	writeJSON(w, http.StatusCreated, f.commentJSON(c))
}

func (f *fakeGitHub) newComment(issue int, user string, userID int64, body string) *fakeComment {
	now := time.Now().UTC().Truncate(time.Second)
	f.nextID++
	c := &fakeComment{id: f.nextID, issue: issue, user: user, userID: userID, body: body, created: now, updated: now}
	f.comments = append(f.comments, c)
	return c
}

func (f *fakeGitHub) updateComment(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("comment_id"), 10, 64)
	if err != nil {
		f.t.Errorf("fake GitHub: comment id %q", r.PathValue("comment_id"))
	}
	i := slices.IndexFunc(f.comments, func(c *fakeComment) bool { return c.id == id })
	if i < 0 {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/issues/comments#update-an-issue-comment")
		return
	}
	c := f.comments[i]
	if c.user != botLogin {
		f.t.Errorf("fake GitHub: the client edits comment %d of %s", id, c.user)
	}
	var in struct {
		Body *string `json:"body"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.Body == nil || *in.Body == "" {
		f.t.Errorf("fake GitHub: comment update without body")
		invalid(w, "https://docs.github.com/rest/issues/comments#update-an-issue-comment", map[string]string{"resource": "IssueComment", "code": "missing_field", "field": "body"})
		return
	}
	c.body, c.updated = *in.Body, time.Now().UTC().Truncate(time.Second)
	writeJSON(w, http.StatusOK, f.commentJSON(c))
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

func (f *fakeGitHub) createStatus(w http.ResponseWriter, r *http.Request) {
	const doc = "https://docs.github.com/rest/commits/statuses#create-a-commit-status"
	sha := r.PathValue("sha")
	if !fullSHA.MatchString(sha) {
		f.t.Errorf("fake GitHub: status on %q, want a full sha", sha)
	}
	var in struct {
		State       *string `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if !f.decode(w, r, &in) {
		return
	}
	if in.State == nil || !slices.Contains([]string{"error", "failure", "pending", "success"}, *in.State) {
		f.t.Errorf("fake GitHub: status state %v", in.State)
		invalid(w, doc, map[string]string{"resource": "Status", "code": "custom", "field": "state", "message": "state is not included in the list"})
		return
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 140 {
		invalid(w, doc, map[string]string{"resource": "Status", "code": "custom", "field": "description", "message": "description is too long (maximum is 140 characters)"})
		return
	}
	f.nextID++
	s := &fakeStatus{id: f.nextID, sha: sha, state: *in.State, context: "default", description: deref(in.Description), targetURL: deref(in.TargetURL), created: time.Now().UTC().Truncate(time.Second)}
	if in.Context != nil {
		s.context = *in.Context
	}
	f.statuses = append(f.statuses, s)
	w.Header().Set("Location", f.api(fmt.Sprintf("/repos/%s/%s/statuses/%s", fakeOwner, fakeRepo, sha)))
	writeJSON(w, http.StatusCreated, map[string]any{
		"url": f.api(fmt.Sprintf("/repos/%s/%s/statuses/%s", fakeOwner, fakeRepo, sha)), "avatar_url": "https://github.com/images/error/hubot_happy.gif",
		"id": s.id, "node_id": "MDY6U3RhdHVzMQ==", "state": s.state, "description": nullable(s.description), "target_url": nullable(s.targetURL),
		"context": s.context, "created_at": stamp(s.created), "updated_at": stamp(s.created), "creator": f.userJSON(botLogin, botID),
	})
}

// JSON of the documented response objects.

func (f *fakeGitHub) userJSON(login string, id int64) map[string]any {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{
		"login": login, "id": id, "node_id": "MDQ6VXNlcjE=", "avatar_url": "https://github.com/images/error/octocat_happy.gif",
		"gravatar_id": "", "url": f.api("/users/" + login), "html_url": "https://github.com/" + login, "type": typ, "site_admin": false,
	}
}

func (f *fakeGitHub) repoJSON() map[string]any {
	return map[string]any{
		"id": fakeRepoID, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": fakeRepo, "full_name": fakeOwner + "/" + fakeRepo,
		"owner": f.userJSON(fakeOwner, 9919), "private": true, "html_url": "https://github.com/" + fakeOwner + "/" + fakeRepo,
		"url": f.api("/repos/" + fakeOwner + "/" + fakeRepo), "default_branch": "main", "fork": false,
	}
}

func (f *fakeGitHub) pullJSON(p *fakePull, full bool) map[string]any {
	base := fmt.Sprintf("/repos/%s/%s", fakeOwner, fakeRepo)
	html := fmt.Sprintf("https://github.com/%s/%s/pull/%d", fakeOwner, fakeRepo, p.number)
	headRepo := f.repoJSON()
	if p.headRepo != fakeOwner+"/"+fakeRepo {
		owner, name, _ := strings.Cut(p.headRepo, "/")
		headRepo = map[string]any{"id": 7, "name": name, "full_name": p.headRepo, "owner": f.userJSON(owner, 8), "fork": true}
	}
	var mergeSHA any
	if p.mergeSHA != "" {
		mergeSHA = p.mergeSHA
	}
	out := map[string]any{
		"url": f.api(fmt.Sprintf("%s/pulls/%d", base, p.number)), "id": 1000 + p.number, "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
		"html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch",
		"issue_url": f.api(fmt.Sprintf("%s/issues/%d", base, p.number)), "number": p.number, "state": p.state, "locked": false,
		"title": p.title, "user": f.userJSON(botLogin, botID), "body": nullable(p.body), "labels": []any{}, "milestone": nil,
		"active_lock_reason": nil, "created_at": stamp(p.created), "updated_at": stamp(p.updated),
		"closed_at": stampPtr(p.closedAt), "merged_at": stampPtr(p.mergedAt), "merge_commit_sha": mergeSHA,
		"assignee": nil, "assignees": []any{}, "requested_reviewers": []any{}, "requested_teams": []any{},
		"head":               map[string]any{"label": strings.SplitN(p.headRepo, "/", 2)[0] + ":" + p.head, "ref": p.head, "sha": p.headSHA, "user": f.userJSON(fakeOwner, 9919), "repo": headRepo},
		"base":               map[string]any{"label": fakeOwner + ":" + p.base, "ref": p.base, "sha": f.branches[p.base], "user": f.userJSON(fakeOwner, 9919), "repo": f.repoJSON()},
		"author_association": "CONTRIBUTOR", "auto_merge": nil, "draft": p.isDraft,
		"comments_url":        f.api(fmt.Sprintf("%s/issues/%d/comments", base, p.number)),
		"statuses_url":        f.api(fmt.Sprintf("%s/statuses/%s", base, p.headSHA)),
		"commits_url":         f.api(fmt.Sprintf("%s/pulls/%d/commits", base, p.number)),
		"review_comments_url": f.api(fmt.Sprintf("%s/pulls/%d/comments", base, p.number)),
	}
	if full {
		var mergedBy any
		if p.merged {
			mergedBy = f.userJSON("octocat", 1)
		}
		out["merged"], out["mergeable"], out["rebaseable"], out["mergeable_state"], out["merged_by"] = p.merged, true, true, "clean", mergedBy
		out["comments"], out["review_comments"], out["maintainer_can_modify"] = 0, 0, p.maintainerCanModify
		out["commits"], out["additions"], out["deletions"], out["changed_files"] = 1, 1, 1, 1
	}
	return out
}

func (f *fakeGitHub) commentJSON(c *fakeComment) map[string]any {
	return map[string]any{
		"id": c.id, "node_id": "MDEyOklzc3VlQ29tbWVudDE=",
		"url":      f.api(fmt.Sprintf("/repos/%s/%s/issues/comments/%d", fakeOwner, fakeRepo, c.id)),
		"html_url": fmt.Sprintf("https://github.com/%s/%s/pull/%d#issuecomment-%d", fakeOwner, fakeRepo, c.issue, c.id),
		"body":     c.body, "user": f.userJSON(c.user, c.userID), "created_at": stamp(c.created), "updated_at": stamp(c.updated),
		"issue_url":          f.api(fmt.Sprintf("/repos/%s/%s/issues/%d", fakeOwner, fakeRepo, c.issue)),
		"author_association": "CONTRIBUTOR",
	}
}

func stamp(t time.Time) string { return t.Format(time.RFC3339) }

func stampPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return stamp(*t)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
