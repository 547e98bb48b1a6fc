// Package github is the githost.Host of GitHub and GitHub Enterprise
// Server, on go-github (github.com/google/go-github).
//
// New takes the REST API's root URL and a token. "" means GitHub.com
// (https://api.github.com/); a GitHub Enterprise Server's API is at
// https://HOST/api/v3/ and must be given that way: the URL is used as it
// is, nothing is appended. New does no network I/O. The token (a personal
// access token, or a GitHub App installation token) needs read and write
// access to pull requests, issues and commit statuses of the repository;
// it is sent as "Authorization: Bearer <token>".
//
// UpsertComment edits only comments of the token's user, which it reads
// from GET /user on first use and keeps. GitHub App installation tokens
// cannot read /user: give such a Host the app's bot login with
// WithCommentAuthor ("my-app[bot]").
//
// EnsurePullRequest looks the pull request up with the documented filters
// (state=open, head=OWNER:BRANCH, base=BRANCH), so only branches of the
// repository itself are matched, never a fork's. A 422 on create (a
// concurrent call opened the same pull request) is answered by finding
// and updating that one. Lists page through every page (100 per page,
// oldest first).
//
// A go-github client is safe for concurrent use, and so is a Host; every
// call runs under its own context. After GitHub answers with a primary
// rate limit, go-github refuses further calls until the limit resets
// without sending them; they fail with githost.ErrUnavailable like the
// answer itself.
//
// Errors name the host, the operation and the repository and wrap
// githost.ErrNotFound (404), githost.ErrAuth (401, and 403 other than a
// rate limit) or githost.ErrUnavailable (primary or secondary rate limit,
// 429, 5xx, network failures, a context deadline); they never contain the
// token, even when the server repeats it.
package github
