package hostapi

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/trueup-dev/trueup/sources/githost"
)

// namePattern is what Gitea and GitHub allow in owner and repository
// names; anything else could change the path of an API call.
var namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+$`) })

// shaPattern is an abbreviated or full SHA-1 or SHA-256 commit id.
var shaPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`) })

// Token returns token without surrounding whitespace (a token read from
// a file often ends in a newline), or why it cannot be sent in an
// Authorization header. The reason never contains the token.
func Token(token string) (string, string) {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return "", "an API token is required"
	case strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "", "the API token contains whitespace or control characters"
	}
	return token, ""
}

// CheckRepo returns why repo cannot be named in an API path, or "".
func CheckRepo(repo githost.Repo) string {
	for _, s := range []string{repo.Owner, repo.Name} {
		if !namePattern().MatchString(s) || s == "." || s == ".." {
			return fmt.Sprintf("invalid repository %q: owner and name must be non-empty letters, digits, '-', '_' or '.'", repo.String())
		}
	}
	return ""
}

// CheckNumber returns why number is not a pull request number, or "".
func CheckNumber(number int) string {
	if number <= 0 {
		return fmt.Sprintf("invalid pull request number %d", number)
	}
	return ""
}

// CheckSHA returns why sha is not a commit id, or "".
func CheckSHA(sha string) string {
	if !shaPattern().MatchString(sha) {
		return fmt.Sprintf("invalid commit sha %q", sha)
	}
	return ""
}

// CheckNewPullRequest returns why pr cannot be opened, or "".
func CheckNewPullRequest(pr githost.NewPullRequest) string {
	switch {
	case pr.Head == "" || pr.Base == "":
		return "head and base branches are required"
	case pr.Head == pr.Base:
		return fmt.Sprintf("head and base are the same branch %q", pr.Head)
	case strings.TrimSpace(pr.Title) == "":
		return "title is required"
	}
	return ""
}

// CheckComment returns why body cannot be the comment kept under marker,
// or "".
func CheckComment(marker, body string) string {
	switch {
	case marker == "":
		return "empty comment marker"
	case !strings.Contains(body, marker):
		return "comment body does not contain its marker"
	}
	return ""
}

// CheckStatus returns why st cannot be set, or "".
func CheckStatus(st githost.Status) string {
	switch st.State {
	case githost.StatusPending, githost.StatusSuccess, githost.StatusFailure, githost.StatusError:
	default:
		return fmt.Sprintf("invalid status state %q: want pending, success, failure or error", st.State)
	}
	if st.Context == "" {
		return "status context is required"
	}
	return ""
}

// First returns the first non-empty reason.
func First(reasons ...string) string {
	for _, r := range reasons {
		if r != "" {
			return r
		}
	}
	return ""
}
