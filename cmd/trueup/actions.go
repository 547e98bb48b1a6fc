package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trueup-dev/trueup/reconciler"
	"github.com/trueup-dev/trueup/reconciler/auth"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// The operators' actions over HTTP (POST, behind the gate; the user needs
// the act verb on the target: role operator of its tenant, or admin):
//
//	POST /api/v1/targets/{name}/reconcile[?wait=true]
//	POST /api/v1/targets/{name}/suspend    {"reason": "..."}
//	POST /api/v1/targets/{name}/resume
//	POST /api/v1/targets/{name}/pullrequest
//	POST /api/v1/targets/{name}/override-freeze {"reason": "..."}
//	POST /api/v1/episodes/{id}/accept      {"for": "4h", "reason": "..."}
//
// Bodies are JSON or an HTML form (application/x-www-form-urlencoded). A
// form post answers 303 to its "next" field (a path on this daemon) or to
// the target's page; JSON posts get JSON. A request without a bearer token
// (a browser's session cookie, or no authentication at all) must come from
// a page of this daemon: its Origin (or Referer) must name the daemon's
// host, or the request is refused (CSRF).

// maxActionBody bounds an action's body.
const maxActionBody = 64 << 10

// maxActionWait bounds ?wait=true and the pull request action.
const maxActionWait = 10 * time.Minute

// actionRoutes are the action endpoints of the main listener.
func (d *daemon) actionRoutes() []route {
	return []route{
		{pattern: "POST /api/v1/targets/{name}/reconcile", handler: d.action(d.reconcileNow)},
		{pattern: "POST /api/v1/targets/{name}/suspend", handler: d.action(d.suspend)},
		{pattern: "POST /api/v1/targets/{name}/resume", handler: d.action(d.resume)},
		{pattern: "POST /api/v1/targets/{name}/pullrequest", handler: d.action(d.pullRequest)},
		{pattern: "POST /api/v1/targets/{name}/override-freeze", handler: d.action(d.overrideFreeze)},
		// An episode's id holds slashes: the route takes the rest of the
		// path, which must end in /accept.
		{pattern: "POST /api/v1/episodes/{rest...}", handler: d.action(d.accept)},
	}
}

// actionRequest is an action's parsed request.
type actionRequest struct {
	r      *http.Request
	form   bool
	actor  string
	reason string
	for_   string
	next   string
}

// actionFunc runs one action for target-scoped input and returns the JSON
// answer, or an error (see actionStatus).
type actionFunc func(ctx context.Context, w http.ResponseWriter, a *actionRequest) (target string, answer any, err error)

// action wraps an action with the checks every one shares: CSRF, body.
func (d *daemon) action(f actionFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := crossSite(r, d.gen().cfg.Server.PublicURL); msg != "" {
			http.Error(w, "forbidden: "+msg, http.StatusForbidden)
			return
		}
		a, err := parseAction(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		target, answer, err := f(r.Context(), w, a)
		if err != nil {
			if errors.Is(err, errAnswered) {
				return
			}
			actionError(w, err)
			return
		}
		if a.form {
			http.Redirect(w, r, a.redirect(target), http.StatusSeeOther)
			return
		}
		writeJSON(w, answer)
	})
}

// errAnswered: the action already wrote its answer (a 403).
var errAnswered = errors.New("answered")

// crossSite says why a request that no bearer token vouches for is
// refused as cross-site, "" when it is not: its Origin, else its Referer,
// must be this daemon (the request's Host, or server.publicURL's host
// behind a proxy that rewrites Host); a cookie without either is refused.
func crossSite(r *http.Request, publicURL string) string {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return ""
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "a cross-site request; post from the daemon's own pages, or send a bearer token"
	}
	for _, h := range []string{"Origin", "Referer"} {
		v := r.Header.Get(h)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) && !samePublicHost(u, publicURL) {
			return fmt.Sprintf("%s %q is not this daemon (%s); post from the daemon's own pages, or send a bearer token", h, v, r.Host)
		}
		return ""
	}
	if r.Header.Get("Cookie") != "" {
		return "a request with a session cookie but no Origin or Referer; post from the daemon's own pages, or send a bearer token"
	}
	return ""
}

func samePublicHost(u *url.URL, publicURL string) bool {
	p, err := url.Parse(publicURL)
	return publicURL != "" && err == nil && p.Host != "" && strings.EqualFold(u.Host, p.Host) && strings.EqualFold(u.Scheme, p.Scheme)
}

// parseAction reads the body (JSON or form) of an action.
func parseAction(w http.ResponseWriter, r *http.Request) (*actionRequest, error) {
	a := &actionRequest{r: r, actor: auth.FromContext(r.Context()).User.Name}
	if a.actor == "" {
		a.actor = "anonymous"
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxActionBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("form: %w", err)
		}
		a.form = true
		a.reason, a.for_, a.next = r.PostForm.Get("reason"), r.PostForm.Get("for"), r.PostForm.Get("next")
	default:
		var body struct {
			For    string `json:"for"`
			Reason string `json:"reason"`
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		if len(strings.TrimSpace(string(raw))) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				return nil, fmt.Errorf(`body: %v: send JSON such as {"for": "4h", "reason": "..."} or a form`, err)
			}
		}
		a.for_, a.reason = body.For, body.Reason
	}
	if len(a.reason) > 1000 {
		return nil, errors.New("reason: longer than 1000 characters")
	}
	return a, nil
}

// redirect is where a form post goes next: its next field when that is a
// path on this daemon, else the target's page.
func (a *actionRequest) redirect(target string) string {
	if n := a.next; strings.HasPrefix(n, "/") && !strings.HasPrefix(n, "//") && !strings.ContainsAny(n, "\\\r\n") {
		return n
	}
	if target == "" {
		return "/"
	}
	return "/targets/" + url.PathEscape(target)
}

// actionError answers a failed action: 404 unknown, 409 conflict or
// another replica's target, 504 a wait that ran out.
func actionError(w http.ResponseWriter, err error) {
	var no *reconciler.NotOwnerError
	var bad badRequest
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &bad):
		code = http.StatusBadRequest
	case errors.As(err, &no):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error(), "owner": no.Owner})
		return
	case errors.Is(err, reconciler.ErrUnknown):
		code = http.StatusNotFound
	case errors.Is(err, reconciler.ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusGatewayTimeout
	}
	http.Error(w, err.Error(), code)
}

// badRequest is an action's input that cannot be used (400).
type badRequest string

func (b badRequest) Error() string { return string(b) }

// actOn checks that the user may act on target (403 naming the role to
// add, answered, otherwise).
func (d *daemon) actOn(w http.ResponseWriter, a *actionRequest, target string) error {
	if _, ok := d.allow(w, a.r, auth.Act, target); !ok {
		return errAnswered
	}
	return nil
}

// reconcileAnswer is the answer of a reconcile or pull request action.
type reconcileAnswer struct {
	Target   string `json:"target"`
	Queued   bool   `json:"queued,omitempty"`
	Action   string `json:"action,omitempty"`
	Revision string `json:"revision,omitempty"`
	Error    string `json:"error,omitempty"`
	Duration string `json:"duration,omitempty"`
	// PullRequests are the target's open episodes' pull requests.
	PullRequests []episodePR `json:"pullRequests,omitempty"`
}

type episodePR struct {
	Episode string `json:"episode"`
	Object  string `json:"object"`
	URL     string `json:"url"`
}

func answerOf(o *reconciler.Outcome) reconcileAnswer {
	return reconcileAnswer{Target: o.Target, Action: string(o.Action), Revision: o.Revision.Commit, Error: o.Error(),
		Duration: o.Duration.Round(time.Millisecond).String()}
}

func (d *daemon) reconcileNow(ctx context.Context, w http.ResponseWriter, a *actionRequest) (string, any, error) {
	target := a.r.PathValue("name")
	if err := d.actOn(w, a, target); err != nil {
		return target, nil, err
	}
	wait := false
	if v := a.r.URL.Query().Get("wait"); v != "" {
		var err error
		if wait, err = strconv.ParseBool(v); err != nil {
			return target, nil, badRequest(fmt.Sprintf("wait %q: use true or false", v))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, maxActionWait)
	defer cancel()
	out, err := d.gen().r.RequestReconcile(ctx, target, a.actor, wait && !a.form)
	if err != nil {
		return target, nil, err
	}
	if out == nil {
		return target, reconcileAnswer{Target: target, Queued: true}, nil
	}
	return target, answerOf(out), nil
}

func (d *daemon) pullRequest(ctx context.Context, w http.ResponseWriter, a *actionRequest) (string, any, error) {
	target := a.r.PathValue("name")
	if err := d.actOn(w, a, target); err != nil {
		return target, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, maxActionWait)
	defer cancel()
	out, err := d.gen().r.RequestPullRequest(ctx, target, a.actor)
	if err != nil {
		return target, nil, err
	}
	ans := answerOf(out)
	eps, err := d.st.Episodes(nil, state.EpisodeFilter{Target: target, Open: true})
	if err != nil {
		return target, nil, err
	}
	for _, e := range eps {
		if e.PullRequest != "" {
			ans.PullRequests = append(ans.PullRequests, episodePR{Episode: e.ID, Object: e.Object, URL: e.PullRequest})
		}
	}
	return target, ans, nil
}

// suspendAnswer is the answer of suspend and resume.
type suspendAnswer struct {
	Target    string                 `json:"target"`
	Suspended *reconciler.Suspension `json:"suspended"`
}

func (d *daemon) suspend(ctx context.Context, w http.ResponseWriter, a *actionRequest) (string, any, error) {
	target := a.r.PathValue("name")
	if err := d.actOn(w, a, target); err != nil {
		return target, nil, err
	}
	s, err := d.gen().r.Suspend(ctx, target, reconciler.ActionBy{Actor: a.actor, Reason: a.reason})
	return target, suspendAnswer{Target: target, Suspended: s}, err
}

func (d *daemon) resume(ctx context.Context, w http.ResponseWriter, a *actionRequest) (string, any, error) {
	target := a.r.PathValue("name")
	if err := d.actOn(w, a, target); err != nil {
		return target, nil, err
	}
	err := d.gen().r.Resume(ctx, target, reconciler.ActionBy{Actor: a.actor, Reason: a.reason})
	return target, suspendAnswer{Target: target}, err
}

// overrideAnswer is the answer of override-freeze.
type overrideAnswer struct {
	Target     string `json:"target"`
	Overridden bool   `json:"overridden"`
}

func (d *daemon) overrideFreeze(ctx context.Context, w http.ResponseWriter, a *actionRequest) (string, any, error) {
	target := a.r.PathValue("name")
	if err := d.actOn(w, a, target); err != nil {
		return target, nil, err
	}
	if strings.TrimSpace(a.reason) == "" {
		return target, nil, badRequest("target " + target + ": override freeze: give a reason; it goes into the history")
	}
	err := d.gen().r.OverrideFreezeBy(ctx, target, reconciler.ActionBy{Actor: a.actor, Reason: a.reason})
	return target, overrideAnswer{Target: target, Overridden: err == nil}, err
}

// acceptAnswer is the answer of accept.
type acceptAnswer struct {
	Episode apiEpisode `json:"episode"`
	Until   time.Time  `json:"until"`
}

func (d *daemon) accept(ctx context.Context, w http.ResponseWriter, a *actionRequest) (string, any, error) {
	id, ok := strings.CutSuffix(a.r.PathValue("rest"), "/accept")
	target, _, _ := strings.Cut(id, "/")
	if !ok || id == "" {
		http.Error(w, "no such action: POST /api/v1/episodes/{id}/accept", http.StatusNotFound)
		return "", nil, errAnswered
	}
	if err := d.actOn(w, a, target); err != nil {
		return target, nil, err
	}
	if a.for_ == "" {
		return target, nil, badRequest("episode " + id + ": say for how long to accept the drift (for: 4h)")
	}
	dur, err := time.ParseDuration(a.for_)
	if err != nil || dur <= 0 {
		return target, nil, badRequest(fmt.Sprintf("episode %s: for %q: use a duration such as 30m, 4h or 72h", id, a.for_))
	}
	ep, until, err := d.gen().r.AcceptEpisode(ctx, id, dur, reconciler.ActionBy{Actor: a.actor, Reason: a.reason})
	if err != nil {
		return target, nil, err
	}
	if a.next == "" {
		a.next = "/episodes/" + url.PathEscape(id)
	}
	return target, acceptAnswer{Episode: toAPIEpisode(*ep, d.visible(a.r).of(target).Masked), Until: until}, nil
}
