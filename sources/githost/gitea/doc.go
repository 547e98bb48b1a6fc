// Package gitea is the githost.Host of a Gitea server, on the Gitea Go SDK
// (code.gitea.io/sdk/gitea).
//
// New takes the server's root URL (http://127.0.0.1:3000, or with the
// sub-path Gitea is served under) and an API token; it does no network I/O.
// The token needs write access to the repository's pull requests, issues
// and commit statuses (scopes write:repository and write:issue) and read
// access to the user (read:user), whose comments UpsertComment edits.
//
// The SDK keeps one context per client, so every call builds a client of
// its own around the Host's shared *http.Client with the call's context:
// a Host is safe for concurrent use and each call ends with its context.
// The SDK's server version checks are turned off (they would cost a
// request per client); the package is tested against Gitea 1.26. The
// token's user is fetched on the first UpsertComment and kept.
//
// Gitea answers 404 for the pull requests of an empty repository (no
// branch yet): push the base branch first.
//
// Gitea has no filter by head branch, so EnsurePullRequest and
// ListOpenPullRequests page through the repository's open pull requests
// (oldest first) and match head and base themselves; a pull request whose
// head is in another repository (a fork) never matches. A 409 on create (a
// concurrent call opened the same pull request) is answered by finding
// and updating that one.
//
// Errors name the server, the operation and the repository, wrap
// githost.ErrNotFound (404), githost.ErrAuth (401, 403) or
// githost.ErrUnavailable (429, 5xx, network failures, a context deadline)
// and never contain the token, even when the server repeats it.
package gitea
