package reconciler

import (
	"net/url"
	"strings"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// TriggerPush wakes every target whose source is the pushed repository and
// whose branch is the pushed ref (refs/heads/<branch>), and returns their
// names. repoURLs are the repository's addresses as the Git host names
// them (clone URL, SSH URL, web URL): any of them may be the one in the
// config. Targets of tags, semver ranges or commits are woken by any push
// to the repository, since a push may carry the tag they follow.
func (r *Reconciler) TriggerPush(repoURLs []string, ref string) []string {
	want := repoKeys(repoURLs)
	branch, isBranch := strings.CutPrefix(ref, "refs/heads/")
	var woke []string
	for _, t := range r.cfg.Targets {
		src, ok := r.cfg.Source(t.Source)
		if !ok || !want[repoKey(src.URL)] {
			continue
		}
		srcBranch := sourceBranch(src)
		if srcBranch != "" && (!isBranch || branch != srcBranch) {
			continue
		}
		if st := r.targetState(t.Name); st != nil && !t.Suspend {
			st.trigger(TriggerWebhook)
			woke = append(woke, t.Name)
		}
	}
	return woke
}

// sourceBranch is the branch a source follows ("main" when its ref sets
// nothing), or "" for a tag, semver range or commit.
func sourceBranch(src *config.Source) string {
	if src.Ref.Branch == "" && src.Ref.Tag == "" && src.Ref.SemVer == "" && src.Ref.Commit == "" {
		return config.DefaultBranch
	}
	return src.Ref.Branch
}

// repoKeys are the keys of a repository's addresses.
func repoKeys(urls []string) map[string]bool {
	want := map[string]bool{}
	for _, u := range urls {
		if k := repoKey(u); k != "" {
			want[k] = true
		}
	}
	return want
}

// repoKey reduces a repository address to host/path, without scheme,
// credentials, port-less differences of case, ".git" or a trailing slash:
// https://Git.example.com/org/app.git, git@git.example.com:org/app and
// ssh://git@git.example.com/org/app all give git.example.com/org/app.
func repoKey(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		if at := strings.Index(s, "@"); at >= 0 && strings.Contains(s[at:], ":") { // scp-like user@host:path
			host, path, _ := strings.Cut(s[at+1:], ":")
			return clean(host, path)
		}
		return clean("", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return clean(u.Hostname(), u.Path)
}

func clean(host, path string) string {
	path = strings.TrimSuffix(strings.TrimSuffix(strings.Trim(path, "/"), "/"), ".git")
	return strings.ToLower(host) + "/" + path
}
