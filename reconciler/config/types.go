package config

// APIVersion and Kind identify a trueup.yaml document.
const (
	APIVersion = "trueup.dev/v1alpha1"
	Kind       = "Config"
)

// Config is the whole trueup.yaml.
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// DataDir holds the Git caches and the embedded history database.
	DataDir   string     `json:"dataDir,omitempty"`
	Sources   []Source   `json:"sources,omitempty"`
	Clusters  []Cluster  `json:"clusters,omitempty"`
	Accounts  []Account  `json:"accounts,omitempty"`
	Targets   []Target   `json:"targets,omitempty"`
	Notifiers []Notifier `json:"notifiers,omitempty"`
	Routes    []Route    `json:"routes,omitempty"`
	// Policies are the guardrails every target is checked against.
	Policies []PolicySource `json:"policies,omitempty"`
	Ignore   []IgnoreRule   `json:"ignore,omitempty"`
	// PullRequests configure the pull requests that adopt live drift.
	PullRequests PullRequests `json:"pullRequests,omitempty"`
	History      History      `json:"history,omitempty"`
	Server       Server       `json:"server,omitempty"`
	// Tenants are the teams sharing this trueup and their boundaries.
	Tenants []Tenant `json:"tenants,omitempty"`
	Tenancy Tenancy  `json:"tenancy,omitempty"`
	// HA shares the targets between several replicas (see HA).
	HA HA `json:"ha,omitempty"`
	// Freeze windows hold new revisions of the targets they select.
	Freeze []FreezeWindow `json:"freeze,omitempty"`
	// HealthChecks judge the health of objects of a kind with CEL,
	// instead of kstatus.
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
}

// SecretRef names where a secret comes from: exactly one of Env or File.
// The value itself never appears in the config file.
type SecretRef struct {
	// Env is the name of an environment variable holding the secret.
	Env string `json:"env,omitempty"`
	// File is the path of a file holding the secret (trailing newline trimmed).
	File string `json:"file,omitempty"`
}

// Source is a Git repository.
type Source struct {
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	Ref      GitRef   `json:"ref,omitempty"`
	Interval Duration `json:"interval,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
	Auth     *GitAuth `json:"auth,omitempty"`
	Verify   *Verify  `json:"verify,omitempty"`
	// Limits bound what a target of the source reads (unset: the defaults).
	Limits *SourceLimits `json:"limits,omitempty"`
	// Provider is the Git host's API, for pull requests (drift mode
	// pull-request) and pull-request previews.
	Provider *Provider `json:"provider,omitempty"`
	// Decryption holds the keys that decrypt SOPS-encrypted files of the
	// source, for targets whose tenant sets no decryption of its own.
	Decryption *Decryption `json:"decryption,omitempty"`
}

// SourceLimits bound the files one target of a source reads: the files its
// render uses (and what kustomize pulls in), not the whole repository.
// Unset fields keep the defaults (4Mi, 10000 files, 64Mi). Fetching refuses
// any object larger than MaxTotalSize, by its header, before inflating it.
type SourceLimits struct {
	// MaxFileSize is the largest file a target may read.
	MaxFileSize ByteSize `json:"maxFileSize,omitempty"`
	// MaxFiles is the most files a target may read.
	MaxFiles int `json:"maxFiles,omitempty"`
	// MaxTotalSize is the most bytes a target may read in all.
	MaxTotalSize ByteSize `json:"maxTotalSize,omitempty"`
}

// Provider is a Git host's pull-request API.
type Provider struct {
	// Type is "gitea" or "github".
	Type string `json:"type"`
	// URL is the host's address: Gitea's root URL (https://git.example.com),
	// or GitHub's API URL (default https://api.github.com/; for GitHub
	// Enterprise https://github.example.com/api/v3/).
	URL string `json:"url,omitempty"`
	// Repository is owner/name; default: the last two segments of the
	// source URL's path.
	Repository string     `json:"repository,omitempty"`
	TokenFrom  *SecretRef `json:"tokenFrom"`
	// Preview comments on every open pull request into the source's branch
	// with the changes it would make to each target of the source, and
	// sets a commit status (default on; see Preview for forks).
	Preview *Preview `json:"preview,omitempty"`
}

// GitRef selects the revision: exactly one field; branch "main" when empty.
type GitRef struct {
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	SemVer string `json:"semver,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// GitAuth holds references to Git credentials.
type GitAuth struct {
	Username              string     `json:"username,omitempty"`
	PasswordFrom          *SecretRef `json:"passwordFrom,omitempty"`
	BearerTokenFrom       *SecretRef `json:"bearerTokenFrom,omitempty"`
	SSHKeyFrom            *SecretRef `json:"sshKeyFrom,omitempty"`
	SSHPassphraseFrom     *SecretRef `json:"sshPassphraseFrom,omitempty"`
	KnownHostsFile        string     `json:"knownHostsFile,omitempty"`
	InsecureIgnoreHostKey bool       `json:"insecureIgnoreHostKey,omitempty"`
}

// Verify configures commit signature verification.
type Verify struct {
	// Mode is "off" (default) or "head".
	Mode string `json:"mode,omitempty"`
	// OpenPGPKeyFiles are armored public keys trusted to sign commits.
	OpenPGPKeyFiles []string `json:"openpgpKeyFiles,omitempty"`
	// SSHAllowedSigners are authorized_keys-format public keys trusted to sign.
	SSHAllowedSigners []string `json:"sshAllowedSigners,omitempty"`
}

// Cluster is a Kubernetes cluster: a kubeconfig, or the cluster trueup runs in.
type Cluster struct {
	Name       string      `json:"name"`
	Kubeconfig *Kubeconfig `json:"kubeconfig,omitempty"`
	InCluster  bool        `json:"inCluster,omitempty"`
	// InventoryNamespace holds the per-target inventories; default trueup-system.
	InventoryNamespace string `json:"inventoryNamespace,omitempty"`
	// RateLimit is a client-side limit on trueup's requests to the
	// cluster; none by default (the API server's priority and fairness
	// throttles, as controller-runtime's default).
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// RateLimit is a token bucket: QPS requests per second on average, Burst
// at once (default 2 x QPS, at least 1).
type RateLimit struct {
	QPS   float64 `json:"qps"`
	Burst int     `json:"burst,omitempty"`
}

// BurstOrDefault is Burst, or 2 x QPS (at least 1) when unset.
func (r RateLimit) BurstOrDefault() int {
	if r.Burst > 0 {
		return r.Burst
	}
	return max(1, int(2*r.QPS))
}

// Kubeconfig points at a kubeconfig file and optionally one of its contexts.
type Kubeconfig struct {
	Path    string `json:"path"`
	Context string `json:"context,omitempty"`
}

// Account is a cloud account (AWS).
type Account struct {
	Name       string      `json:"name"`
	Provider   string      `json:"provider"`
	AccountID  string      `json:"accountID"`
	Region     string      `json:"region"`
	Profile    string      `json:"profile,omitempty"`
	Endpoint   string      `json:"endpoint,omitempty"`
	AssumeRole *AssumeRole `json:"assumeRole,omitempty"`
	// Unmanaged, when set, reports resources that no target declares (like
	// driftctl).
	Unmanaged *Unmanaged `json:"unmanaged,omitempty"`
}

// Unmanaged narrows the unmanaged-resource report: resources of Kinds
// (every supported kind when empty, whether or not Git declares any),
// names starting with one of NamePrefixes (any when empty), carrying every
// tag in Tags with one of its values (any value when the list is empty).
type Unmanaged struct {
	Kinds        []string            `json:"kinds,omitempty"`
	NamePrefixes []string            `json:"namePrefixes,omitempty"`
	Tags         map[string][]string `json:"tags,omitempty"`
}

// AssumeRole is an IAM role trueup assumes in the account.
type AssumeRole struct {
	RoleARN        string     `json:"roleARN"`
	ExternalIDFrom *SecretRef `json:"externalIDFrom,omitempty"`
	SessionName    string     `json:"sessionName,omitempty"`
}

// Target is one path of one source reconciled into one cluster or account.
type Target struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Source string            `json:"source"`
	Path   string            `json:"path,omitempty"`
	// Cluster or Account: exactly one.
	Cluster   string   `json:"cluster,omitempty"`
	Account   string   `json:"account,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	Interval  Duration `json:"interval,omitempty"`
	Timeout   Duration `json:"timeout,omitempty"`
	Suspend   bool     `json:"suspend,omitempty"`
	// Wait waits for applied objects to become healthy (kstatus) within
	// Timeout; default true.
	Wait        *bool          `json:"wait,omitempty"`
	Force       bool           `json:"force,omitempty"`
	Prune       Prune          `json:"prune,omitempty"`
	Remediation Remediation    `json:"remediation,omitempty"`
	Ignore      []IgnoreRule   `json:"ignore,omitempty"`
	Notifiers   []string       `json:"notifiers,omitempty"`
	Policies    TargetPolicies `json:"policies,omitempty"`
	// Concurrency bounds parallel object operations within the target.
	Concurrency int `json:"concurrency,omitempty"`
	// Adopt lets the target take over live objects that no target labels
	// (default: only those annotated trueup.dev/adopt: <target>; true for
	// targets outside any tenant while tenancy is off).
	Adopt *bool `json:"adopt,omitempty"`
	// AssumeRole is the IAM role an account target acts as, instead of its
	// tenant's or account's.
	AssumeRole *AssumeRole `json:"assumeRole,omitempty"`
	// Render says how the target's files become objects; unset: plain
	// YAML/JSON or kustomize at Path.
	Render *Render `json:"render,omitempty"`
	// DependsOn names targets that must have applied their current
	// revision, healthy, before this target applies.
	DependsOn []string `json:"dependsOn,omitempty"`
}

// Prune says whether objects that left Git are deleted, and how many at most.
type Prune struct {
	Enabled    bool         `json:"enabled,omitempty"`
	AllowEmpty bool         `json:"allowEmpty,omitempty"`
	Max        IntOrPercent `json:"max,omitempty"`
}

// Remediation modes: what happens to new commits and to live drift.
type Remediation struct {
	// Apply is "auto" (default) or "manual".
	Apply string `json:"apply,omitempty"`
	// Drift is "heal" (default), "pull-request" or "alert".
	Drift string `json:"drift,omitempty"`
}

// IgnoreRule makes JSON-pointer paths of the selected objects neither drift nor reverted.
type IgnoreRule struct {
	Paths  []string       `json:"paths"`
	Select ObjectSelector `json:"select,omitempty"`
}

// ObjectSelector picks objects; empty fields match everything.
type ObjectSelector struct {
	Group     string            `json:"group,omitempty"`
	Kind      string            `json:"kind,omitempty"`
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Notifier is a destination for events.
type Notifier struct {
	Name    string           `json:"name"`
	Type    string           `json:"type"`
	Slack   *SlackNotifier   `json:"slack,omitempty"`
	Webhook *WebhookNotifier `json:"webhook,omitempty"`
}

// SlackNotifier posts with a bot token (threads) or an incoming webhook.
type SlackNotifier struct {
	Channel        string     `json:"channel,omitempty"`
	TokenFrom      *SecretRef `json:"tokenFrom,omitempty"`
	WebhookURLFrom *SecretRef `json:"webhookURLFrom,omitempty"`
	RepeatInterval Duration   `json:"repeatInterval,omitempty"`
	// APIURL replaces https://slack.com/api/ (a Slack-compatible gateway, tests).
	APIURL string `json:"apiURL,omitempty"`
}

// PolicySource is a folder of ValidatingAdmissionPolicy files (and
// PolicyExceptions): Path in a Git source, or a local Dir.
type PolicySource struct {
	Source string `json:"source,omitempty"`
	Path   string `json:"path,omitempty"`
	Dir    string `json:"dir,omitempty"`
}

// TargetPolicies says what an enforced policy violation does to a target.
type TargetPolicies struct {
	// OnViolation is "skip-object" (default: the violating objects are not
	// applied, the rest is) or "block-target" (nothing is applied).
	OnViolation string `json:"onViolation,omitempty"`
}

// Route sends the events that match every criterion it sets to its
// notifiers, in addition to the notifiers a target names itself.
type Route struct {
	// Events are event kinds (drift.opened, apply.failed, ...); empty: all.
	Events []string `json:"events,omitempty"`
	// Severity is the lowest severity routed: info, warning (default) or critical.
	Severity string `json:"severity,omitempty"`
	// Targets are target name globs (shop-*); empty: every target.
	Targets []string `json:"targets,omitempty"`
	// Labels must all be set on the target with these values.
	Labels    map[string]string `json:"labels,omitempty"`
	Notifiers []string          `json:"notifiers"`
}

// WebhookNotifier posts JSON signed with HMAC-SHA256.
type WebhookNotifier struct {
	URL        string     `json:"url"`
	SecretFrom *SecretRef `json:"secretFrom,omitempty"`
}

// PullRequests configure the commits and pull requests of drift mode
// pull-request.
type PullRequests struct {
	// AuthorName and AuthorEmail sign trueup's commits (default
	// "trueup" <trueup@localhost>).
	AuthorName  string `json:"authorName,omitempty"`
	AuthorEmail string `json:"authorEmail,omitempty"`
	// BranchPrefix starts every branch trueup pushes (default trueup/drift).
	BranchPrefix string `json:"branchPrefix,omitempty"`
}

// History selects the audit history backend.
type History struct {
	// Backend is "sqlite" (default, in dataDir) or "postgres".
	Backend   string     `json:"backend,omitempty"`
	DSNFrom   *SecretRef `json:"dsnFrom,omitempty"`
	Retention Duration   `json:"retention,omitempty"`
}

// Server configures the daemon's HTTP endpoint.
type Server struct {
	Listen    string `json:"listen,omitempty"`
	PublicURL string `json:"publicURL,omitempty"`
	// WebhookListen serves POST /hooks/git on its own address (then the
	// main listener does not), so pages and API can stay private.
	WebhookListen string `json:"webhookListen,omitempty"`
	// MetricsListen serves /metrics, unauthenticated, on its own address
	// (then the main listener does not).
	MetricsListen     string     `json:"metricsListen,omitempty"`
	WebhookSecretFrom *SecretRef `json:"webhookSecretFrom,omitempty"`
	// Auth says who may read pages and API, and act.
	Auth *ServerAuth `json:"auth,omitempty"`
}

// ServerAuth authenticates users of pages and API (bearer tokens checked
// by a cluster's TokenReview; OIDC login for browsers) and maps them to
// roles.
type ServerAuth struct {
	// Mode is "required" (default when auth is set) or "none" (anyone who
	// reaches the listener reads everything: only for loopback).
	Mode string `json:"mode,omitempty"`
	// TokenReview checks bearer tokens with this cluster's TokenReview API.
	TokenReview *TokenReview `json:"tokenReview,omitempty"`
	// OIDC logs browsers in with an OpenID Connect provider.
	OIDC *OIDC `json:"oidc,omitempty"`
	// Roles map users and groups to roles.
	Roles []RoleBinding `json:"roles,omitempty"`
	// SessionKeyFrom signs browser sessions (32+ bytes); default: a random
	// key per process (sessions end on restart).
	SessionKeyFrom *SecretRef `json:"sessionKeyFrom,omitempty"`
}

// TokenReview names the cluster whose API server authenticates tokens.
type TokenReview struct {
	Cluster string `json:"cluster"`
	// Audiences the token must be valid for; empty: the API server's.
	Audiences []string `json:"audiences,omitempty"`
}

// OIDC is an OpenID Connect provider for browser login.
type OIDC struct {
	IssuerURL        string     `json:"issuerURL"`
	ClientID         string     `json:"clientID"`
	ClientSecretFrom *SecretRef `json:"clientSecretFrom,omitempty"`
	// RedirectURL is where the provider sends the browser back; default
	// server.publicURL + /auth/callback.
	RedirectURL string `json:"redirectURL,omitempty"`
	// UsernameClaim (default email) and GroupsClaim (default groups).
	UsernameClaim string   `json:"usernameClaim,omitempty"`
	GroupsClaim   string   `json:"groupsClaim,omitempty"`
	Scopes        []string `json:"scopes,omitempty"`
}

// Roles.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAuditor  = "auditor"
	RoleAdmin    = "admin"
)

// RoleBinding grants Role to Users and Groups, over Tenants (viewer and
// operator; empty: every tenant is not allowed, name them or use "*").
type RoleBinding struct {
	Role    string   `json:"role"`
	Users   []string `json:"users,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Tenants []string `json:"tenants,omitempty"`
	// MaskValues masks every drifted value (not only Secrets) for these users.
	MaskValues bool `json:"maskValues,omitempty"`
}
