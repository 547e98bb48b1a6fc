package config

import (
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/notifications"
)

// Bounds for durations, so a typo like "5s" for a source poll or "500h" for
// a reconcile interval is caught before it reaches a cluster.
const (
	MinInterval  = 10 * time.Second
	MaxInterval  = 24 * time.Hour
	MinTimeout   = time.Second
	MaxTimeout   = time.Hour
	MinRepeat    = time.Minute
	MaxRepeat    = 7 * 24 * time.Hour
	MinRetention = 24 * time.Hour
)

// Bounds for sources[].limits. The largest total also bounds the largest
// object a fetch accepts, which keeps a fetch's memory under 300 MB.
const (
	MaxLimitFileSize  = 64 << 20
	MaxLimitTotalSize = 128 << 20
	MaxLimitFiles     = 100000
)

var (
	nameRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`) })
	envNameRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	commitRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{40}$`) })
	accountIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })
	scpLikeRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]`) })
)

// Validate checks the semantic rules of a decoded config and returns every
// problem at once as Errors, or nil.
func Validate(c *Config) error {
	e := &errs{}
	if c.APIVersion != APIVersion {
		e.add("apiVersion", "want %q, got %q", APIVersion, c.APIVersion)
	}
	if c.Kind != Kind {
		e.add("kind", "want %q, got %q", Kind, c.Kind)
	}
	idx := c.names(e)
	for i := range c.Sources {
		validateSource(e, index("sources", i), &c.Sources[i])
	}
	for i := range c.Clusters {
		validateCluster(e, index("clusters", i), &c.Clusters[i])
	}
	for i := range c.Accounts {
		validateAccount(e, index("accounts", i), &c.Accounts[i])
	}
	for i := range c.Targets {
		validateTarget(e, index("targets", i), &c.Targets[i], idx)
	}
	for i := range c.Notifiers {
		validateNotifier(e, index("notifiers", i), &c.Notifiers[i])
	}
	for i := range c.Policies {
		validatePolicySource(e, index("policies", i), &c.Policies[i], idx)
	}
	for i := range c.Routes {
		validateRoute(e, index("routes", i), &c.Routes[i], idx)
	}
	validateIgnore(e, "ignore", c.Ignore)
	validatePullRequests(e, "pullRequests", c)
	validateHistory(e, "history", &c.History)
	validateServer(e, "server", &c.Server)
	validateHA(e, "ha", c, idx)
	validateTenancy(e, c, idx)
	validateAssumeRoles(e, c)
	validateServerAuth(e, c)
	validateDecryption(e, c)
	validateGuards(e, c)
	return e.result()
}

// nameIndex lists the names declared in each section.
type nameIndex struct{ sources, clusters, accounts, notifiers []string }

func (c *Config) names(e *errs) nameIndex {
	var idx nameIndex
	idx.sources = uniqueNames(e, "sources", len(c.Sources), func(i int) string { return c.Sources[i].Name })
	idx.clusters = uniqueNames(e, "clusters", len(c.Clusters), func(i int) string { return c.Clusters[i].Name })
	idx.accounts = uniqueNames(e, "accounts", len(c.Accounts), func(i int) string { return c.Accounts[i].Name })
	idx.notifiers = uniqueNames(e, "notifiers", len(c.Notifiers), func(i int) string { return c.Notifiers[i].Name })
	uniqueNames(e, "targets", len(c.Targets), func(i int) string { return c.Targets[i].Name })
	return idx
}

func uniqueNames(e *errs, section string, n int, name func(int) string) []string {
	seen := map[string]int{}
	var out []string
	for i := range n {
		p := field(index(section, i), "name")
		v := name(i)
		switch {
		case v == "":
			e.add(p, "required")
			continue
		case !nameRE().MatchString(v) || len(v) > 63:
			e.add(p, "%q is not a valid name: use lowercase letters, digits and '-', at most 63 characters", v)
		}
		if j, dup := seen[v]; dup {
			e.add(p, "duplicate name %q (also %s[%d])", v, section, j)
			continue
		}
		seen[v] = i
		out = append(out, v)
	}
	return out
}

func validateSource(e *errs, p string, s *Source) {
	validateGitURL(e, field(p, "url"), s.URL)
	validateRef(e, field(p, "ref"), s.Ref)
	durationIn(e, field(p, "interval"), s.Interval, MinInterval, MaxInterval)
	durationIn(e, field(p, "timeout"), s.Timeout, MinTimeout, MaxTimeout)
	if s.Auth != nil {
		validateGitAuth(e, field(p, "auth"), s.Auth, s.URL)
	} else if isSSH(s.URL) {
		e.add(field(p, "auth"), "an ssh URL needs auth.sshKeyFrom and auth.knownHostsFile")
	}
	if s.Verify != nil {
		validateVerify(e, field(p, "verify"), s.Verify)
	}
	if s.Provider != nil {
		validateProvider(e, field(p, "provider"), s.Provider, s.URL)
	}
	if s.Limits != nil {
		validateLimits(e, field(p, "limits"), s.Limits)
	}
}

func validateLimits(e *errs, p string, l *SourceLimits) {
	inRange := func(f string, v, hi int64, unit string) {
		if v < 0 || v > hi {
			e.add(field(p, f), "%d%s is outside the allowed range 1 to %d%s (leave it unset for the default)", v, unit, hi, unit)
		}
	}
	inRange("maxFileSize", l.MaxFileSize.Bytes, MaxLimitFileSize, " bytes")
	inRange("maxTotalSize", l.MaxTotalSize.Bytes, MaxLimitTotalSize, " bytes")
	inRange("maxFiles", int64(l.MaxFiles), MaxLimitFiles, "")
	if l.MaxFileSize.Bytes > 0 && l.MaxTotalSize.Bytes > 0 && l.MaxFileSize.Bytes > l.MaxTotalSize.Bytes {
		e.add(field(p, "maxFileSize"), "%d bytes is more than maxTotalSize (%d bytes)", l.MaxFileSize.Bytes, l.MaxTotalSize.Bytes)
	}
}

func validateProvider(e *errs, p string, pr *Provider, sourceURL string) {
	oneOf(e, field(p, "type"), pr.Type, "gitea", "github")
	if pr.Type == "gitea" && pr.URL == "" {
		e.add(field(p, "url"), "required for gitea: the server's root URL, like https://git.example.com")
	}
	if pr.URL != "" {
		validateHTTPURL(e, field(p, "url"), pr.URL)
	}
	if pr.TokenFrom == nil {
		e.add(field(p, "tokenFrom"), "required: an API token with write access to the repository's pull requests, from env or file")
	}
	secretRef(e, field(p, "tokenFrom"), pr.TokenFrom)
	if _, _, err := ProviderRepository(pr, sourceURL); err != nil {
		e.add(field(p, "repository"), "%s", err.Error())
	}
}

func validatePullRequests(e *errs, p string, c *Config) {
	pr := c.PullRequests
	if pr.AuthorEmail != "" && !strings.Contains(pr.AuthorEmail, "@") {
		e.add(field(p, "authorEmail"), "%q is not an email address", pr.AuthorEmail)
	}
	if pr.BranchPrefix != "" && (strings.HasPrefix(pr.BranchPrefix, "/") || strings.HasSuffix(pr.BranchPrefix, "/") ||
		strings.ContainsAny(pr.BranchPrefix, " ~^:?*[\\") || strings.Contains(pr.BranchPrefix, "..")) {
		e.add(field(p, "branchPrefix"), "%q is not a valid branch name prefix: use something like trueup/drift", pr.BranchPrefix)
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		if t.Remediation.Drift != "pull-request" {
			continue
		}
		tp := field(field(index("targets", i), "remediation"), "drift")
		s, ok := c.Source(t.Source)
		switch {
		case !ok:
		case s.Provider == nil:
			e.add(tp, "pull-request needs sources[%s].provider: the Git host API that opens the pull requests", s.Name)
		case s.Ref.Branch == "" && (s.Ref.Tag != "" || s.Ref.SemVer != "" || s.Ref.Commit != ""):
			e.add(tp, "pull-request needs source %q to follow a branch: a pull request goes into a branch", s.Name)
		case t.Account != "":
			e.add(tp, "pull-request is for cluster targets; account targets use heal or alert")
		}
	}
}

func validateGitURL(e *errs, p, raw string) {
	if raw == "" {
		e.add(p, "required: a file path, file://, https://, http:// or ssh:// URL")
		return
	}
	if scpLikeRE().MatchString(raw) || strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, ".") {
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		e.add(p, "invalid URL: %v", redactURLError(err))
		return
	}
	switch u.Scheme {
	case "file", "http", "https", "ssh":
	default:
		e.add(p, "unsupported scheme %q: use file, http, https or ssh", u.Scheme)
		return
	}
	if _, hasPass := u.User.Password(); hasPass {
		e.add(p, "credentials in the URL are not allowed: move them to auth.passwordFrom")
	}
}

// redactURLError drops the URL from a url.Error so userinfo never prints.
func redactURLError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return "malformed URL"
}

func isSSH(raw string) bool { return strings.HasPrefix(raw, "ssh://") || scpLikeRE().MatchString(raw) }

func validateRef(e *errs, p string, r GitRef) {
	set := countSet(r.Branch, r.Tag, r.SemVer, r.Commit)
	if set > 1 {
		e.add(p, "set only one of branch, tag, semver, commit")
	}
	if r.SemVer != "" {
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			e.add(field(p, "semver"), "invalid semver range %q: %v", r.SemVer, err)
		}
	}
	if r.Commit != "" && !commitRE().MatchString(r.Commit) {
		e.add(field(p, "commit"), "want a full 40-character lowercase hex SHA, got %q", truncate(r.Commit, 50))
	}
	if strings.Contains(r.Branch, "..") || strings.HasPrefix(r.Branch, "-") {
		e.add(field(p, "branch"), "invalid branch name %q", r.Branch)
	}
}

func validateGitAuth(e *errs, p string, a *GitAuth, rawURL string) {
	secretRef(e, field(p, "passwordFrom"), a.PasswordFrom)
	secretRef(e, field(p, "bearerTokenFrom"), a.BearerTokenFrom)
	secretRef(e, field(p, "sshKeyFrom"), a.SSHKeyFrom)
	secretRef(e, field(p, "sshPassphraseFrom"), a.SSHPassphraseFrom)
	if a.PasswordFrom != nil && a.BearerTokenFrom != nil {
		e.add(p, "set only one of passwordFrom and bearerTokenFrom")
	}
	if isSSH(rawURL) {
		if a.SSHKeyFrom == nil {
			e.add(field(p, "sshKeyFrom"), "required for an ssh URL")
		}
		if a.KnownHostsFile == "" && !a.InsecureIgnoreHostKey {
			e.add(field(p, "knownHostsFile"), "required for an ssh URL (or set insecureIgnoreHostKey: true, which trusts any server)")
		}
	} else if a.SSHKeyFrom != nil {
		e.add(field(p, "sshKeyFrom"), "only used with an ssh URL")
	}
}

func validateVerify(e *errs, p string, v *Verify) {
	switch v.Mode {
	case "", "off":
	case "head":
		if len(v.OpenPGPKeyFiles) == 0 && len(v.SSHAllowedSigners) == 0 {
			e.add(p, "mode head needs openpgpKeyFiles or sshAllowedSigners to verify against")
		}
	default:
		e.add(field(p, "mode"), "unknown mode %q: use off or head%s", v.Mode, suggest(v.Mode, []string{"off", "head"}))
	}
	for i, k := range v.SSHAllowedSigners {
		if !strings.HasPrefix(k, "ssh-") && !strings.HasPrefix(k, "ecdsa-") && !strings.HasPrefix(k, "sk-") {
			e.add(index(field(p, "sshAllowedSigners"), i), "want a public key line like \"ssh-ed25519 AAAA...\"")
		}
	}
}

func validateCluster(e *errs, p string, c *Cluster) {
	switch {
	case c.Kubeconfig != nil && c.InCluster:
		e.add(p, "set only one of kubeconfig and inCluster")
	case c.Kubeconfig == nil && !c.InCluster:
		e.add(p, "set kubeconfig: {path: ...} or inCluster: true")
	case c.Kubeconfig != nil && c.Kubeconfig.Path == "":
		e.add(field(field(p, "kubeconfig"), "path"), "required")
	}
	if ns := c.InventoryNamespace; ns != "" && !nameRE().MatchString(ns) {
		e.add(field(p, "inventoryNamespace"), "%q is not a valid namespace name", ns)
	}
	if r := c.RateLimit; r != nil {
		rp := field(p, "rateLimit")
		if r.QPS <= 0 || r.QPS > 10000 {
			e.add(field(rp, "qps"), "want requests per second between 0 and 10000 (like 50), got %v; leave rateLimit out for no client-side limit", r.QPS)
		}
		if r.Burst < 0 || r.Burst > 100000 {
			e.add(field(rp, "burst"), "want 1 to 100000 (default 2 x qps), got %d", r.Burst)
		}
	}
}

func validateAccount(e *errs, p string, a *Account) {
	if a.Provider != "aws" {
		e.add(field(p, "provider"), "unknown provider %q: use aws%s", a.Provider, suggest(a.Provider, []string{"aws"}))
	}
	if !accountIDRE().MatchString(a.AccountID) {
		e.add(field(p, "accountID"), "want the 12-digit account id, got %q", a.AccountID)
	}
	if a.Region == "" {
		e.add(field(p, "region"), "required, like eu-west-1")
	}
	if a.Endpoint != "" {
		validateHTTPURL(e, field(p, "endpoint"), a.Endpoint)
	}
	if a.Unmanaged != nil {
		for i, k := range a.Unmanaged.Kinds {
			oneOf(e, index(field(field(p, "unmanaged"), "kinds"), i), k, driftaws.Kinds()...)
		}
	}
}

func validateTarget(e *errs, p string, t *Target, idx nameIndex) {
	switch t.Policies.OnViolation {
	case "", "skip-object", "block-target":
	default:
		e.add(field(field(p, "policies"), "onViolation"), "unknown value %q: use one of skip-object, block-target%s", t.Policies.OnViolation, suggest(t.Policies.OnViolation, []string{"skip-object", "block-target"}))
	}
	reference(e, field(p, "source"), "source", t.Source, idx.sources)
	switch {
	case t.Cluster != "" && t.Account != "":
		e.add(p, "set only one of cluster and account")
	case t.Cluster == "" && t.Account == "":
		e.add(p, "set cluster or account: where this target is reconciled")
	case t.Cluster != "":
		reference(e, field(p, "cluster"), "cluster", t.Cluster, idx.clusters)
	default:
		reference(e, field(p, "account"), "account", t.Account, idx.accounts)
	}
	validatePath(e, field(p, "path"), t.Path)
	if ns := t.Namespace; ns != "" && (!nameRE().MatchString(ns) || len(ns) > 63) {
		e.add(field(p, "namespace"), "%q is not a valid namespace name", ns)
	}
	durationIn(e, field(p, "interval"), t.Interval, MinInterval, MaxInterval)
	durationIn(e, field(p, "timeout"), t.Timeout, MinTimeout, MaxTimeout)
	if t.Prune.Max.Value < 0 || (t.Prune.Max.Percent && t.Prune.Max.Value > 100) {
		e.add(field(field(p, "prune"), "max"), "want a count >= 0 or a percentage 0-100%%, got %s", t.Prune.Max)
	}
	oneOf(e, field(field(p, "remediation"), "apply"), t.Remediation.Apply, "auto", "manual")
	oneOf(e, field(field(p, "remediation"), "drift"), t.Remediation.Drift, "heal", "pull-request", "alert")
	validateIgnore(e, field(p, "ignore"), t.Ignore)
	for i, n := range t.Notifiers {
		reference(e, index(field(p, "notifiers"), i), "notifier", n, idx.notifiers)
	}
	if t.Concurrency < 0 || t.Concurrency > 64 {
		e.add(field(p, "concurrency"), "want 1-64, got %d", t.Concurrency)
	}
	validateRender(e, p, t, idx)
}

func validatePath(e *errs, p, v string) {
	if v == "" {
		return
	}
	clean := path.Clean(v)
	if path.IsAbs(v) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(v, "\\") {
		e.add(p, "%q must be a path inside the repository, like apps/api/overlays/prod", v)
	}
}

func validateIgnore(e *errs, p string, rules []IgnoreRule) {
	for i, r := range rules {
		rp := index(p, i)
		if len(r.Paths) == 0 {
			e.add(field(rp, "paths"), "required: JSON pointers like /spec/replicas")
		}
		for j, ptr := range r.Paths {
			if !strings.HasPrefix(ptr, "/") || strings.Contains(ptr, "//") {
				e.add(index(field(rp, "paths"), j), "%q is not a JSON pointer: write it like /spec/replicas", ptr)
			}
		}
	}
}

func validateNotifier(e *errs, p string, n *Notifier) {
	switch n.Type {
	case "slack":
		if n.Slack == nil {
			e.add(field(p, "slack"), "required for type slack")
			return
		}
		validateSlack(e, field(p, "slack"), n.Slack)
	case "webhook":
		if n.Webhook == nil {
			e.add(field(p, "webhook"), "required for type webhook")
			return
		}
		validateHTTPURL(e, field(field(p, "webhook"), "url"), n.Webhook.URL)
		secretRef(e, field(field(p, "webhook"), "secretFrom"), n.Webhook.SecretFrom)
	case "log":
	default:
		e.add(field(p, "type"), "unknown type %q: use slack, webhook or log%s", n.Type, suggest(n.Type, []string{"slack", "webhook", "log"}))
	}
	if n.Type != "slack" && n.Slack != nil {
		e.add(field(p, "slack"), "only used with type slack")
	}
	if n.Type != "webhook" && n.Webhook != nil {
		e.add(field(p, "webhook"), "only used with type webhook")
	}
}

func validatePolicySource(e *errs, p string, ps *PolicySource, idx nameIndex) {
	switch {
	case ps.Dir != "" && (ps.Source != "" || ps.Path != ""):
		e.add(p, "set either source (with path) or dir, not both")
	case ps.Dir != "":
	case ps.Source == "":
		e.add(p, "set source and path (policies in Git) or dir (a local folder)")
	default:
		reference(e, field(p, "source"), "source", ps.Source, idx.sources)
		validatePath(e, field(p, "path"), ps.Path)
	}
}

func validateRoute(e *errs, p string, r *Route, idx nameIndex) {
	kinds := make([]string, 0, len(notifications.Kinds()))
	for _, k := range notifications.Kinds() {
		if k != notifications.KindTest { // sent by 'trueup notify test' only
			kinds = append(kinds, string(k))
		}
	}
	for i, ev := range r.Events {
		if !slices.Contains(kinds, ev) {
			e.add(index(field(p, "events"), i), "unknown event %q: use one of %s%s", ev, strings.Join(kinds, ", "), suggest(ev, kinds))
		}
	}
	if _, err := notifications.ParseSeverity(r.Severity); r.Severity != "" && err != nil {
		e.add(field(p, "severity"), "unknown severity %q: use info, warning or critical%s", r.Severity, suggest(r.Severity, []string{"info", "warning", "critical"}))
	}
	for i, g := range r.Targets {
		if _, err := path.Match(g, ""); err != nil {
			e.add(index(field(p, "targets"), i), "%q is not a valid glob: %v", g, err)
		}
	}
	if len(r.Notifiers) == 0 {
		e.add(field(p, "notifiers"), "required: name at least one notifier")
	}
	for i, n := range r.Notifiers {
		reference(e, index(field(p, "notifiers"), i), "notifier", n, idx.notifiers)
	}
}

func validateSlack(e *errs, p string, s *SlackNotifier) {
	secretRef(e, field(p, "tokenFrom"), s.TokenFrom)
	secretRef(e, field(p, "webhookURLFrom"), s.WebhookURLFrom)
	switch {
	case s.TokenFrom != nil && s.WebhookURLFrom != nil:
		e.add(p, "set only one of tokenFrom (bot token, threads) and webhookURLFrom (incoming webhook)")
	case s.TokenFrom == nil && s.WebhookURLFrom == nil:
		e.add(p, "set tokenFrom (bot token, threads) or webhookURLFrom (incoming webhook)")
	case s.TokenFrom != nil && s.Channel == "":
		e.add(field(p, "channel"), "required with tokenFrom, like \"#platform-alerts\" or a channel id")
	}
	durationIn(e, field(p, "repeatInterval"), s.RepeatInterval, MinRepeat, MaxRepeat)
	if s.APIURL != "" {
		validateHTTPURL(e, field(p, "apiURL"), s.APIURL)
		if s.TokenFrom == nil {
			e.add(field(p, "apiURL"), "only used with tokenFrom (bot token mode)")
		}
	}
}

func validateHistory(e *errs, p string, h *History) {
	switch h.Backend {
	case "", "sqlite":
		if h.DSNFrom != nil {
			e.add(field(p, "dsnFrom"), "only used with backend postgres")
		}
	case "postgres":
		if h.DSNFrom == nil {
			e.add(field(p, "dsnFrom"), "required for backend postgres: {env: NAME} or {file: PATH}")
		}
		secretRef(e, field(p, "dsnFrom"), h.DSNFrom)
	default:
		e.add(field(p, "backend"), "unknown backend %q: use sqlite or postgres%s", h.Backend, suggest(h.Backend, []string{"sqlite", "postgres"}))
	}
	if h.Retention.Duration != 0 && h.Retention.Duration < MinRetention {
		e.add(field(p, "retention"), "%s is shorter than the minimum %s", FormatDuration(h.Retention.Duration), FormatDuration(MinRetention))
	}
}

func validateServer(e *errs, p string, s *Server) {
	if s.Listen != "" {
		if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
			e.add(field(p, "listen"), "want host:port like \":8080\" or \"127.0.0.1:8080\", got %q", s.Listen)
		}
	}
	if s.PublicURL != "" {
		validateHTTPURL(e, field(p, "publicURL"), s.PublicURL)
	}
	secretRef(e, field(p, "webhookSecretFrom"), s.WebhookSecretFrom)
}

func validateHTTPURL(e *errs, p, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.add(p, "want an absolute http(s) URL")
		return
	}
	if _, hasPass := u.User.Password(); hasPass {
		e.add(p, "credentials in the URL are not allowed: use a secret reference")
	}
}

func secretRef(e *errs, p string, r *SecretRef) {
	if r == nil {
		return
	}
	switch {
	case r.Env != "" && r.File != "":
		e.add(p, "set only one of env and file")
	case r.Env == "" && r.File == "":
		e.add(p, "set env: NAME or file: PATH")
	case r.Env != "" && !envNameRE().MatchString(r.Env):
		e.add(field(p, "env"), "%q is not a valid environment variable name", truncate(r.Env, 40))
	}
}

func reference(e *errs, p, what, got string, known []string) {
	if got == "" {
		e.add(p, "required")
		return
	}
	for _, k := range known {
		if k == got {
			return
		}
	}
	e.add(p, "unknown %s %q%s", what, got, suggest(got, known))
}

func durationIn(e *errs, p string, d Duration, lo, hi time.Duration) {
	if d.Duration == 0 {
		return
	}
	if d.Duration < lo || d.Duration > hi {
		e.add(p, "%s is outside the allowed range %s to %s", FormatDuration(d.Duration), FormatDuration(lo), FormatDuration(hi))
	}
}

func oneOf(e *errs, p, got string, allowed ...string) {
	if got == "" {
		return
	}
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	e.add(p, "unknown value %q: use one of %s%s", got, strings.Join(allowed, ", "), suggest(got, allowed))
}

func countSet(vals ...string) int {
	n := 0
	for _, v := range vals {
		if v != "" {
			n++
		}
	}
	return n
}

// FormatDuration prints a duration without zero units: 1m, 48h, 1h30m.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
